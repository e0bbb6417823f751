"""Models pricing.yaml does not list are priced from genai-prices' bundled data, offline; pricing.yaml wins."""
from __future__ import annotations

import json
import warnings
from decimal import Decimal

import genai_prices

from chat.engine import ChatRequest, Engine, Result
from chat.engine.budget import Budget
from chat.engine.models import resolve
from chat.engine.pricing import load_prices
from chat.evaluation.meter_text import meter_line
from chat.ui.display import price_text
from tests.fake_servers import Scenario


def _theirs(model: str, provider: str, **usage) -> Decimal:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Decimal(str(genai_prices.calc_price(genai_prices.Usage(**usage), model, provider_id=provider).total_price))


def test_an_openrouter_model_pricing_yaml_lacks_takes_genai_prices_figures():
    model = resolve("openrouter:meta-llama/llama-3.3-70b-instruct", load_prices())
    assert model.price is not None and model.price.priced_from == "genai-prices"
    per_m = lambda **u: _theirs("meta-llama/llama-3.3-70b-instruct", "openrouter", **u) * 10  # noqa: E731
    assert model.price.rates.input == per_m(input_tokens=100_000)
    assert model.price.rates.output == per_m(output_tokens=100_000)
    assert price_text(model.price).endswith("per 1M (genai-prices)")
    assert model.price.source.startswith("genai-prices 0.2")


def test_pricing_yaml_always_wins_and_unknown_or_self_hosted_models_stay_unpriced():
    prices = load_prices()
    assert resolve("gpt-4o-mini", prices).price.priced_from is None  # listed in pricing.yaml
    assert resolve("openai:some-new-model", prices).price is None  # genai-prices does not know it either
    assert resolve("ollama:llama3.2", prices).price is None  # one's own machine: no vendor price


def test_a_custom_endpoint_named_for_its_vendor_is_priced_metered_and_capped_as_priced(fake, store, monkeypatch):
    monkeypatch.setenv("CHAT_ENDPOINTS", f"groq={fake.url}/v1|GROQ_API_KEY")
    monkeypatch.setenv("GROQ_API_KEY", "gsk-test-0123456789abcdef")
    fake.scenarios["llama-3.3-70b-versatile"] = Scenario(input_tokens=1000, output_tokens=200)
    # a daily cap: an unpriced model could not be bounded and is refused; this one is priced, so it runs
    engine = Engine(store, budget=Budget(daily_cap=Decimal("1")))
    result = None
    for item in engine.stream(ChatRequest(model="groq:llama-3.3-70b-versatile", prompt="hi", session_id="s")):
        if isinstance(item, Result):
            result = item
    row = result.record
    assert row.status == "ok", row.error
    expected = _theirs("llama-3.3-70b-versatile", "groq", input_tokens=100_000) * 10 * 1000 / 1_000_000 + \
        _theirs("llama-3.3-70b-versatile", "groq", output_tokens=100_000) * 10 * 200 / 1_000_000
    assert Decimal(row.cost_usd) == expected
    assert json.loads(row.params_json)["priced_from"] == "genai-prices"
    assert "(genai-prices)" in meter_line(row)
    refused = None
    for item in engine.stream(ChatRequest(model="openai:some-new-model", prompt="hi", session_id="s")):
        if isinstance(item, Result):
            refused = item
    from chat.failures import CapUnenforceable, Refused

    assert isinstance(refused.failure, Refused) and isinstance(refused.failure.reason, CapUnenforceable)
    assert "the spend cap cannot be enforced" in refused.record.error
