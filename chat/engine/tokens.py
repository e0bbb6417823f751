"""Token estimates for when a provider reports no usage: tiktoken, else a marked heuristic."""
from __future__ import annotations

import functools
import logging
import math
import threading

log = logging.getLogger(__name__)

# Models on the o200k_base vocabulary; everything else is estimated with cl100k_base.
_O200K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o", "gpt-oss")

_encodings: dict = {}
_lock = threading.Lock()

# Per-message framing tokens OpenAI documents for chat formats (role, separators).
MESSAGE_OVERHEAD = 4
REPLY_PRIMER = 3


_preloading = False


def preload() -> None:
    """Load both encodings now (about half a second each), for the estimates that need them."""
    for name in ("o200k_base", "cl100k_base"):
        _encoding(name)


def preload_soon() -> None:
    """Load them on a thread of their own, once per process. The app does it when its first page opens: a run's
    estimate or a reply with no usage reported needs them, the app's start does not (nor does a question that
    fits its window by its bytes alone, `most_tokens`)."""
    global _preloading
    with _lock:
        if _preloading:
            return
        _preloading = True
    threading.Thread(target=preload, name="tiktoken-preload", daemon=True).start()


def most_tokens(messages: list[dict]) -> int:
    """At least what count_messages says, without a tokenizer: every BPE token holds at least one byte, and the
    heuristic counts at most one token a byte. A prompt whose bytes fit its window is not counted at all."""
    # a lone surrogate (JSON can carry one) is three bytes here, as the replacement character tiktoken reads it as
    return REPLY_PRIMER + sum(len(str(m.get("content") or "").encode("utf-8", "surrogatepass")) + MESSAGE_OVERHEAD
                              for m in messages)


def encoding_name_for(model: str) -> str:
    bare = model.split(":", 1)[-1].split("/")[-1].lower()
    return "o200k_base" if bare.startswith(_O200K_PREFIXES) else "cl100k_base"


def _encoding(name: str):
    """The tiktoken encoding, or None when it cannot be loaded (e.g. offline with no cache)."""
    with _lock:
        if name not in _encodings:
            try:
                import tiktoken

                _encodings[name] = tiktoken.get_encoding(name)
            except Exception as exc:  # tiktoken raises network and file errors alike
                log.warning("tiktoken encoding %s unavailable (%s); using the character heuristic", name, type(exc).__name__)
                _encodings[name] = None
        return _encodings[name]


def heuristic_count(text: str) -> int:
    """Documented fallback: ~4 ASCII characters per token, one token per non-ASCII character.

    BPE vocabularies pack English into ~4 characters a token but CJK and other
    scripts into about one a character, so counting them apart keeps Korean or
    Japanese estimates from being 4x low.
    """
    if not text:
        return 0
    non_ascii = sum(1 for ch in text if ord(ch) > 127)
    ascii_chars = len(text) - non_ascii
    return non_ascii + math.ceil(ascii_chars / 4)


def count_text(text: str, model: str) -> tuple[int, str]:
    """Tokens in text for model, and the method used ('tiktoken:<enc>' or 'heuristic')."""
    name = encoding_name_for(model)
    enc = _encoding(name)
    if enc is None:
        return heuristic_count(text), "heuristic"
    if len(text) <= MEMO_MAX_CHARS:
        return _memo_count(name, text), f"tiktoken:{name}"
    return len(enc.encode(text, disallowed_special=())), f"tiktoken:{name}"


# A conversation's earlier turns are counted again on every new question; remembering recent counts keeps the
# 20th question as cheap as the first. Bounded: at most 4,096 texts of at most 64K characters.
MEMO_MAX_CHARS = 65_536


@functools.lru_cache(maxsize=4096)
def _memo_count(name: str, text: str) -> int:
    return len(_encoding(name).encode(text, disallowed_special=()))


def count_messages(messages: list[dict], model: str) -> tuple[int, str]:
    """Prompt tokens for a chat message list, with OpenAI's per-message framing."""
    total = REPLY_PRIMER
    method = "heuristic"
    for message in messages:
        n, method = count_text(str(message.get("content") or ""), model)
        total += n + MESSAGE_OVERHEAD
    if not messages:
        method = count_text("", model)[1]
    return total, method
