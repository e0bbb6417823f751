"""Prices for models pricing.yaml does not list, from genai-prices' bundled data: offline, never fetched.

pricing.yaml always wins; this is asked only when it has no price at all for a model. A price found here is a
token price like any other (caps treat the model as priced), marked `priced_from = "genai-prices"` so the meter,
`models` and each row's params_json say where it came from.
"""
from __future__ import annotations

import functools
import warnings
from decimal import Decimal

from chat.engine.pricing import Price, Rates

SOURCE = "genai-prices"
# our endpoint -> genai-prices' provider id; a custom endpoint (CHAT_ENDPOINTS) is matched by its name when
# genai-prices knows that name (groq, deepseek, x-ai, mistral, …), else by its address
PROVIDERS = {"openai": "openai", "azure": "azure", "anthropic": "anthropic", "bedrock": "aws",
             "bedrock-converse": "aws", "gemini": "google", "azure-ai": "azure", "openrouter": "openrouter",
             "xai": "x-ai", "grok": "x-ai"}
PROBE = 100_000  # tokens: under every long-context threshold, so the figures are the base tier's
FIELDS = {"input": {"input_tokens": PROBE}, "output": {"output_tokens": PROBE},
          "cached_input": {"input_tokens": PROBE, "cache_read_tokens": PROBE},
          "cache_write": {"input_tokens": PROBE, "cache_write_tokens": PROBE}}


def _provider(endpoint) -> dict | None:
    """How genai-prices is told who serves the model: its provider id, or the endpoint's address."""
    from genai_prices.data_snapshot import get_snapshot

    known = {p.id for p in get_snapshot().providers}
    name = PROVIDERS.get(endpoint.name, endpoint.name)
    if name in known:
        return {"provider_id": name}
    url = endpoint.resolved_base_url()
    return {"provider_api_url": url} if url else None


@functools.lru_cache(maxsize=512)
def _rates(provider: tuple, model: str) -> tuple[Rates, str] | None:
    try:
        import genai_prices
    except ImportError:
        return None
    figures = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it warns that bundled data ages; the source and its version are shown
        for field, usage in FIELDS.items():
            try:
                result = genai_prices.calc_price(genai_prices.Usage(**usage), model, **dict(provider))
            except Exception:  # LookupError for an unknown model; any refusal means "not covered"
                return None if field == "input" else (_build(figures), genai_prices_version())
            # each probe is all of one kind (all cached, all written): its whole cost is that field's
            figures[field] = Decimal(str(result.total_price)) * (1_000_000 // PROBE)
    return _build(figures), genai_prices_version()


def _build(figures: dict) -> Rates:
    return Rates(figures["input"], figures.get("output", Decimal(0)), figures.get("cached_input"),
                 figures.get("cache_write"))


def genai_prices_version() -> str:
    from importlib.metadata import version

    return version("genai-prices")


def price_for(name: str, endpoint, api_model: str) -> Price | None:
    """genai-prices' token price for a model this endpoint serves, or None (unknown there, self-hosted, or the
    package absent)."""
    if endpoint.facts.local or endpoint.name == "ollama":
        return None  # a model on one's own machine has no vendor price; price its machine in pricing.yaml
    try:
        provider = _provider(endpoint)
    except ImportError:
        return None
    if provider is None:
        return None
    found = _rates(tuple(sorted(provider.items())), api_model)
    if found is None:
        return None
    rates, version = found
    return Price(model=name, provider=endpoint.name, rates=rates, source=f"genai-prices {version} bundled data",
                 priced_from=SOURCE)
