"""Substring search for scripts written without spaces inside words (Korean, Chinese, Japanese): overlapping
character pairs, indexed in exchanges_grams beside the word index, so 장려금 finds 훈련장려금 and 환불 finds 전액환불.

A word index (exchanges_fts) matches word prefixes only, and SQLite's trigram tokenizer needs three characters;
pairs find any run of two or more. English and other spaced scripts stay with the word index.
"""
from __future__ import annotations

import re

HANGUL = ((0xAC00, 0xD7A3), (0x1100, 0x11FF), (0x3130, 0x318F))  # Hangul syllables and jamo
_DENSE = (*HANGUL,
          (0x3040, 0x30FF), (0x31F0, 0x31FF),  # kana
          (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))  # CJK ideographs
# the same ranges as one character class: the writer finds every finished row's runs, and a scan in C is about
# half of what a row costs to log on PostgreSQL otherwise
_RUNS = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _DENSE) + "]+")


def dense(ch: str) -> bool:
    o = ord(ch)
    return any(lo <= o <= hi for lo, hi in _DENSE)


def runs(text: str) -> list[str]:
    """The maximal runs of such characters in text."""
    return _RUNS.findall(text or "")


def pairs(run: str) -> list[str]:
    return [run] if len(run) < 2 else [run[i:i + 2] for i in range(len(run) - 1)]


def grams(*texts: str | None) -> str:
    """What exchanges_grams indexes for these texts: every run's overlapping pairs, space-separated."""
    return " ".join(p for text in texts for run in runs(text or "") for p in pairs(run))


def phrase(run: str) -> str:
    """The FTS5 query that finds run anywhere inside a word: its pairs, adjacent and in order."""
    return '"' + " ".join(pairs(run)) + '"'
