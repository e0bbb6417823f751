"""Conversations' evaluated prefixes for the embedded model, so turn N does not re-read the history.

llama.cpp keeps one sequence in its KV cache, and `Llama.generate` already reuses whatever prefix of it
matches the new prompt. That serves one person chatting alone. With several sessions taking turns, each
would evict the others' history, so before a different conversation takes the context the live sequence is
saved here, and a conversation coming back gets its own restored. Only the KV of sequence 0 is copied
(`llama_state_seq_*`), not `Llama.save_state`'s logits buffer, which is 100 MB for this model whatever the length.
"""
from __future__ import annotations

import ctypes
import os
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

DEFAULT_CAPACITY_MB = 1024
MIN_TOKENS_WORTH_SAVING = 32  # re-reading a few dozen tokens costs less than copying their state


def capacity_bytes() -> int:
    raw = os.environ.get("CHAT_LOCAL_CACHE_MB", "").strip()
    if not raw:
        return DEFAULT_CAPACITY_MB << 20
    if not raw.isdigit():
        raise ValueError(f"CHAT_LOCAL_CACHE_MB={raw!r} must be a whole number of megabytes (0 turns the cache off)")
    return int(raw) << 20


def common_prefix(a: np.ndarray, b: np.ndarray) -> int:
    n = min(len(a), len(b))
    if n == 0:
        return 0
    differ = np.flatnonzero(a[:n] != b[:n])
    return int(differ[0]) if len(differ) else n


@dataclass
class Snapshot:
    tokens: np.ndarray
    data: bytes


class PrefixCache:
    """Least-recently-used snapshots of evaluated sequences, bounded in bytes. Call with the model's line held."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._items: OrderedDict[bytes, Snapshot] = OrderedDict()
        self.size = 0  # bytes held
        self._live_saved = True  # the live sequence is already held here (or is not worth holding)
        self.hits = self.saves = 0

    def __len__(self) -> int:
        return len(self._items)

    def prepare(self, llm, tokens: list[int]) -> int:
        """Make the context hold the longest known prefix of tokens; returns how many tokens it holds."""
        wanted = np.asarray(tokens, dtype=np.intc)
        live_tokens = llm.input_ids[: llm.n_tokens]
        live = common_prefix(live_tokens, wanted)
        best, best_len = None, live
        for key, snap in self._items.items():
            n = common_prefix(snap.tokens, wanted)
            if n > best_len:
                best, best_len = key, n
        unshared = llm.n_tokens - live
        if (best is not None or unshared >= MIN_TOKENS_WORTH_SAVING) and not self._live_saved and \
                llm.n_tokens >= MIN_TOKENS_WORTH_SAVING:
            self._save(llm)  # another conversation is about to take the context: keep this one's work
        if best is None:
            return live
        snap = self._items[best]
        self._items.move_to_end(best)
        self._restore(llm, snap)
        self.hits += 1
        return best_len

    def generated(self) -> None:
        """The live sequence changed (a reply was generated) and is not saved yet."""
        self._live_saved = False

    def _save(self, llm) -> None:
        ctx = llm._ctx.ctx
        from llama_cpp import llama_cpp

        size = llama_cpp.llama_state_seq_get_size(ctx, 0)
        if size > self.capacity:
            return
        buf = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(ctx, buf, size, 0)
        tokens = llm.input_ids[: llm.n_tokens].copy()
        key = tokens.tobytes()
        old = self._items.pop(key, None)
        snap = self._items[key] = Snapshot(tokens, bytes(memoryview(buf)[:written]))
        self.size += len(snap.data) - (len(old.data) if old else 0)
        self._live_saved = True
        self.saves += 1
        while self.size > self.capacity and self._items:
            self.size -= len(self._items.popitem(last=False)[1].data)

    def _restore(self, llm, snap: Snapshot) -> None:
        from llama_cpp import llama_cpp

        llm._ctx.kv_cache_seq_rm(-1, -1, -1)
        src = (ctypes.c_uint8 * len(snap.data)).from_buffer_copy(snap.data)
        if not llama_cpp.llama_state_seq_set_data(llm._ctx.ctx, src, len(snap.data), 0):
            llm.reset()  # could not load: evaluate from scratch, which is slower but still right
            return
        n = len(snap.tokens)
        llm.input_ids[:n] = snap.tokens
        llm.n_tokens = n
        llm._requires_eval = True  # generate() re-decodes the last prompt token for fresh logits
        self._live_saved = True
