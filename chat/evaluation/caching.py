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


@dataclass(frozen=True)
class RunCache:
    """How a run's vendor billed one candidate's cached prefix, to bill the same attempts at another volume: each
    attempt's cost and the prefix tokens in it, by question, with the per-token prices the run was billed."""

    attempts: dict[str, list[tuple[Decimal, int, Decimal]]]  # question -> (cost, prefix tokens, what they cost)
    read: Decimal  # a cached prefix token, as billed
    miss: Decimal  # a prefix token on a miss: the write price where the vendor charges for writes, else input
    plain: Decimal  # a prefix token with no cache at all: the input price
    run_share: float  # of the prefix tokens the run sent, those it found cached
    prefix: int  # the prefix in the vendor's tokens: the most it cached or wrote in one call


def _rate(rows, cost: str, tokens) -> Decimal | None:
    paid = [(Decimal(getattr(r, cost)), tokens(r)) for r in rows if getattr(r, cost) is not None and tokens(r) > 0]
    n = sum(t for _, t in paid)
    return sum((c for c, _ in paid), Decimal(0)) / n if n else None


def run_cache(rows) -> RunCache | None:
    """A candidate's cached prefix as its run billed it; None when the vendor cached nothing in the run (caching
    off, a prefix under the vendor's minimum) or never read what it cached (no read price to bill hits with)."""
    billed = [r for r in rows if r.cost_usd is not None and r.cached_input_cost is not None and r.input_tokens]
    prefix = max(((r.cached_tokens or 0) + (r.cache_write_tokens or 0) for r in billed), default=0)
    read = _rate(billed, "cached_input_cost", lambda r: r.cached_tokens or 0)
    plain = _rate(billed, "uncached_input_cost",
                  lambda r: r.input_tokens - (r.cached_tokens or 0) - (r.cache_write_tokens or 0))
    written = _rate(billed, "cache_write_cost", lambda r: r.cache_write_tokens or 0)
    miss = written if written is not None else plain  # OpenAI bills a miss at the input price, no write premium
    if not prefix or read is None or miss is None:
        return None
    plain = plain if plain is not None else miss
    attempts: dict[str, list[tuple[Decimal, int, Decimal]]] = {}
    sent = found = 0
    for r in rows:
        cost = Decimal(r.cost_usd) if r.cost_usd is not None else Decimal(0)  # a failed call costs what was metered
        entry = (cost, 0, Decimal(0))  # left as the run billed it: unpriced, or cut short before the whole prompt
        if r.cost_usd is not None and r.cached_input_cost is not None and (r.input_tokens or 0) >= prefix:
            reads, writes = r.cached_tokens or 0, r.cache_write_tokens or 0
            spent = (Decimal(r.cached_input_cost) + Decimal(r.cache_write_cost or 0)
                     + (prefix - reads - writes) * plain)
            entry = (cost, prefix, spent)
            sent, found = sent + prefix, found + reads
        attempts.setdefault(r.question_id or "", []).append(entry)
    return RunCache(attempts, read, miss, plain, found / sent if sent else 0.0, prefix)


def rebill(cache: RunCache, per_day: int, hours: tuple[int, int] = WORKING_HOURS) -> dict[str, list[Decimal]]:
    """Each attempt's cost with its prefix billed as at per_day: read on the share of questions that find it warm,
    written (or billed in full) on the rest; the question and the answer as the run billed them."""
    h = Decimal(str(round(hit_share(per_day, hours), 6)))
    return _billed_at(cache, h * cache.read + (1 - h) * cache.miss)


def _billed_at(cache: RunCache, per_token: Decimal) -> dict[str, list[Decimal]]:
    return {q: [cost - spent + prefix * per_token for cost, prefix, spent in attempts]
            for q, attempts in cache.attempts.items()}


def calibrated(cache: RunCache, per_day: int, hours: tuple[int, int] = WORKING_HOURS) -> Cached:
    """A question's mean cost at per_day with the FAQ cached and with no cache, from the run's own bills."""
    def mean(by_question: dict[str, list[Decimal]]) -> Decimal:
        costs = [c for cs in by_question.values() for c in cs]
        return sum(costs, Decimal(0)) / len(costs)
    return Cached(mean(rebill(cache, per_day, hours)), mean(_billed_at(cache, cache.plain)),
                  hit_share(per_day, hours), cache.prefix)
