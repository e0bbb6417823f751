"""Monthly cost at a chosen volume, and where a self-hosted machine breaks even against each API model."""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from chat.engine.models import UnknownModel, resolve
from chat.engine.pricing import Price, PriceTable
from chat.evaluation.caching import Cached, cached_cost, calibrated
from chat.evaluation.results import ModelStats
from chat.wording import Worded

DAYS_PER_MONTH = 30
MAX_PER_DAY = 1_000_000_000  # a billion questions a day; beyond it the figure means nothing


@dataclass(frozen=True)
class BreakEven:
    api_model: str
    per_day: int | None  # questions a day above which the machine is cheaper; None: not within its capacity


@dataclass(frozen=True)
class Projection:
    model: str  # how the candidate is named (a model, or a model asked one way: results.label)
    basis: str  # tokens | compute | unpriced
    cost_per_question: Decimal | None
    monthly: Decimal | None  # per_day x 30 questions at the measured cost per question
    machine_monthly: Decimal | None = None  # compute: one machine kept on all month
    capacity_per_day: int | None = None  # compute: questions one machine answers a day at the measured latency
    machines: int | None = None  # compute: machines needed for per_day
    always_on_monthly: Decimal | None = None  # compute: those machines kept on all month
    break_even: tuple[BreakEven, ...] = ()
    cached: Cached | None = None  # tokens: a question with the FAQ cached as its vendor bills it (None: no cache)
    month: int = 0  # the questions a month it was projected at

    @property
    def cached_monthly(self) -> Decimal | None:
        return None if self.cached is None else self.cached.per_question * self.month

    @property
    def uncached_monthly(self) -> Decimal | None:
        return None if self.cached is None else self.cached.uncached * self.month


def _price(model: str, prices: PriceTable) -> Price | None:
    try:
        return resolve(model, prices).price
    except UnknownModel:
        return None


def check_per_day(per_day) -> int:
    """The volume as a whole number of questions a day, or Worded (a ValueError) naming what is allowed."""
    try:
        value = float(per_day)
    except (TypeError, ValueError):
        raise Worded("questions a day must be a whole number, e.g. 1000; got {value}", value=repr(str(per_day)[:30])) from None
    if not math.isfinite(value) or value != int(value) or not 1 <= value <= MAX_PER_DAY:
        raise Worded("questions a day must be a whole number from 1 to {most}; got {value}", most=f"{MAX_PER_DAY:,}",
                     value=repr(str(per_day)[:30]))
    return int(value)


def project(stats: list[ModelStats], prices: PriceTable, per_day: int) -> list[Projection]:
    per_day = check_per_day(per_day)
    month = per_day * DAYS_PER_MONTH
    api = [(s.label, s.cost_per_question) for s in stats
           if s.cost_per_question and getattr(_price(s.model, prices), "basis", None) == "tokens"]
    out = []
    for s in stats:
        price = _price(s.model, prices)
        cost = s.cost_per_question
        monthly = None if cost is None else cost * month
        if price is None or cost is None:
            out.append(Projection(s.label, "unpriced" if price is None else price.basis, cost, monthly))
            continue
        if price.basis != "compute" or not s.latency_mean_ms:
            cached = None
            if price.basis == "tokens" and s.run_cache is not None:
                cached = calibrated(s.run_cache, per_day)  # the run's own reads, writes and prices
            elif price.basis == "tokens" and s.mean_input_tokens and s.prefix_tokens:
                cached = cached_cost(price, s.mean_input_tokens, s.prefix_tokens, s.mean_output_tokens or 0, per_day)
            out.append(Projection(s.label, price.basis, cost, monthly, cached=cached, month=month))
            continue
        hourly = price.usd_per_hour
        machine = hourly * 24 * DAYS_PER_MONTH
        # one machine answers concurrent_requests questions at a time, each taking the measured mean latency
        capacity = int(price.concurrent_requests * 86_400 * 1000 / s.latency_mean_ms)
        machines = max(1, math.ceil(per_day / capacity)) if capacity else None
        evens = []
        for name, api_cost in api:
            # an always-on machine costs hourly x 24 a day, whatever it answers; the API costs api_cost per answer
            volume = math.ceil(hourly * 24 / api_cost)
            evens.append(BreakEven(name, volume if volume <= capacity else None))
        out.append(Projection(s.label, "compute", cost, monthly, machine, capacity, machines,
                              None if machines is None else machine * machines, tuple(evens)))
    return out
