"""Gemini, the Azure AI Foundry catalogue, priced aliases and compute-priced models, through the real SDKs on loopback."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from chat.engine import Engine
from chat.engine.pricing import load_prices
from tests.fake_servers import Scenario
from tests.helpers import run


def usd(n: int, rate: str) -> Decimal:
    return n * Decimal(rate) / 1_000_000


@pytest.fixture
def gemini(fake, monkeypatch):
    monkeypatch.setenv("GEMINI_BASE_URL", f"{fake.url}/v1beta/openai/")
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-key-0123456789")
    return fake


def test_gemini_cached_tokens_are_priced_as_cache_reads(gemini, engine):
    gemini.scenarios["gemini-2.5-flash"] = Scenario(input_tokens=10_000, cached_tokens=8_000, output_tokens=500)
    _, result = run(engine, model="gemini-2.5-flash", prompt="hi")
    row = engine.store.exchange(result.record["id"])
    assert row["status"] == "ok", row["error"]
    assert gemini.requests[-1]["path"] == "/v1beta/openai/chat/completions"
    assert gemini.requests[-1]["headers"]["authorization"] == "Bearer gemini-key-0123456789"
    assert (row["input_tokens"], row["cached_tokens"], row["usage_adjusted"]) == (10_000, 8_000, None)
    assert Decimal(row["cost_usd"]) == usd(2_000, "0.30") + usd(8_000, "0.03") + usd(500, "2.50")


@pytest.mark.parametrize("thoughts_in_completion", [True, False])
def test_thinking_tokens_are_billed_whichever_way_the_gateway_counts_them(gemini, engine, thoughts_in_completion):
    # 300 reply tokens and 1,200 thought tokens; Gemini's endpoint leaves the thoughts out of completion_tokens
    gemini.scenarios["gemini-2.5-pro"] = Scenario(input_tokens=1_000, reasoning_tokens=1_200, output_tokens=1_500,
                                                  thinking=["Let me think."],
                                                  thoughts_in_completion=thoughts_in_completion)
    _, result = run(engine, model="gemini-2.5-pro", prompt="hi")
    row = engine.store.exchange(result.record["id"])
    assert row["status"] == "ok", row["error"]
    assert (row["output_tokens"], row["reasoning_tokens"]) == (1_500, 1_200)
    assert Decimal(row["cost_usd"]) == usd(1_000, "1.25") + usd(1_500, "10.00")
    if thoughts_in_completion:
        assert row["usage_adjusted"] is None
    else:
        assert "1200 reasoning tokens folded into output" in row["usage_adjusted"]
        assert json.loads(row["usage_json"])["completion_tokens"] == 300  # the provider's own figures are kept


def test_gemini_long_prompts_are_billed_at_the_higher_tier(gemini, engine):
    gemini.scenarios["gemini-2.5-pro"] = Scenario(input_tokens=250_000, output_tokens=1_000)
    _, result = run(engine, model="gemini-2.5-pro", prompt="hi")
    assert result.cost.total == usd(250_000, "2.50") + usd(1_000, "15.00")


@pytest.fixture
def foundry(fake, monkeypatch):
    monkeypatch.setenv("AZURE_AI_ENDPOINT", f"{fake.url}/models")
    monkeypatch.setenv("AZURE_AI_API_KEY", fake.azure_ai_key)
    return fake


def test_azure_ai_foundry_sends_its_path_key_header_and_api_version(foundry, engine):
    foundry.scenarios["Phi-4"] = Scenario(input_tokens=400, output_tokens=100)
    text, result = run(engine, model="azure-ai:Phi-4", prompt="hi", max_tokens=50)
    assert result.ok, result.error
    req = foundry.requests[-1]
    assert req["path"] == "/models/chat/completions"
    assert req["headers"]["api-key"] == foundry.azure_ai_key
    assert "api-version=2024-05-01-preview" in req["query"]
    assert req["body"]["model"] == "Phi-4" and req["body"]["max_tokens"] == 50
    assert result.cost.total == usd(400, "0.125") + usd(100, "0.50")
    assert result.record["provider"] == "azure-ai"


def test_azure_ai_wrong_key_is_an_auth_error_naming_the_variable(foundry, engine, monkeypatch):
    monkeypatch.setenv("AZURE_AI_API_KEY", "wrong-key-000000000")
    _, result = run(engine, model="azure-ai:Llama-3.3-70B-Instruct", prompt="hi")
    assert result.status == "error" and "AZURE_AI_API_KEY" in result.error and "wrong-key" not in result.error


def test_azure_ai_unconfigured_says_what_to_set(fake, engine):
    _, result = run(engine, model="azure-ai:Phi-4", prompt="hi")
    assert "set AZURE_AI_ENDPOINT and AZURE_AI_API_KEY" in result.error and not fake.requests


@pytest.fixture
def priced(tmp_path, store):
    def make(extra: str) -> Engine:
        base = (tmp_path / "base.yaml")
        base.write_text(load_prices().path.read_text() + extra)
        return Engine(store, load_prices(base))
    return make


def test_an_alias_prices_a_deployment_name_as_its_model(fake, priced, monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", fake.url)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key-0000")
    engine = priced('aliases:\n  "azure:my-gpt4o-prod": gpt-4o\n  "ollama:llama3:70b": meta.llama3-70b-instruct-v1:0\n')
    fake.scenarios["my-gpt4o-prod"] = Scenario(input_tokens=2_000, cached_tokens=1_000, output_tokens=100)
    _, result = run(engine, model="azure:my-gpt4o-prod", prompt="hi")
    assert result.ok, result.error
    assert fake.requests[-1]["path"] == "/openai/deployments/my-gpt4o-prod/chat/completions"
    assert result.cost.total == usd(1_000, "2.50") + usd(1_000, "1.25") + usd(100, "10.00")
    assert json.loads(result.record["params_json"])["priced_as"] == "gpt-4o"
    monkeypatch.setenv("OLLAMA_BASE_URL", f"{fake.url}/v1")
    fake.scenarios["llama3:70b"] = Scenario(input_tokens=1_000, output_tokens=1_000)
    _, result = run(engine, model="ollama:llama3:70b", prompt="hi")
    assert result.ok, result.error
    assert result.cost.total == usd(1_000, "2.65") + usd(1_000, "3.50")


@pytest.mark.parametrize("body, expected", [
    ('aliases:\n  "azure:x": gpt-9\n', "alias 'azure:x': must name a model listed under 'models:'"),
    ('aliases:\n  gpt-4o: gpt-4o-mini\n', "alias 'gpt-4o': is already a model"),
    ('endpoints:\n  vllm: {usd_per_hour: -1}\n', "field 'usd_per_hour' must be from 0 to 10,000"),
    ('endpoints:\n  vllm: {usd_per_hour: 2, concurrent_requests: 0}\n', "field 'concurrent_requests' must be a whole"),
    ('endpoints:\n  vllm: {concurrent_requests: 2}\n', "endpoint 'vllm': expected usd_per_hour"),
    ('prices: {}\n', "unknown top-level key(s) prices"),
])
def test_bad_aliases_and_compute_prices_name_what_is_wrong(tmp_path, body, expected):
    from chat.engine.pricing import PricingError

    path = tmp_path / "pricing.yaml"
    path.write_text("models:\n  gpt-4o: {provider: openai, input: 2.5, output: 10}\n"
                    "  gpt-4o-mini: {provider: openai, input: 0.15, output: 0.6}\n" + body)
    with pytest.raises(PricingError, match=None) as err:
        load_prices(path)
    assert expected in str(err.value) and str(path) in str(err.value)


def test_both_token_and_compute_prices_is_refused(tmp_path):
    from chat.engine.pricing import PricingError

    path = tmp_path / "pricing.yaml"
    path.write_text("models:\n  ollama:x: {provider: ollama, input: 1, output: 1, usd_per_hour: 2}\n")
    with pytest.raises(PricingError, match="either token prices .* or a compute price"):
        load_prices(path)


def test_a_compute_priced_model_costs_its_wall_time(fake, priced, monkeypatch):
    monkeypatch.setenv("OLLAMA_BASE_URL", f"{fake.url}/v1")
    path_engine = priced("")  # the base file, to append inside models:
    text = path_engine.prices.path.read_text().replace(
        "\nmodels:\n", '\nmodels:\n  "ollama:llama3.1:8b": {provider: ollama, usd_per_hour: 1.20, concurrent_requests: 4}\n', 1)
    path_engine.prices.path.write_text(text)
    engine = Engine(path_engine.store, load_prices(path_engine.prices.path))
    fake.scenarios["llama3.1:8b"] = Scenario(ttft=0.05, gap=0.01, input_tokens=500, output_tokens=80)
    _, result = run(engine, model="ollama:llama3.1:8b", prompt="hi")
    row = engine.store.exchange(result.record["id"])
    assert row["status"] == "ok", row["error"]
    hand = Decimal(repr(row["latency_ms"] / 1000)) * Decimal("1.20") / 3600 / 4
    assert Decimal(row["cost_usd"]) == Decimal(row["compute_cost"]) == hand > 0
    assert row["cost_basis"] == "compute" and row["input_cost"] is None and row["output_cost"] is None
    assert (row["input_tokens"], row["output_tokens"]) == (500, 80)  # tokens still metered, not billed


def test_an_endpoint_compute_price_covers_its_models_and_counts_against_caps(fake, priced, monkeypatch, store):
    from chat.engine.budget import Budget

    monkeypatch.setenv("CHAT_ENDPOINTS", f"vllm={fake.url}/v1")
    base = priced('endpoints:\n  vllm: {usd_per_hour: 36, concurrent_requests: 1}\n')
    engine = Engine(store, base.prices, Budget(session_cap=Decimal("5")))
    fake.scenarios["my-model"] = Scenario(gap=0.01)
    # the worst case is CHAT_MAX_SECONDS (600 s) plus one stall (60 s) of a $36/hour machine: $6.60, over the cap
    _, refused = run(engine, model="vllm:my-model", prompt="hi", session_id="s1")
    assert refused.status == "error" and "$6.60" in refused.error and "No call was made" in refused.error
    assert not fake.requests
    monkeypatch.setenv("CHAT_MAX_SECONDS", "60")  # now at most 120 s: $1.20
    _, result = run(engine, model="vllm:my-model", prompt="hi", session_id="s1")
    assert result.ok, result.error
    assert result.record["cost_basis"] == "compute" and result.cost.total > 0


def test_the_embedded_model_stays_free_unless_priced(engine):
    model = engine.resolve("smollm2-135m-instruct")
    assert model.price.basis == "tokens" and model.price.rates.input == 0
