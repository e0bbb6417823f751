"""The engine over the real openai SDK against the loopback fake server."""
from __future__ import annotations

import json
from decimal import Decimal

import tiktoken

from tests.fake_servers import Scenario
from tests.helpers import run


def test_streams_and_logs_exact_usage_and_cost(fake, engine):
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=1200, cached_tokens=1000, output_tokens=300, ttft=0.05)
    text, result = run(engine, model="gpt-4o-mini", prompt="hi", session_id="s1")
    assert text == "Hello, this is a fake reply."
    row = engine.store.exchange(result.record["id"])
    assert row["status"] == "ok" and row["reply"] == text
    assert (row["input_tokens"], row["cached_tokens"], row["output_tokens"]) == (1200, 1000, 300)
    assert row["usage_source"] == "provider"
    # 200 uncached at $0.15/M, 1000 cached at $0.075/M, 300 out at $0.60/M
    assert Decimal(row["uncached_input_cost"]) == Decimal("0.00003")
    assert Decimal(row["cached_input_cost"]) == Decimal("0.000075")
    assert Decimal(row["output_cost"]) == Decimal("0.00018")
    assert Decimal(row["cost_usd"]) == Decimal("0.000285")
    assert row["ttft_ms"] >= 50 and row["latency_ms"] >= row["ttft_ms"]
    assert row["provider"] == "openai" and row["session_id"] == "s1"
    assert json.loads(row["usage_json"])["prompt_tokens"] == 1200
    assert fake.requests[-1]["body"]["stream_options"] == {"include_usage": True}


def test_reasoning_tokens_are_inside_output_and_first_token_of_any_kind(fake, engine):
    fake.scenarios["o4-mini"] = Scenario(thinking=["Let me", " think"], reasoning_tokens=50, output_tokens=58, gap=0.02)
    text, result = run(engine, model="o4-mini", prompt="why?")
    row = result.record
    assert text == "Hello, this is a fake reply."
    assert row["output_tokens"] == 58 and row["reasoning_tokens"] == 50
    assert row["ttft_any_ms"] < row["ttft_ms"]  # reasoning arrived before reply text
    assert Decimal(row["output_cost"]) == Decimal(58) * Decimal("4.40") / 1_000_000


def test_no_usage_is_estimated_with_tiktoken_and_marked(fake, engine):
    fake.scenarios["gpt-4o"] = Scenario(usage=False)
    text, result = run(engine, model="gpt-4o", prompt="count me")
    row = engine.store.exchange(result.record["id"])
    enc = tiktoken.get_encoding("o200k_base")
    assert row["usage_source"] == "estimate"
    assert row["estimate_method"] == "tiktoken:o200k_base"
    assert row["output_tokens"] == len(enc.encode(text))
    assert row["input_tokens"] == len(enc.encode("count me")) + 4 + 3
    assert row["cost_usd"] is not None


def test_server_rejecting_stream_options_is_retried_once_without(fake, engine):
    fake.scenarios["gpt-4.1"] = Scenario(reject_stream_options=True)
    text, result = run(engine, model="gpt-4.1", prompt="hi")
    assert result.ok and text
    bodies = [r["body"] for r in fake.requests]
    assert ["stream_options" in b for b in bodies] == [True, False]
    assert result.record["usage_source"] == "estimate" and result.record["output_tokens"] > 0
    run(engine, model="gpt-4.1", prompt="again")  # remembered: no failing attempt the second time
    assert ["stream_options" in r["body"] for r in fake.requests] == [True, False, False]
    run(engine, model="gpt-4o", prompt="other model")  # other models on the endpoint still get usage
    assert fake.requests[-1]["body"].get("stream_options") == {"include_usage": True}


def test_error_event_mid_stream_keeps_partial_text(fake, engine):
    fake.scenarios["gpt-4o-mini"] = Scenario(error_after=3)
    text, result = run(engine, model="gpt-4o-mini", prompt="hi")
    row = engine.store.exchange(result.record["id"])
    assert text == "Hello, this"
    assert row["status"] == "error" and row["reply"] == "Hello, this"
    assert "crashed mid-stream" in row["error"] and "partial text is kept" in row["error"]
    assert row["usage_source"] == "estimate" and row["output_tokens"] > 0


def test_dropped_connection_is_an_error_with_partial_text(fake, engine):
    fake.scenarios["gpt-4o-mini"] = Scenario(drop_after=2)
    text, result = run(engine, model="gpt-4o-mini", prompt="hi")
    assert text == "Hello,"
    assert result.status == "error" and "connection broke" in result.error
    assert engine.store.exchange(result.record["id"])["reply"] == "Hello,"


def test_429_then_success_is_retried_by_the_sdk(fake, engine):
    fake.scenarios["gpt-4o-mini"] = Scenario(fail_first=[429])
    text, result = run(engine, model="gpt-4o-mini", prompt="hi")
    assert result.ok and text.startswith("Hello")
    assert len(fake.requests) == 2


def test_persistent_500_is_a_readable_error(fake, engine, monkeypatch):
    monkeypatch.setenv("CHAT_MAX_RETRIES", "1")
    fake.scenarios["gpt-4o-mini"] = Scenario(status=500)
    text, result = run(engine, model="gpt-4o-mini", prompt="hi")
    assert text == "" and result.status == "error"
    assert "HTTP 500" in result.error and "try again later" in result.error
    assert len(fake.requests) == 2  # one try plus one retry
    assert result.record["input_tokens"] == 0 and result.record["cost_usd"] == "0"


def test_bad_key_message_never_leaks_the_key(fake, engine):
    fake.scenarios["gpt-4o-mini"] = Scenario(status=401)
    _, result = run(engine, model="gpt-4o-mini", prompt="hi")
    row = engine.store.exchange(result.record["id"])
    assert "check OPENAI_API_KEY in .env" in row["error"]
    dump = json.dumps(row.to_row())
    assert "sk-test" not in dump and "abcdef123456" not in dump


def test_stalled_stream_ends_as_timeout(fake, engine, monkeypatch):
    monkeypatch.setenv("CHAT_TIMEOUT", "0.5")
    fake.scenarios["gpt-4o-mini"] = Scenario(stall_after=2, stall_seconds=5)
    text, result = run(engine, model="gpt-4o-mini", prompt="hi")
    assert text == "Hello,"
    assert result.status == "timeout" and "CHAT_TIMEOUT" in result.error
    assert engine.store.exchange(result.record["id"])["status"] == "timeout"


def test_stopping_the_stream_logs_an_aborted_row_with_partial_text(fake, engine):
    from chat.engine import ChatRequest

    fake.scenarios["gpt-4o-mini"] = Scenario(gap=0.05)
    gen = engine.stream(ChatRequest(model="gpt-4o-mini", prompt="hi", session_id="stop"))
    got = [next(gen).text, next(gen).text]
    gen.close()
    engine.store.flush()
    rows = engine.store.query("SELECT * FROM exchanges WHERE session_id = 'stop'")
    assert len(rows) == 1
    assert rows[0]["status"] == "aborted" and rows[0]["reply"] == "".join(got) == "Hello,"
    assert rows[0]["usage_source"] == "estimate" and rows[0]["output_tokens"] > 0


def test_unpriced_model_on_a_known_endpoint_streams_with_null_cost(fake, engine):
    text, result = run(engine, model="openai:my-finetune", prompt="hi")
    row = engine.store.exchange(result.record["id"])
    assert text and row["status"] == "ok"
    assert row["cost_usd"] is None and row["input_cost"] is None and row["output_cost"] is None
    assert fake.requests[-1]["body"]["model"] == "my-finetune"


def test_extra_named_endpoint_from_chat_endpoints(fake, engine, monkeypatch):
    monkeypatch.setenv("CHAT_ENDPOINTS", f"vllm={fake.url}/v1|VLLM_KEY")
    monkeypatch.setenv("VLLM_KEY", "vllm-secret-123")
    text, result = run(engine, model="vllm:qwen2.5-7b", prompt="hi")
    assert result.ok and result.record["provider"] == "vllm" and result.record["cost_usd"] is None
    assert fake.requests[-1]["headers"]["authorization"] == "Bearer vllm-secret-123"


def test_azure_deployment_through_the_same_adapter(fake, engine, monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", fake.url)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key-0000")
    fake.scenarios["my-gpt4o"] = Scenario(input_tokens=10, output_tokens=5)
    text, result = run(engine, model="azure:my-gpt4o", prompt="hi")
    assert result.ok and text
    assert fake.requests[-1]["path"] == "/openai/deployments/my-gpt4o/chat/completions"
    assert fake.requests[-1]["headers"]["api-key"] == "azure-key-0000"
    assert result.record["usage_source"] == "provider"


def test_history_and_system_prompt_are_sent(fake, engine):
    history = ({"role": "user", "content": "My name is Kim."}, {"role": "assistant", "content": "Hello Kim."})
    run(engine, model="gpt-4o-mini", prompt="What's my name?", system="Be brief.", history=history)
    sent = fake.requests[-1]["body"]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[0]["content"] == "Be brief." and sent[-1]["content"] == "What's my name?"


def test_openai_base_url_alone_makes_priced_models_usable(fake, engine, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    _, result = run(engine, model="gpt-4o-mini", prompt="hi")
    assert result.ok and result.record["cost_usd"] is not None


def test_unknown_model_on_the_server_says_check_the_name(fake, engine):
    fake.scenarios["ghost"] = Scenario(status=404)
    _, result = run(engine, model="openai:ghost", prompt="hi")
    assert result.error == "openai does not serve model 'ghost' (HTTP 404): check the name (python -m chat models)"
