"""Prices from pricing.yaml, validated at load, and cost arithmetic in Decimal."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

from .usage import Usage

MILLION = Decimal(1_000_000)
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "pricing.yaml"
_RATE_FIELDS = ("input", "output", "cached_input", "cache_write")


class PricingError(ValueError):
    """pricing.yaml is malformed; the message names the file, the model and the field."""


@dataclass(frozen=True)
class Rates:
    """USD per 1M tokens."""

    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None
    cache_write: Decimal | None = None


@dataclass(frozen=True)
class Price:
    model: str
    provider: str
    rates: Rates
    context_window: int | None = None
    long_context_threshold: int | None = None
    long_context: Rates | None = None
    source: str | None = None
    checked: str | None = None

    def rates_for(self, input_tokens: int) -> Rates:
        # Anthropic and Google bill the whole request at the higher tier once the prompt passes the threshold.
        if self.long_context and self.long_context_threshold and input_tokens > self.long_context_threshold:
            return self.long_context
        return self.rates


@dataclass(frozen=True)
class Cost:
    """Cost of one usage, broken down; all Decimal USD."""

    uncached_input: Decimal
    cached_input: Decimal
    cache_write: Decimal
    output: Decimal

    @property
    def input(self) -> Decimal:
        return self.uncached_input + self.cached_input + self.cache_write

    @property
    def total(self) -> Decimal:
        return self.input + self.output


def cost_of(usage: Usage, price: Price | None) -> Cost | None:
    """Cost of usage at price; None when the model is unpriced (never $0)."""
    if price is None:
        return None
    r = price.rates_for(usage.input_tokens)
    cached_rate = r.cached_input if r.cached_input is not None else r.input
    write_rate = r.cache_write if r.cache_write is not None else r.input
    return Cost(
        uncached_input=usage.uncached_input_tokens * r.input / MILLION,
        cached_input=usage.cached_tokens * cached_rate / MILLION,
        cache_write=usage.cache_write_tokens * write_rate / MILLION,
        output=usage.output_tokens * r.output / MILLION,
    )


def format_usd(amount: Decimal | None) -> str:
    """'$0.000123' style: enough digits that fractions of a cent stay visible; 'unpriced' for None."""
    if amount is None:
        return "unpriced"
    if amount == 0:
        return "$0"
    if abs(amount) >= 1:
        return f"${amount:,.2f}"
    # three significant figures keep fractions of a cent visible ($0.000123, $0.0000093) without noise
    q = amount.quantize(Decimal(1).scaleb(amount.adjusted() - 2)).normalize()
    if q.as_tuple().exponent > -2:
        q = q.quantize(Decimal("0.01"))  # $0.50, not $0.5
    return f"${format(q, 'f')}"


class PriceTable:
    """The validated contents of pricing.yaml."""

    def __init__(self, prices: dict[str, Price], digest: str, path: Path):
        self.prices = prices
        self.hash = digest
        self.path = path

    def get(self, name: str) -> Price | None:
        return self.prices.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self.prices

    def __iter__(self):
        return iter(self.prices.values())


def _decimal(raw, where: str, field: str, required: bool) -> Decimal | None:
    if raw is None:
        if required:
            raise PricingError(f"{where}: missing price field '{field}' (USD per 1M tokens, e.g. {field}: 2.50)")
        return None
    if isinstance(raw, bool):
        raise PricingError(f"{where}: field '{field}' must be a number, got {raw!r}")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise PricingError(f"{where}: field '{field}' must be a number, got {raw!r}") from None
    if not value.is_finite() or value < 0:
        raise PricingError(f"{where}: field '{field}' must be a non-negative number, got {raw!r}")
    return value


def _rates(entry: dict, where: str) -> Rates:
    return Rates(
        input=_decimal(entry.get("input"), where, "input", True),
        output=_decimal(entry.get("output"), where, "output", True),
        cached_input=_decimal(entry.get("cached_input"), where, "cached_input", False),
        cache_write=_decimal(entry.get("cache_write"), where, "cache_write", False),
    )


def _price(name: str, entry, path: Path) -> Price:
    where = f"{path}: model '{name}'"
    if not isinstance(entry, dict):
        raise PricingError(f"{where}: expected a mapping of fields (provider, input, output, ...), got {entry!r}")
    provider = entry.get("provider")
    if not isinstance(provider, str) or not provider:
        raise PricingError(f"{where}: missing field 'provider' (e.g. provider: openai)")
    window = entry.get("context_window")
    if window is not None and (not isinstance(window, int) or isinstance(window, bool) or window <= 0):
        raise PricingError(f"{where}: field 'context_window' must be a positive whole number, got {window!r}")
    long_ctx = entry.get("long_context")
    threshold = None
    long_rates = None
    if long_ctx is not None:
        if not isinstance(long_ctx, dict):
            raise PricingError(f"{where}: field 'long_context' must be a mapping with threshold, input, output")
        threshold = long_ctx.get("threshold")
        if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold <= 0:
            raise PricingError(f"{where}: field 'long_context.threshold' must be a positive whole number of input tokens")
        long_rates = _rates(long_ctx, f"{where} long_context")
    unknown = set(entry) - {"provider", "context_window", "long_context", "source", "checked", *_RATE_FIELDS}
    if unknown:
        raise PricingError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    return Price(
        model=name,
        provider=provider,
        rates=_rates(entry, where),
        context_window=window,
        long_context_threshold=threshold,
        long_context=long_rates,
        source=entry.get("source"),
        checked=str(entry["checked"]) if entry.get("checked") is not None else None,
    )


def load_prices(path: str | Path | None = None) -> PriceTable:
    path = Path(path) if path else DEFAULT_PATH
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise PricingError(f"{path}: cannot read the pricing file ({exc.strerror})") from None
    try:
        data = yaml.safe_load(raw_bytes) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise PricingError(f"{path}: not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise PricingError(f"{path}: expected a top-level 'models:' mapping of model name to prices")
    prices = {str(name): _price(str(name), entry, path) for name, entry in models.items()}
    return PriceTable(prices, hashlib.sha256(raw_bytes).hexdigest()[:16], path)


def costs_elsewhere(usage: Usage, table: PriceTable) -> list[tuple[str, Cost]]:
    """What the same token counts would cost on every priced model, cheapest first.

    Approximate by nature: each vendor's tokenizer splits the same text differently.
    """
    priced = [(p.model, cost_of(usage, p)) for p in table if p.rates.input or p.rates.output]
    return sorted(priced, key=lambda item: item[1].total)
