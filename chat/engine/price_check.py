"""pricing.yaml against genai-prices' bundled data: every figure that differs, for whoever keeps prices fresh."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from decimal import Decimal

from chat.engine.pricing import Price, PriceTable, cost_of
from chat.engine.usage import Usage

# our provider family -> genai-prices' provider id
FAMILIES = {"openai": "openai", "azure": "openai", "anthropic": "anthropic", "bedrock": "aws", "gemini": "google",
            "azure-ai": "azure"}
M = 1_000_000
PROBE = 100_000  # tokens per probe: under every long-context threshold; costs are scaled to USD per 1M


@dataclass(frozen=True)
class Difference:
    model: str
    field: str
    ours: Decimal
    theirs: Decimal


def probes(price: Price) -> dict[str, tuple[Usage, int]]:
    """One usage per priced field, each with the factor that turns its cost into that field's USD per 1M tokens."""
    n = PROBE
    out = {
        "input": (Usage(input_tokens=n), M // n),
        "output": (Usage(output_tokens=n), M // n),
        "cached_input": (Usage(input_tokens=n, cached_tokens=n), M // n),
        "cache_write": (Usage(input_tokens=n, cache_write_tokens=n), M // n),
        "cache_write_1h": (Usage(input_tokens=n, cache_write_tokens=n, cache_write_1h_tokens=n), M // n),
    }
    if price.long_context_threshold:
        # a prompt just past the threshold, all of it billed at the higher tier
        t = price.long_context_threshold + 1
        out["long_context.input"] = (Usage(input_tokens=t), 1)
        out["long_context.cached_input"] = (Usage(input_tokens=t, cached_tokens=t), 1)
        out["long_context.output"] = (Usage(input_tokens=t, output_tokens=n), 1)
    return out


def genai_cost(usage: Usage, price: Price) -> Decimal | None:
    """genai-prices' cost for this usage, or None when it does not know the model."""
    import genai_prices

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it warns that its bundled data may be stale; that is the point here
        try:
            result = genai_prices.calc_price(
                genai_prices.Usage(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                                   cache_read_tokens=usage.cached_tokens, cache_write_tokens=usage.cache_write_tokens,
                                   cache_write_1h_tokens=usage.cache_write_1h_tokens or None),
                _ref(price), provider_id=FAMILIES[price.provider])
        except LookupError:
            return None
        except Exception as exc:  # genai-prices raises its own types for unknown models; any refusal means "not covered"
            if "not found" in str(exc).lower() or "unable to find" in str(exc).lower():
                return None
            raise
    return Decimal(str(result.total_price))


def _ref(price: Price) -> str:
    name = price.priced_as or price.model
    prefix, sep, rest = name.partition(":")
    return rest if sep and prefix == price.provider else name  # 'azure-ai:Phi-4' is genai-prices' 'Phi-4'


def covered(price: Price) -> bool:
    return price.basis == "tokens" and price.provider in FAMILIES and genai_cost(Usage(input_tokens=M), price) is not None


def check(table: PriceTable) -> tuple[list[Difference], list[str]]:
    """(figures that differ, models genai-prices does not cover).

    A plain probe's figure is that field's USD per 1M tokens; a long_context one is the USD of one prompt just past
    the threshold (its output probe adding 100K output tokens).
    """
    differences, uncovered = [], []
    for price in table:
        if not covered(price):
            uncovered.append(price.model)
            continue
        for field, (usage, scale) in probes(price).items():
            ours, theirs = cost_of(usage, price).total * scale, genai_cost(usage, price)
            if theirs is not None and abs(ours - theirs * scale) > Decimal("0.000001"):
                differences.append(Difference(price.model, field, ours, theirs * scale))
    return differences, uncovered
