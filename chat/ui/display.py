"""Human-readable meter text from a logged exchange row, shared by the CLI and the UI."""
from __future__ import annotations

from decimal import Decimal

from chat.engine.pricing import Price, format_usd


def _dec(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _ms(value) -> str:
    if value is None:
        return "–"
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.2f} s"


def tokens_text(record: dict) -> str:
    approx = "≈" if record.usage_source == "estimate" else ""
    return f"{approx}{record.input_tokens:,} in · {approx}{record.output_tokens:,} out"


def meter_line(record: dict) -> str:
    """One compact line: tokens (≈ when estimated), cost, TTFT, total time, tokens/s."""
    tps = record.output_tokens_per_s
    parts = [
        tokens_text(record),
        format_usd(_dec(record.cost_usd)) + (" compute" if record.cost_basis == "compute" else ""),
        f"TTFT {_ms(record.ttft_ms)}",
        f"total {_ms(record.latency_ms)}",
        f"{tps:.1f} tok/s" if tps else "– tok/s",
    ]
    if record.status != "ok":
        parts.append(record.status)
    return " · ".join(parts)


def cost_breakdown(record: dict) -> str:
    if record.cost_usd is None:
        return "unpriced: this model has no entry in pricing.yaml"
    note = f" ({record.usage_adjusted})" if record.usage_adjusted else ""
    if record.cost_basis == "compute":
        return (f"compute: {_ms(record.latency_ms)} of machine time at its hourly price in pricing.yaml = "
                f"{format_usd(_dec(record.cost_usd))}{note}")
    return (
        f"input {format_usd(_dec(record.uncached_input_cost))} · cached {format_usd(_dec(record.cached_input_cost))}"
        f" · cache write {format_usd(_dec(record.cache_write_cost))} · output {format_usd(_dec(record.output_cost))}"
        f" = {format_usd(_dec(record.cost_usd))}{note}"
    )


def price_text(price: Price | None) -> str:
    if price is None:
        return "unpriced"
    if price.basis == "compute":
        shared = f" ÷ {price.concurrent_requests} at once" if price.concurrent_requests > 1 else ""
        return f"${price.usd_per_hour}/hour{shared} (compute)"
    r = price.rates
    if r.input == 0 and r.output == 0:
        return "free (local)"
    return f"{_rate(r.input)} in / {_rate(r.output)} out per 1M"


def _rate(value: Decimal) -> str:
    # $2.50 rather than $2.5; sub-cent rates such as $0.075 keep their digits
    return f"${value:.2f}" if value == value.quantize(Decimal("0.01")) else f"${value.normalize()}"


def cell(column: str, value) -> str:
    """One log column's value as a table cell, for the Logs tab and `python -m chat logs` alike."""
    if value is None:
        return "unpriced" if column == "cost_usd" else "–"
    if column == "cost_usd":
        return f"${Decimal(str(value)):.6f}".rstrip("0").rstrip(".") if value else "$0"
    if column.endswith("_ms"):
        return f"{value / 1000:.2f}s" if value >= 1000 else f"{value:.0f}ms"
    if column in ("tokens_per_s", "output_tokens_per_s"):
        return f"{value:.1f}"
    if column == "created_at":
        return value[:19].replace("T", " ")
    if column == "prompt":
        return " ".join(str(value).split())[:60]
    if column == "id":
        return value[:12]
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
