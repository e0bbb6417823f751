"""A GGUF file checked before llama.cpp sees it: a regular, complete file whose header and tensor table add up.

llama.cpp's own loader is native code that has had memory-safety bugs on forged files, and it blocks forever
on a FIFO. This walk reads only the header, the metadata and the tensor table, with every count and length
bounded by the bytes the file really has, so a bad file costs one line, a few milliseconds and no memory.
"""
from __future__ import annotations

import os
import stat
import struct
import threading
from pathlib import Path

MAGIC = b"GGUF"
VERSIONS = (2, 3)  # version 1 (32-bit counts) was dropped by llama.cpp in 2023
MAX_KEY_BYTES = 65_535  # the GGUF spec's bound on a key
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_STRING_ITEMS = 8_000_000  # all string-array items together; real vocabularies and merges hold under 1M
DEFAULT_ALIGNMENT = 32
# fixed-size metadata value types: GGUF type id -> bytes
_SCALARS = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_STRING, _ARRAY = 8, 9
# ggml tensor types: id -> (elements per block, bytes per block); a type missing here is left to llama.cpp
_BLOCKS = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34), 9: (32, 36),
    10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 15: (256, 292),
    16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18), 21: (256, 110), 22: (256, 82),
    23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8), 29: (256, 56), 30: (1, 2),
    34: (256, 54), 35: (256, 66), 39: (32, 17),
}

_checked: dict[tuple, str | None] = {}  # (device, inode, size, mtime) -> None when good, else the reason
_checked_lock = threading.Lock()


class BadGGUF(ValueError):
    """The file is not a GGUF model llama.cpp can load; the message is what is wrong, as a predicate ("is a folder")."""


class _Truncated(Exception):
    pass


class _Reader:
    """Sequential reads that never pass the size the file had when it was checked (a file can shrink under us)."""

    def __init__(self, fh, size: int):
        self.fh, self.size, self.pos = fh, size, 0

    def take(self, n: int) -> None:
        if n < 0 or self.pos + n > self.size:
            raise _Truncated
        self.pos += n
        self.fh.seek(n, 1)

    def read(self, n: int) -> bytes:
        if self.pos + n > self.size:
            raise _Truncated
        data = self.fh.read(n)
        if len(data) != n:
            raise _Truncated
        self.pos += n
        return data

    def unpack(self, fmt: str):
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def string(self, limit: int) -> bytes:
        n = self.unpack("<Q")
        if n > limit:
            raise BadGGUF(f"has a corrupt metadata key of {n:,} bytes (at most {limit:,})")
        return self.read(n)

    def skip_string(self) -> None:
        self.take(self.unpack("<Q"))


def check(path: Path) -> None:
    """Raise BadGGUF naming what is wrong with the file at path; remembered per file version, so cheap to repeat."""
    try:
        before = os.stat(path)  # follows links: a link named .gguf to /dev/zero is judged by what it points at
    except OSError as exc:
        raise BadGGUF(f"cannot be read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(before.st_mode):
        raise BadGGUF("is a folder, not a GGUF file")
    if not stat.S_ISREG(before.st_mode):
        raise BadGGUF("is not a regular file (a device, a pipe or a socket), so it cannot be a GGUF model")
    key = (before.st_dev, before.st_ino, before.st_size, before.st_mtime_ns)
    with _checked_lock:
        if key in _checked:
            reason = _checked[key]
            if reason:
                raise BadGGUF(reason)
            return
    reason = None
    try:
        _walk(path, before.st_size)
    except BadGGUF as exc:
        reason = str(exc)
    try:
        after = os.stat(path)
    except OSError:
        after = None
    if after is None or (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        # judged on a moving target: say so rather than remember a verdict about a half-written file
        raise BadGGUF("changed while it was read (still being written or copied?): wait until it is complete")
    with _checked_lock:
        _checked[key] = reason
    if reason:
        raise BadGGUF(reason)


def _walk(path: Path, size: int) -> None:
    if size < 24:
        raise BadGGUF(f"is {size} bytes: too short for a GGUF header (it may still be being written)")
    try:
        # O_NONBLOCK: had the path become a FIFO since the stat, opening it must not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb", buffering=1 << 16) as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise BadGGUF("is not a regular file, so it cannot be a GGUF model")
            _walk_data(_Reader(fh, size), size)
    except _Truncated:
        raise BadGGUF(f"is truncated: its header describes more than the file's {size:,} bytes "
                      "(an interrupted download or copy?)") from None
    except OSError as exc:
        raise BadGGUF(f"cannot be read: {exc.strerror or exc}") from None


def _walk_data(r: _Reader, size: int) -> None:
    magic = r.read(4)
    if magic != MAGIC:
        raise BadGGUF(f"is not a GGUF model file (it starts with {magic!r}, not b'GGUF')")
    version = r.unpack("<I")
    if version not in VERSIONS:
        raise BadGGUF(f"is GGUF version {version}; llama.cpp reads versions 2 and 3")
    tensors, kvs = r.unpack("<Q"), r.unpack("<Q")
    # the smallest key/value takes 13 bytes and the smallest tensor entry 32: larger counts are forged
    if kvs * 13 + tensors * 32 > size - r.pos:
        raise BadGGUF(f"is truncated, or its header is forged: it claims {tensors:,} tensors and {kvs:,} metadata "
                      f"entries, more than its {size:,} bytes can hold")
    alignment = DEFAULT_ALIGNMENT
    budget = [MAX_STRING_ITEMS]
    for _ in range(kvs):
        key = r.string(MAX_KEY_BYTES)
        kind = r.unpack("<I")
        if key == b"general.alignment" and kind == 4:
            alignment = r.unpack("<I")
            if alignment == 0 or alignment & (alignment - 1):
                raise BadGGUF(f"has a corrupt alignment of {alignment} (it must be a power of two)")
            continue
        _skip_value(r, kind, budget, depth=0)
    extent = 0
    for _ in range(tensors):
        r.skip_string()
        dims = r.unpack("<I")
        if not 1 <= dims <= MAX_DIMS:
            raise BadGGUF(f"has a corrupt tensor table (a tensor with {dims} dimensions)")
        elements = 1
        for _ in range(dims):
            elements *= r.unpack("<Q")
        kind, offset = r.unpack("<I"), r.unpack("<Q")
        block = _BLOCKS.get(kind)
        length = -(-elements // block[0]) * block[1] if block else 0
        extent = max(extent, offset + length)
    data_start = -(-r.pos // alignment) * alignment
    if data_start + extent > size:
        raise BadGGUF(f"is truncated: its tensors need {data_start + extent:,} bytes, the file has {size:,} "
                      "(an interrupted download or copy?)")


def _skip_value(r: _Reader, kind: int, budget: list[int], depth: int) -> None:
    if kind in _SCALARS:
        r.take(_SCALARS[kind])
    elif kind == _STRING:
        r.skip_string()
    elif kind == _ARRAY and depth < 2:
        item, count = r.unpack("<I"), r.unpack("<Q")
        if item in _SCALARS:
            r.take(count * _SCALARS[item])
            return
        if count * 8 > r.size - r.pos:
            raise _Truncated
        budget[0] -= count
        if budget[0] < 0:
            raise BadGGUF(f"has more than {MAX_STRING_ITEMS:,} metadata strings: not a model llama.cpp can load")
        if item == _STRING:
            for _ in range(count):
                r.skip_string()
            return
        for _ in range(count):
            _skip_value(r, item, budget, depth + 1)
    else:
        raise BadGGUF(f"has a corrupt metadata entry (value type {kind})")
