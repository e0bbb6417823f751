"""Human-readable text for the Logs table and price labels, shared by the CLI and the UI."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chat.engine.pricing import Price
from chat.evaluation.meter_text import cost_breakdown, meter_line, tokens_text
from chat.wording import english

__all__ = ["cell", "cost_breakdown", "exchange_cell", "meter_line", "price_text", "tokens_text"]


def price_text(price: Price | None, word=english) -> str:
    """A model's price in a few words: per 1M tokens in and out, per hour of compute, free, or unpriced."""
    if price is None:
        return word("unpriced")
    if price.basis == "compute":
        shared = word(" ÷ {n} at once", n=price.concurrent_requests) if price.concurrent_requests > 1 else ""
        return word("${rate}/hour{shared} (compute)", rate=price.usd_per_hour, shared=shared)
    r = price.rates
    if r.input == 0 and r.output == 0:
        return word("free (local)")
    source = f" ({price.priced_from})" if price.priced_from else ""
    return word("{i} in / {o} out per 1M", i=_rate(r.input), o=_rate(r.output)) + source


def _rate(value: Decimal) -> str:
    # $2.50 rather than $2.5; sub-cent rates such as $0.075 keep their digits
    return f"${value:.2f}" if value == value.quantize(Decimal("0.01")) else f"${value.normalize()}"


def zone(name: str | None):
    """The time zone to show times in: an IANA name (Asia/Seoul), else UTC; ValueError names a bad one."""
    if not name or name.strip().upper() == "UTC":
        return timezone.utc
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name.strip()[:60]!r}: use an IANA name such as Asia/Seoul or "
                         "Europe/Berlin, or UTC") from None


def local_time(ts: str | None, tz: str | None) -> str:
    """A stored UTC timestamp in the reader's zone, to the second, with the zone's abbreviation (KST)."""
    if not ts:
        return "–"
    try:
        when = datetime.fromisoformat(ts.replace("Z", "+00:00"))
        shown = when.astimezone(zone(tz))
    except ValueError:
        return ts[:19].replace("T", " ")  # an unreadable stamp (or zone) is shown as stored
    return shown.strftime("%Y-%m-%d %H:%M:%S ") + (shown.tzname() or "")


def exchange_cell(exchange, column: str, tz: str | None = None) -> str:
    """An exchange's column as a table cell: a row that used no tokens cost nothing, so it is not 'unpriced';
    its time in the reader's zone."""
    if column == "cost_usd" and exchange.cost_usd is None and not (exchange.input_tokens or exchange.output_tokens):
        return "–"
    if column == "created_at" and tz:
        return local_time(exchange.created_at, tz)
    return cell(column, getattr(exchange, column))


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
