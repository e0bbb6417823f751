"""The request parameters, declared once with their bounds and meaning, in the spirit of llm's per-model Options.

The engine, the Runs tab, run creation and the command line all check values through these declarations,
so a bound or a message changes in one place. `python -m chat models --options MODEL` lists them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from chat.wording import N_, Said, Worded

MAX_OUTPUT_TOKENS = 1_000_000
MAX_REPEATS = 100
MAX_CONCURRENCY = 64


class BadOption(Worded):
    """A parameter is out of range; the message names the field and what is allowed (an edge words it again in
    the reader's language)."""

    def __init__(self, label: str, allowed: Said | str, value: str):
        super().__init__(N_("{label} must be {allowed}, got {value}"), label=Said(label), allowed=allowed, value=value)


@dataclass(frozen=True)
class Option:
    name: str  # as in ChatRequest and the command line (with - for _)
    label: str  # as people read it
    whole: bool  # a whole number, or any number
    low: float
    high: float
    description: str

    @property
    def allowed(self) -> Said:
        if self.whole:
            return Said("a whole number from {low} to {high}", low=f"{self.low:,.0f}", high=f"{self.high:,.0f}")
        return Said("a number from {low} to {high}", low=f"{self.low:g}", high=f"{self.high:g}")

    def check(self, value) -> int | float | None:
        """value as a number in range (None stays None), else BadOption naming the field and the range."""
        if value is None:
            return None
        if isinstance(value, bool):
            raise BadOption(self.label, self.allowed, repr(value))
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise BadOption(self.label, self.allowed, repr(str(value)[:40])) from None
        if not math.isfinite(number) or not self.low <= number <= self.high or \
                (self.whole and number != int(number)):
            raise BadOption(self.label, self.allowed, repr(value if self.whole else number))
        return int(number) if self.whole else number


@dataclass(frozen=True)
class Choice:
    """A parameter that takes one of a few words."""

    name: str
    label: str
    choices: tuple[str, ...]
    default: str
    description: str
    high: None = None  # not a bound: the options listing reads `high` of every parameter
    # what YAML's false and true mean (YAML reads a bare off, no, on or yes as a boolean)
    booleans: tuple[str, str] | None = None

    @property
    def allowed(self) -> Said:
        return Said("{choices} (default {default})", choices=" or ".join(self.choices), default=self.default)

    def check(self, value) -> str:
        """value as one of the choices (None is the default), else BadOption naming the field and the choices."""
        if value is None:
            return self.default
        if isinstance(value, bool) and self.booleans:
            return self.booleans[value]
        word = str(value).strip().lower() if isinstance(value, str) else None
        if word not in self.choices:
            raise BadOption(self.label, " or ".join(self.choices), repr(str(value)[:40]))
        return word


TEMPERATURE = Option("temperature", "temperature", False, 0, 2,
                     "sampling randomness: 0 is greedy; not sent to models that take none (OpenAI's reasoning models)")
MAX_TOKENS = Option("max_tokens", "max tokens", True, 1, MAX_OUTPUT_TOKENS,
                    "the longest reply, in output tokens (reasoning included); a spend cap sets it when you do not")
REPEATS = Option("repeats", "repeats", True, 1, MAX_REPEATS, "times each question is asked per model in a run")
CONCURRENCY = Option("concurrency", "concurrency", True, 1, MAX_CONCURRENCY, "answers of a run in flight at once")
CACHE = Choice("cache", "cache", ("auto", "off"), "auto",
               "auto marks the system prompt (the FAQ) and a conversation's earlier turns for the vendor's prompt "
               "cache where the request must ask (Anthropic, Bedrock) and the prefix is long enough; OpenAI and Gemini "
               "cache on their own. off marks nothing", booleans=("off", "auto"))
REQUEST = (TEMPERATURE, MAX_TOKENS, CACHE)  # what one exchange takes, besides the system prompt
RUN = (REPEATS, CONCURRENCY, MAX_TOKENS, TEMPERATURE)  # the numbers a study file may set for its run
