"""Token usage: a small dataclass that adds up, in one normalised meaning."""
from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Usage:
    """Tokens of one or more exchanges.

    input_tokens counts ALL input (cache reads and cache writes included);
    output_tokens includes reasoning_tokens. Providers disagree on this, so
    adapters normalise before building a Usage.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_1h_tokens: int = 0  # of cache_write_tokens, those kept for an hour (billed at their own rate)

    @classmethod
    def of_row(cls, record) -> Usage:
        """The usage a logged exchange records, every token field by name (NULL counts as 0)."""
        return cls(**{f.name: getattr(record, f.name, None) or 0 for f in fields(cls)})

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def __radd__(self, other):
        # lets sum() start from 0
        if other == 0:
            return self
        return NotImplemented

    @property
    def uncached_input_tokens(self) -> int:
        return max(0, self.input_tokens - self.cached_tokens - self.cache_write_tokens)
