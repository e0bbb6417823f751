"""The engine over the real anthropic SDK against the loopback fake server."""
from __future__ import annotations

import json
from decimal import Decimal

from tests.fake_servers import Scenario
from tests.helpers import run


def test_usage_normalised_and_cache_priced(fake, engine):
    # 2000 input in all: 500 uncached, 1200 cache reads, 300 cache writes
    fake.scenarios["claude-sonnet-4-5"] = Scenario(input_tokens=2000, cached_tokens=1200, cache_write_tokens=300, output_tokens=400)
    text, result = run(engine, model="claude-sonnet-4-5", prompt="hi", system="Be kind.")
    row = engine.store.exchange(result.record["id"])
    assert text == "Hello, this is a fake reply."
    assert (row["input_tokens"], row["cached_tokens"], row["cache_write_tokens"], row["output_tokens"]) == (2000, 1200, 300, 400)
    assert row["usage_source"] == "provider"
    # $3 / $0.30 / $3.75 / $15 per 1M
    assert Decimal(row["uncached_input_cost"]) == Decimal("0.0015")
    assert Decimal(row["cached_input_cost"]) == Decimal("0.00036")
    assert Decimal(row["cache_write_cost"]) == Decimal("0.001125")
    assert Decimal(row["output_cost"]) == Decimal("0.006")
    assert Decimal(row["cost_usd"]) == Decimal("0.008985")
    raw = json.loads(row["usage_json"])
    assert raw["output_tokens"] == 400  # message_delta's cumulative count replaced message_start's 1
    body = fake.requests[-1]["body"]
    assert body["system"] == "Be kind." and [m["role"] for m in body["messages"]] == ["user"]


def test_long_context_tier_applies_to_the_whole_request(fake, engine):
    fake.scenarios["claude-sonnet-4-5"] = Scenario(input_tokens=250_000, output_tokens=1000)
    _, result = run(engine, model="claude-sonnet-4-5", prompt="long")
    assert Decimal(result.record["input_cost"]) == Decimal("1.5")  # 250k at $6/M
    assert Decimal(result.record["output_cost"]) == Decimal("0.0225")  # 1k at $22.50/M


def test_thinking_counts_for_first_token_of_any_kind(fake, engine):
    fake.scenarios["claude-3-7-sonnet-20250219"] = Scenario(thinking=["Hmm", "..."], gap=0.02)
    text, result = run(engine, model="claude-3-7-sonnet-20250219", prompt="hi")
    assert text == "Hello, this is a fake reply."
    assert result.record["ttft_any_ms"] < result.record["ttft_ms"]


def test_error_event_mid_stream(fake, engine):
    fake.scenarios["claude-haiku-4-5"] = Scenario(error_after=2, input_tokens=50)
    text, result = run(engine, model="claude-haiku-4-5", prompt="hi")
    row = result.record
    assert text == "Hello," and row["status"] == "error"
    assert "Overloaded" in row["error"] and "partial text is kept" in row["error"]
    # input came exactly from message_start, output is estimated: the row says estimate
    assert row["input_tokens"] == 50 and row["output_tokens"] >= 1 and row["usage_source"] == "estimate"


def test_missing_key_lists_model_unavailable(fake, engine, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    text, result = run(engine, model="claude-haiku-4-5", prompt="hi")
    assert text == "" and result.status == "error"
    assert result.error == "claude-haiku-4-5 is unavailable: set ANTHROPIC_API_KEY in .env"
    assert engine.store.exchange(result.record["id"])["status"] == "error"
    assert not fake.requests


def test_bad_key_is_explained_without_the_key(fake, engine):
    fake.scenarios["claude-haiku-4-5"] = Scenario(status=401)
    _, result = run(engine, model="claude-haiku-4-5", prompt="hi")
    assert "check ANTHROPIC_API_KEY in .env" in result.error
    assert "sk-" not in json.dumps(engine.store.exchange(result.record["id"]).to_row())
