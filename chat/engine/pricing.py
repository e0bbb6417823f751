"""Prices from pricing.yaml, validated at load, and cost arithmetic in Decimal."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from chat import safe_yaml
from chat.engine.token_priors import TokenPrior, TokenPriorError, token_priors
from chat.engine.usage import Usage
from chat.safe_yaml import Mapping
from chat.storage.rows import CostBasis
from chat.wording import format_usd  # noqa: F401 (money is worded there; this name stays importable)

MILLION = Decimal(1_000_000)
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "pricing.yaml"
_RATE_FIELDS = ("input", "output", "cached_input", "cache_write", "cache_write_1h")


class PricingError(ValueError):
    """pricing.yaml is malformed; the message names the file, the model and the field."""


@dataclass(frozen=True)
class Rates:
    """USD per 1M tokens."""

    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None
    cache_write: Decimal | None = None
    cache_write_1h: Decimal | None = None  # cache writes with the 1-hour TTL (Anthropic, Bedrock); default cache_write


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
    sampling: bool = True  # False: the model takes no temperature (OpenAI's reasoning models)
    cache_min_tokens: int | None = None  # the shortest prefix its vendor caches (where the request must mark it)
    usd_per_hour: Decimal | None = None  # compute price: a self-hosted machine billed by the hour, not by the token
    concurrent_requests: int = 1  # how many requests that machine serves at once for that price
    priced_as: str | None = None  # set when a user-chosen name (an alias) borrows another model's price
    priced_from: str | None = None  # None: pricing.yaml; "genai-prices": its bundled data (chat/engine/bundled_prices.py)

    @property
    def basis(self) -> CostBasis:
        return "compute" if self.usd_per_hour is not None else "tokens"

    def compute_cost(self, seconds: float) -> Decimal:
        """The machine's time this reply held: wall seconds x hourly price / 3600 / requests served at once."""
        wall = Decimal(repr(max(0.0, seconds)))
        return wall * self.usd_per_hour / 3600 / self.concurrent_requests

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
    compute: Decimal | None = None  # machine time, for a compute-priced model (then the token parts are 0)

    @property
    def input(self) -> Decimal:
        return self.uncached_input + self.cached_input + self.cache_write

    @property
    def total(self) -> Decimal:
        return self.input + self.output + (self.compute or 0)

    @property
    def basis(self) -> CostBasis:
        return "tokens" if self.compute is None else "compute"


def cost_of(usage: Usage, price: Price | None, seconds: float | None = None) -> Cost | None:
    """Cost of usage at price; None when the model is unpriced (never $0).

    A compute-priced model costs its wall time (seconds), whatever the tokens; without a time it has no cost.
    """
    if price is None:
        return None
    if price.usd_per_hour is not None:
        if seconds is None:
            return None
        zero = Decimal(0)
        return Cost(zero, zero, zero, zero, compute=price.compute_cost(seconds))
    r = price.rates_for(usage.input_tokens)
    cached_rate = r.cached_input if r.cached_input is not None else r.input
    write_rate = r.cache_write if r.cache_write is not None else r.input
    write_1h_rate = r.cache_write_1h if r.cache_write_1h is not None else write_rate
    long_writes = min(usage.cache_write_1h_tokens, usage.cache_write_tokens)
    return Cost(
        uncached_input=usage.uncached_input_tokens * r.input / MILLION,
        cached_input=usage.cached_tokens * cached_rate / MILLION,
        cache_write=((usage.cache_write_tokens - long_writes) * write_rate + long_writes * write_1h_rate) / MILLION,
        output=usage.output_tokens * r.output / MILLION,
    )


class PriceTable:
    """The validated contents of pricing.yaml."""

    def __init__(self, prices: dict[str, Price], digest: str, path: Path, aliases: dict[str, str] | None = None,
                 endpoints: dict[str, Price] | None = None, token_priors: tuple[TokenPrior, ...] = ()):
        self.token_priors = token_priors  # each family's tokens per token of our count, before the log knows
        self.prices = prices
        self.hash = digest
        self.path = path
        self.aliases = aliases or {}  # user-chosen name -> the priced model it costs the same as
        self.endpoints = endpoints or {}  # endpoint name -> compute price for its models without one of their own

    def get(self, name: str) -> Price | None:
        return self.prices.get(name)

    def alias(self, name: str) -> Price | None:
        """The price an alias borrows, carrying the alias's own name and the model it is priced as."""
        target = self.aliases.get(name)
        if target is None:
            return None
        price = self.prices[target]
        return replace(price, model=name, priced_as=target)

    def endpoint_price(self, endpoint: str) -> Price | None:
        return self.endpoints.get(endpoint)

    def __contains__(self, name: str) -> bool:
        return name in self.prices

    def __iter__(self):
        return iter(self.prices.values())


MAX_RATE = Decimal(10_000)  # USD per 1M tokens; today's dearest model is far below this
MAX_WINDOW = 100_000_000


def _line(entry, key=None) -> str:
    line = entry.line_of(key) if isinstance(entry, Mapping) else 0
    return f"line {line}: " if line else ""


def _at(where: str, entry, key=None) -> str:
    """'file: line N: model 'x'' with the line of the field when it is written, else of the entry."""
    path, _, model = where.partition("|")
    return f"{path}: {_line(entry, key)}{model}"


def _decimal(entry: dict, field: str, where: str, required: bool) -> Decimal | None:
    raw = entry.get(field)
    at = f"{_at(where, entry, field)}: field '{field}'"
    if raw is None:
        if required:
            raise PricingError(f"{_at(where, entry)}: missing price field '{field}' (USD per 1M tokens, e.g. {field}: 2.50)")
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise PricingError(f"{at} must be a number (USD per 1M tokens), got {str(raw)[:60]!r}")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise PricingError(f"{at} must be a number (USD per 1M tokens), got {str(raw)[:60]!r}") from None
    if not value.is_finite() or value < 0 or value > MAX_RATE:
        raise PricingError(f"{at} must be from 0 to {MAX_RATE:,} USD per 1M tokens, got {str(raw)[:60]!r}")
    return value


def _rates(entry: dict, where: str) -> Rates:
    return Rates(
        input=_decimal(entry, "input", where, True),
        output=_decimal(entry, "output", where, True),
        cached_input=_decimal(entry, "cached_input", where, False),
        cache_write=_decimal(entry, "cache_write", where, False),
        cache_write_1h=_decimal(entry, "cache_write_1h", where, False),
    )


def _whole(entry: dict, field: str, where: str, what: str) -> int | None:
    value = entry.get(field)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_WINDOW:
        raise PricingError(f"{_at(where, entry, field)}: field '{field}' must be {what} from 1 to {MAX_WINDOW:,}, "
                           f"got {str(value)[:60]!r}")
    return value


_COMPUTE_FIELDS = ("usd_per_hour", "concurrent_requests")
MAX_USD_PER_HOUR = Decimal(10_000)  # a rack of the dearest GPUs is far below this
MAX_CONCURRENT = 100_000


def _text(entry: dict, field: str, where: str) -> str | None:
    value = entry.get(field)
    if value is not None and not isinstance(value, (str, int, date)):
        raise PricingError(f"{_at(where, entry, field)}: field '{field}' must be text")
    return None if value is None else str(value)


def _compute(entry: dict, where: str) -> tuple[Decimal, int]:
    """(usd_per_hour, concurrent_requests), checked."""
    raw = entry.get("usd_per_hour")
    at = f"{_at(where, entry, 'usd_per_hour')}: field 'usd_per_hour'"
    try:
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise InvalidOperation
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise PricingError(f"{at} must be a number of USD per hour for the machine, e.g. usd_per_hour: 1.21, "
                           f"got {str(raw)[:60]!r}") from None
    if not value.is_finite() or value < 0 or value > MAX_USD_PER_HOUR:
        raise PricingError(f"{at} must be from 0 to {MAX_USD_PER_HOUR:,} USD per hour, got {str(raw)[:60]!r}")
    concurrent = entry.get("concurrent_requests", 1)
    if not isinstance(concurrent, int) or isinstance(concurrent, bool) or not 1 <= concurrent <= MAX_CONCURRENT:
        raise PricingError(f"{_at(where, entry, 'concurrent_requests')}: field 'concurrent_requests' must be a whole "
                           f"number from 1 to {MAX_CONCURRENT:,} (requests the machine serves at once), "
                           f"got {str(concurrent)[:60]!r}")
    return value, concurrent


def _endpoint_prices(raw, path: Path) -> dict[str, Price]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise PricingError(f"{path}: 'endpoints:' must map endpoint names to a compute price, "
                           "e.g. endpoints: {vllm: {usd_per_hour: 2.5, concurrent_requests: 8}}")
    out = {}
    for name, entry in raw.items():
        where = f"{path}|endpoint '{name}'"
        if not isinstance(entry, dict) or "usd_per_hour" not in entry:
            raise PricingError(f"{path}: {_line(raw, name)}endpoint '{name}': expected usd_per_hour "
                               "(and optionally concurrent_requests, source, checked)")
        unknown = set(entry) - {*_COMPUTE_FIELDS, "source", "checked"}
        if unknown:
            raise PricingError(f"{path}: {_line(raw, name)}endpoint '{name}': unknown field(s) "
                               f"{', '.join(sorted(map(str, unknown)))}")
        usd_per_hour, concurrent = _compute(entry, where)
        zero = Decimal(0)
        out[str(name)] = Price(model=f"{name}:*", provider=str(name), rates=Rates(zero, zero),
                               source=_text(entry, "source", where), checked=_text(entry, "checked", where),
                               usd_per_hour=usd_per_hour, concurrent_requests=concurrent)
    return out


def _aliases(raw, prices: dict[str, Price], path: Path) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise PricingError(f"{path}: 'aliases:' must map your model names to priced ones, "
                           "e.g. aliases: {'azure:my-gpt4o-prod': gpt-4o}")
    out = {}
    for name, target in raw.items():
        head = f"{path}: {_line(raw, name)}alias '{name}'"
        if not isinstance(target, str) or target not in prices:
            raise PricingError(f"{head}: must name a model listed under 'models:', got {str(target)[:60]!r}")
        if str(name) in prices:
            raise PricingError(f"{head}: is already a model under 'models:'; an alias must be a name of your own")
        out[str(name)] = target
    return out


def _price(name: str, entry, path: Path, line: str) -> Price:
    where = f"{path}|model '{name}'"
    head = f"{path}: {line}model '{name}'"
    if not isinstance(entry, dict):
        raise PricingError(f"{head}: expected a mapping of fields (provider, input, output, ...), got {str(entry)[:60]!r}")
    unknown = set(entry) - {"provider", "context_window", "long_context", "source", "checked", "sampling",
                            "cache_min_tokens", *_RATE_FIELDS, *_COMPUTE_FIELDS}
    if unknown:
        raise PricingError(f"{head}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    provider = entry.get("provider")
    if not isinstance(provider, str) or not provider:
        raise PricingError(f"{head}: missing field 'provider' (e.g. provider: openai)")
    if "usd_per_hour" in entry:
        if set(entry) & set(_RATE_FIELDS):
            raise PricingError(f"{head}: give either token prices (input, output) or a compute price (usd_per_hour), "
                               "not both")
        usd_per_hour, concurrent = _compute(entry, where)
        window = _whole(entry, "context_window", where, "a whole number of tokens")
        zero = Decimal(0)
        return Price(model=name, provider=provider, rates=Rates(zero, zero), context_window=window,
                     source=_text(entry, "source", where), checked=_text(entry, "checked", where),
                     sampling=entry.get("sampling", True) is not False, usd_per_hour=usd_per_hour,
                     concurrent_requests=concurrent)
    if "concurrent_requests" in entry:
        raise PricingError(f"{_at(where, entry, 'concurrent_requests')}: field 'concurrent_requests' goes with "
                           "usd_per_hour (a compute price)")
    window = _whole(entry, "context_window", where, "a whole number of tokens")
    long_ctx = entry.get("long_context")
    threshold = None
    long_rates = None
    if long_ctx is not None:
        if not isinstance(long_ctx, dict):
            raise PricingError(f"{_at(where, entry, 'long_context')}: field 'long_context' must be a mapping with "
                               "threshold, input, output")
        threshold = _whole(long_ctx, "threshold", f"{where} long_context", "a whole number of input tokens")
        if threshold is None:
            raise PricingError(f"{_at(where, entry, 'long_context')}: field 'long_context.threshold' is missing")
        long_rates = _rates(long_ctx, f"{where} long_context")
    sampling = entry.get("sampling", True)
    if not isinstance(sampling, bool):
        raise PricingError(f"{_at(where, entry, 'sampling')}: field 'sampling' must be true or false "
                           "(false: the model takes no temperature)")
    for text_field in ("source", "checked"):
        if entry.get(text_field) is not None and not isinstance(entry[text_field], (str, int, date)):
            raise PricingError(f"{_at(where, entry, text_field)}: field '{text_field}' must be text")
    return Price(
        model=name,
        provider=provider,
        rates=_rates(entry, where),
        context_window=window,
        long_context_threshold=threshold,
        long_context=long_rates,
        source=entry.get("source"),
        checked=str(entry["checked"]) if entry.get("checked") is not None else None,
        sampling=sampling,
        cache_min_tokens=_whole(entry, "cache_min_tokens", where, "a whole number of tokens"),
    )


def load_prices(path: str | Path | None = None) -> PriceTable:
    path = Path(path) if path else DEFAULT_PATH
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise PricingError(f"{path}: cannot read the pricing file ({exc.strerror})") from None
    try:
        data = safe_yaml.load(raw_bytes) or {}
    except safe_yaml.YamlError as exc:
        raise PricingError(f"{path}: {exc}") from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise PricingError(f"{path}: expected a top-level 'models:' mapping of model name to prices")
    unknown = set(data) - {"models", "aliases", "endpoints", "token_ratios"}
    if unknown:
        raise PricingError(f"{path}: unknown top-level key(s) {', '.join(sorted(map(str, unknown)))}; "
                           "expected models, aliases, endpoints, token_ratios")
    prices = {str(name): _price(str(name), entry, path, _line(models, name)) for name, entry in models.items()}
    try:
        priors = token_priors(data.get("token_ratios"), path)
    except TokenPriorError as exc:
        raise PricingError(str(exc)) from None
    return PriceTable(prices, hashlib.sha256(raw_bytes).hexdigest()[:16], path,
                      aliases=_aliases(data.get("aliases"), prices, path),
                      endpoints=_endpoint_prices(data.get("endpoints"), path),
                      token_priors=priors)


def costs_elsewhere(usage: Usage, table: PriceTable) -> list[tuple[str, Cost]]:
    """What the same token counts would cost on every priced model, cheapest first.

    Approximate by nature: each vendor's tokenizer splits the same text differently.
    """
    priced = [(p.model, cost_of(usage, p)) for p in table if p.basis == "tokens" and (p.rates.input or p.rates.output)]
    return sorted(priced, key=lambda item: item[1].total)
