"""Spend caps in USD per session and per day: reserve before a paid call, settle after."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from urllib.parse import urlparse

from .models import Model
from .pricing import MILLION, format_usd

# Without max_tokens the reply length is unknown; reserve this many output tokens for it.
DEFAULT_RESERVED_OUTPUT = 4096


class CapExceeded(Exception):
    """The call would pass a spend cap; the message says which cap and what to do."""


def is_free(model: Model) -> bool:
    """Local models are never capped: the embedded one and servers on this machine."""
    if model.endpoint.protocol == "local":
        return True
    host = urlparse(model.endpoint.resolved_base_url() or "").hostname or ""
    if host in ("localhost", "::1") or host.startswith("127."):
        return model.price is None or model.price.rates.output == 0
    return model.price is not None and model.price.rates.input == 0 and model.price.rates.output == 0


@dataclass
class Reservation:
    session_id: str
    amount: Decimal
    day: str


def parse_cap(name: str, raw: str | None) -> Decimal | None:
    if raw is None or not str(raw).strip():
        return None
    try:
        value = Decimal(str(raw).strip().lstrip("$"))
    except ArithmeticError:
        raise ValueError(f"{name}={raw!r} is not an amount in USD; use e.g. {name}=5.00") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{name} must be more than 0 USD, got {raw!r}")
    return value


class Budget:
    """Process-wide accounting, so parallel requests cannot overshoot by more than one reply."""

    def __init__(self, session_cap: Decimal | None = None, daily_cap: Decimal | None = None, spent_today: Decimal = Decimal(0)):
        self.session_cap = session_cap
        self.daily_cap = daily_cap
        self._lock = threading.Lock()
        self._session_spent: dict[str, Decimal] = {}
        self._day = self._today()
        self._day_spent = spent_today
        self._reserved_session: dict[str, Decimal] = {}
        self._reserved_day = Decimal(0)

    @property
    def active(self) -> bool:
        return self.session_cap is not None or self.daily_cap is not None

    @staticmethod
    def _today() -> str:
        return datetime.now(timezone.utc).strftime("%Y-%m-%d")

    def worst_case(self, model: Model, input_tokens: int, max_tokens: int | None) -> Decimal:
        """The most this call can cost: its input plus every output token it may generate."""
        rates = model.price.rates_for(input_tokens)
        out = max_tokens or DEFAULT_RESERVED_OUTPUT
        return (input_tokens * rates.input + out * rates.output) / MILLION

    def reserve(self, session_id: str, model: Model, input_tokens: int, max_tokens: int | None) -> Reservation | None:
        if not self.active or is_free(model):
            return None
        if model.price is None:
            raise CapExceeded(
                f"{model.name} has no price in pricing.yaml, so the spend cap cannot be enforced for it: "
                "add its price to pricing.yaml or pick a priced model"
            )
        amount = self.worst_case(model, input_tokens, max_tokens)
        with self._lock:
            if self._today() != self._day:
                self._day, self._day_spent, self._reserved_day = self._today(), Decimal(0), Decimal(0)
            used = self._session_spent.get(session_id, Decimal(0)) + self._reserved_session.get(session_id, Decimal(0))
            if self.session_cap is not None and used + amount > self.session_cap:
                raise CapExceeded(
                    f"session spend cap reached: {format_usd(used)} of {format_usd(self.session_cap)} used and this "
                    f"request may cost up to {format_usd(amount)}. No call was made. Use the embedded local model, "
                    "lower max tokens, or ask the host to raise CHAT_SESSION_CAP_USD"
                )
            day_used = self._day_spent + self._reserved_day
            if self.daily_cap is not None and day_used + amount > self.daily_cap:
                raise CapExceeded(
                    f"daily spend cap reached: {format_usd(day_used)} of {format_usd(self.daily_cap)} used today (UTC) "
                    f"across all users. No call was made. Use the embedded local model or try again tomorrow"
                )
            self._reserved_session[session_id] = self._reserved_session.get(session_id, Decimal(0)) + amount
            self._reserved_day += amount
            return Reservation(session_id, amount, self._day)

    def settle(self, reservation: Reservation | None, cost: Decimal | None) -> None:
        if reservation is None:
            return
        actual = cost if cost is not None else reservation.amount
        with self._lock:
            sid = reservation.session_id
            self._reserved_session[sid] = self._reserved_session.get(sid, Decimal(0)) - reservation.amount
            self._session_spent[sid] = self._session_spent.get(sid, Decimal(0)) + actual
            if reservation.day == self._day:
                self._reserved_day -= reservation.amount
                self._day_spent += actual
