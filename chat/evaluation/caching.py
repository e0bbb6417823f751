"""What a month costs with the FAQ cached, the way each vendor bills it.

A FAQ bot sends the same system prompt with every question. A vendor keeps a cached prefix for its TTL after
each use (five minutes at Anthropic, Bedrock and OpenAI), so whether a question finds it warm depends on how
often questions come. Questions arriving at random (Poisson) at N a day over the team's working hours find the
cache warm when the previous one came less than a TTL before: a share of 1 - exp(-rate x TTL). Each miss writes
the prefix (Anthropic: 1.25x the input price; OpenAI: no premium), each hit reads it (0.1x, or OpenAI's cached
price); the rest of the prompt and the answer are billed as before.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from chat.engine.engine import CACHE_MIN_TOKENS
from chat.engine.pricing import Price

CACHE_TTL_S = 300  # Anthropic's and Bedrock's 5-minute cache; OpenAI keeps a prefix 5-10 minutes after its last use
WORKING_HOURS = (9, 18)  # when the questions come, by default: 9:00 to 18:00
MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Cached:
    per_question: Decimal  # with the FAQ cached
    uncached: Decimal  # the same tokens with no cache
    hit_share: float  # questions that find the prefix warm
    prefix_tokens: int


def hit_share(per_day: int, hours: tuple[int, int] = WORKING_HOURS, ttl_s: int = CACHE_TTL_S) -> float:
    """The share of questions arriving within a TTL of the one before, at per_day spread over the hours."""
    seconds = max(1, hours[1] - hours[0]) * 3600
    return 1 - math.exp(-per_day / seconds * ttl_s)


def cached_cost(price: Price, input_tokens: float, prefix: float, output_tokens: float, per_day: int,
                hours: tuple[int, int] = WORKING_HOURS) -> Cached | None:
    """A question's cost with and without the prefix cached; None where the vendor would not cache it (no cache
    price, or a prefix under its minimum)."""
    if price.basis != "tokens" or price.rates.cached_input is None or not prefix:
        return None
    if prefix < (price.cache_min_tokens or CACHE_MIN_TOKENS):
        return None
    rates = price.rates_for(int(input_tokens))
    write = rates.cache_write if rates.cache_write is not None else rates.input
    prefix_d, rest = Decimal(round(prefix)), Decimal(round(max(0.0, input_tokens - prefix)))
    out = Decimal(round(output_tokens or 0)) * rates.output
    hits = hit_share(per_day, hours)
    h = Decimal(str(round(hits, 6)))
    cached = rest * rates.input + prefix_d * (h * rates.cached_input + (1 - h) * write) + out
    plain = (rest + prefix_d) * rates.input + out
    return Cached(cached / MILLION, plain / MILLION, hits, int(prefix_d))
