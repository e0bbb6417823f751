"""The meter's words for one logged exchange: one line, and the cost breakdown behind it (UI, CLI and report)."""
from __future__ import annotations

from decimal import Decimal

from chat.storage.rows import Exchange
from chat.wording import english, format_money, format_usd


def _dec(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def ms(value) -> str:
    if value is None:
        return "–"
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.2f} s"


def tokens_text(record: Exchange, word=english) -> str:
    approx = "≈" if record.usage_source == "estimate" else ""
    return (f"{word('{n} in', n=f'{approx}{record.input_tokens or 0:,}')} · "
            f"{word('{n} out', n=f'{approx}{record.output_tokens or 0:,}')}")


def meter_line(record: Exchange, word=english) -> str:
    """One compact line: tokens (≈ when estimated), cost, TTFT, total time, tokens/s, and why it ended when the
    model did not end it itself. `word` puts its words in the reader's language (English by default)."""
    tps = record.output_tokens_per_s
    parts = [
        tokens_text(record, word),
        format_money(_dec(record.cost_usd), word=word)
        + (f" {word('compute')}" if record.cost_basis == "compute" else "")
        + (" (genai-prices)" if record.cost_usd is not None and '"priced_from"' in (record.params_json or "") else ""),
        word("TTFT {t}", t=ms(record.ttft_ms)),
        word("total {t}", t=ms(record.latency_ms)),
        f"{tps:.1f} tok/s" if tps else "– tok/s",
    ]
    if record.status != "ok":
        parts.append(record.status)
    elif record.finish_reason == "max_tokens":
        parts.append(word("stopped at max tokens"))  # a cut reply reads as finished otherwise
    elif record.finish_reason == "content_filter":
        parts.append(word("stopped by the provider's content filter"))
    return " · ".join(parts)


def cost_breakdown(record: Exchange, word=english) -> str:
    """What the cost is made of: input, cache reads and writes, output (or machine time), in the reader's words."""
    if record.cost_usd is None:
        return word("unpriced: this model has no entry in pricing.yaml")
    note = f" ({record.usage_adjusted})" if record.usage_adjusted else ""
    if record.cost_basis == "compute":
        return word("compute: {t} of machine time at its hourly price in pricing.yaml = {cost}", t=ms(record.latency_ms),
                    cost=format_usd(_dec(record.cost_usd))) + note
    return word("input {i} · cached {c} · cache write {w} · output {o} = {total}",
                i=format_usd(_dec(record.uncached_input_cost)), c=format_usd(_dec(record.cached_input_cost)),
                w=format_usd(_dec(record.cache_write_cost)), o=format_usd(_dec(record.output_cost)),
                total=format_money(_dec(record.cost_usd), word=word)) + note


def ratio_text(ratio, word=english) -> str:
    """'×1.30 (learned from 120)' or '×1.40 (prior)': a model's tokens per token of our count."""
    said = word("learned from {n}", n=f"{ratio.answers:,}") if ratio.source == "learned" else word("prior")
    return f"×{ratio.mean:.2f} ({said})"
