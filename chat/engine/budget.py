"""Spend caps in USD per browser session, per login and per day, held in the shared log; and a request rate limit."""
from __future__ import annotations

import collections
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_CEILING, Decimal

from chat.clock import now_iso
from chat.engine.models import Model
from chat.engine.pricing import MILLION
from chat.failures import CapReached, CapUncheckable, CapUnenforceable, RateLimited
from chat.storage.backend import StoreError, database_errors
from chat.storage.rows import SpendEntry
from chat.wording import refusal

# Without max_tokens the reply length is unknown; while a cap is on this many are reserved and sent as max_tokens.
DEFAULT_RESERVED_OUTPUT = 4096
PICO = Decimal(10) ** 12


class CapExceeded(Exception):
    """The call would pass a spend cap or the rate limit: `reason` says which, as data; the message words it."""

    def __init__(self, reason: CapReached | CapUnenforceable | CapUncheckable | RateLimited):
        super().__init__(refusal(reason))
        self.reason = reason


def to_pusd(amount: Decimal) -> int:
    """USD to whole pico-USD, rounded up so a reservation is never short."""
    return int((amount * PICO).to_integral_value(ROUND_CEILING))


def from_pusd(amount: int) -> Decimal:
    return Decimal(amount) / PICO


def is_uncapped(model: Model) -> bool:
    """Only the embedded model, and models explicitly priced at zero, cost nothing; anything else is capped."""
    price = model.price
    if price is not None and price.usd_per_hour is not None:
        return price.usd_per_hour == 0  # a priced machine counts against caps, the embedded model's included
    if model.endpoint.facts.local:
        return True
    return price is not None and not any((price.rates.input, price.rates.output, price.rates.cached_input or 0,
                                          price.rates.cache_write or 0))


def today() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d")


@dataclass
class Reservation:
    exchange_id: str
    session_key: str
    user: str | None
    day: str
    amount: Decimal
    output_tokens: int  # what the call may generate: sent as max_tokens


def parse_cap(name: str, raw: str | None) -> Decimal | None:
    if raw is None or not str(raw).strip():
        return None
    try:
        value = Decimal(str(raw).strip().lstrip("$"))
    except ArithmeticError:
        raise ValueError(f"{name}={raw!r} is not an amount in USD; use e.g. {name}=5.00") from None
    if not value.is_finite() or value <= 0 or value > 10**9:
        raise ValueError(f"{name} must be more than 0 and at most 1,000,000,000 USD, got {raw!r}")
    return value


# each limit: the Budget field, its command-line flag and its environment variable
LIMITS = (("session_cap", "--session-cap", "CHAT_SESSION_CAP_USD"), ("daily_cap", "--daily-cap", "CHAT_DAILY_CAP_USD"),
          ("user_cap", "--user-cap", "CHAT_USER_CAP_USD"), ("rate_limit", "--rate-limit", "CHAT_RATE_LIMIT"))


def limits(args, fields=tuple(f for f, _, _ in LIMITS), environ=os.environ) -> dict:
    """The spend caps and rate limit a command was given: its flags, else the environment. A bad value is named
    as the user wrote it (the flag, or the variable), in a ValueError."""
    out = {}
    for field, flag, var in (limit for limit in LIMITS if limit[0] in fields):
        parse = parse_rate if field == "rate_limit" else parse_cap
        given = getattr(args, field, None)
        out[field] = parse(flag, given) if given not in (None, "") else parse(var, environ.get(var))
    return out


def parse_rate(name: str, raw: str | None) -> int | None:
    if raw is None or not str(raw).strip():
        return None
    text = str(raw).strip()
    if not text.isdigit() or not 1 <= int(text) <= 100_000:
        raise ValueError(f"{name}={raw!r} must be a whole number of requests per minute, 1 to 100000 (e.g. {name}=20)")
    return int(text)


class Budget:
    """Caps enforced against the spend ledger in SQLite, so every process on one log shares them."""

    def __init__(self, session_cap: Decimal | None = None, daily_cap: Decimal | None = None,
                 user_cap: Decimal | None = None, rate_limit: int | None = None, store=None):
        self.session_cap = session_cap
        self.daily_cap = daily_cap
        self.user_cap = user_cap
        self.rate_limit = rate_limit  # requests per minute per browser session or login
        self.store = store
        self._recent: dict[str, collections.deque] = {}
        self._rate_lock = threading.Lock()

    @property
    def active(self) -> bool:
        return any(c is not None for c in (self.session_cap, self.daily_cap, self.user_cap))

    def worst_case(self, model: Model, input_tokens: int, output_tokens: int) -> Decimal:
        """The most this call can cost: the most input tokens its vendor may bill (our count at the model's upper
        token ratio, chat.engine.token_ratios) plus every output token it may generate.

        On a compute price: the longest a reply may hold the machine (CHAT_MAX_SECONDS, plus one stall timeout).
        """
        if model.price.usd_per_hour is not None:
            from chat.engine.settings import max_seconds, timeouts

            return model.price.compute_cost(max_seconds() + timeouts()[0])
        rates = model.price.rates_for(input_tokens)
        in_rate = max(rates.input, rates.cache_write or 0)  # a prompt may be written to the cache
        return (input_tokens * in_rate + output_tokens * rates.output) / MILLION

    def reserve(self, exchange_id: str, session_key: str, user: str | None, model: Model,
                input_tokens: int | Callable[[], int], max_tokens: int | None) -> Reservation | None:
        """Record the worst case against every cap, atomically with other processes; CapExceeded if one would pass.
        `input_tokens` may be a function: counting needs the tokenizer, which an uncapped call never does."""
        if not self.active or is_uncapped(model):
            return None
        if model.price is None:
            raise CapExceeded(CapUnenforceable(model.name))
        if callable(input_tokens):
            input_tokens = input_tokens()
        output = max_tokens or DEFAULT_RESERVED_OUTPUT
        amount = self.worst_case(model, input_tokens, output)
        day = today()
        limits = []
        if self.daily_cap is not None:
            limits.append(("day", None, to_pusd(self.daily_cap)))
        if self.session_cap is not None:
            limits.append(("session", session_key, to_pusd(self.session_cap)))
        if self.user_cap is not None and user:
            limits.append(("user", user, to_pusd(self.user_cap)))
        entry = SpendEntry(exchange_id, day, now_iso(), session_key, user, to_pusd(amount), "reserved")
        try:
            refused = self.store.reserve_spend(entry, limits)
        except (StoreError, TimeoutError, *database_errors()) as exc:  # the ledger is out of reach: no blind spending
            raise CapExceeded(CapUncheckable(" ".join(str(exc).split())[:200] or type(exc).__name__)) from None
        if refused:
            scope, used = refused
            self._refuse(scope, from_pusd(used), amount)
        return Reservation(exchange_id, session_key, user, day, amount, output)

    def _refuse(self, scope: str, used: Decimal, amount: Decimal) -> None:
        limit = {"day": self.daily_cap, "session": self.session_cap, "user": self.user_cap}[scope]
        raise CapExceeded(CapReached(scope, limit, used, amount))

    def settle(self, reservation: Reservation | None, cost: Decimal | None, exchange_id: str, session_key: str,
               user: str | None) -> None:
        """Replace the reservation with the real cost; an unknown cost keeps the worst case reserved."""
        if self.store is None:
            return
        if reservation is None:
            if not cost:
                return
            entry = SpendEntry(exchange_id, today(), now_iso(), session_key, user, to_pusd(cost), "settled")
        else:
            actual = reservation.amount if cost is None else cost
            entry = SpendEntry(exchange_id, reservation.day, now_iso(), reservation.session_key, reservation.user,
                               to_pusd(actual), "settled")
        self.store.settle_spend(entry)

    def check_rate(self, key: str) -> None:
        """At most rate_limit requests a minute per browser session or login; CapExceeded past it."""
        if not self.rate_limit:
            return
        now = time.monotonic()
        with self._rate_lock:
            recent = self._recent.setdefault(key, collections.deque())
            while recent and now - recent[0] > 60:
                recent.popleft()
            if len(recent) >= self.rate_limit:
                wait = 60 - (now - recent[0])
                raise CapExceeded(RateLimited(self.rate_limit, wait))
            recent.append(now)
            if len(self._recent) > 10_000:  # forget idle sessions so the table stays small
                for k in [k for k, d in self._recent.items() if not d or now - d[-1] > 60]:
                    del self._recent[k]
