"""Bedrock Converse through real boto3: SigV4-signed requests, AWS event-stream replies, on loopback."""
from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest

from tests.conftest import ROOT, need
from tests.fake_servers import Scenario
from tests.helpers import run

need("boto3", "Bedrock Converse through the real SDK")
LLAMA = "meta.llama3-70b-instruct-v1:0"


@pytest.fixture
def aws(fake, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url)  # boto3's own variable for a service's address
    monkeypatch.setenv("ANTHROPIC_BEDROCK_BASE_URL", fake.url)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKE1234")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "bedrock-secret-do-not-leak")
    monkeypatch.setenv("CHAT_MAX_RETRIES", "0")
    return fake


def usd(n_tokens: int, rate: str) -> Decimal:
    return n_tokens * Decimal(rate) / 1_000_000


def test_llama3_streams_signed_with_usage_latency_and_cost(aws, engine):
    aws.scenarios[LLAMA] = Scenario(input_tokens=1200, output_tokens=300, latency_ms=812)
    text, result = run(engine, model=LLAMA, prompt="환불 규정이 어떻게 되나요?", system="Answer in Korean.",
                       temperature=0.2, max_tokens=256)
    row = engine.store.exchange(result.record["id"])
    assert row["status"] == "ok", row["error"]
    assert text == "Hello, this is a fake reply." and row["reply"] == text
    assert (row["provider"], row["input_tokens"], row["output_tokens"], row["usage_source"]) == ("bedrock", 1200, 300, "provider")
    assert Decimal(row["cost_usd"]) == usd(1200, "2.65") + usd(300, "3.50") and row["cost_basis"] == "tokens"
    assert row["provider_latency_ms"] == 812 and row["latency_ms"] > 0
    req = aws.requests[-1]
    assert req["path"] == "/model/meta.llama3-70b-instruct-v1%3A0/converse-stream"
    assert req["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIAFAKEFAKEFAKE1234/")
    assert req["body"]["system"] == [{"text": "Answer in Korean."}]
    assert req["body"]["messages"] == [{"role": "user", "content": [{"text": "환불 규정이 어떻게 되나요?"}]}]
    assert req["body"]["inferenceConfig"] == {"maxTokens": 256, "temperature": 0.2}
    assert "bedrock-secret" not in json.dumps(row.to_row())


def test_cross_region_profile_is_priced_as_its_model(aws, engine):
    aws.default = Scenario(input_tokens=1000, output_tokens=1000)
    _, result = run(engine, model="bedrock:us.meta.llama3-1-70b-instruct-v1:0", prompt="hi")
    assert result.ok, result.error
    assert result.cost.total == usd(1000, "0.72") * 2
    assert aws.requests[-1]["path"] == "/model/us.meta.llama3-1-70b-instruct-v1%3A0/converse-stream"


def test_history_alternates_and_a_model_without_system_prompts_gets_it_in_the_first_turn(aws, engine):
    history = ({"role": "user", "content": "first"}, {"role": "assistant", "content": "one"})
    _, result = run(engine, model="bedrock:mistral.mistral-7b-instruct-v0:2", prompt="second", system="Be brief.",
                    history=history)
    assert result.ok, result.error
    body = aws.requests[-1]["body"]
    assert "system" not in body
    assert body["messages"][0] == {"role": "user", "content": [{"text": "Be brief."}, {"text": "first"}]}
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]


def test_a_wrong_secret_fails_the_signature_check_and_says_what_to_fix(aws, engine, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-right-secret")
    text, result = run(engine, model=LLAMA, prompt="hi")
    assert text == "" and result.status == "error"
    assert "InvalidSignatureException" in result.error and "AWS_ACCESS_KEY_ID" in result.error
    assert result.cost.total == 0 and result.usage.input_tokens == 0  # refused: nothing billed
    assert "not-the-right-secret" not in result.error


def test_converse_cache_reads_and_one_hour_writes_are_priced_exactly(aws, store, tmp_path):
    from chat.engine import Engine
    from chat.engine.pricing import load_prices

    pricing = tmp_path / "pricing.yaml"
    pricing.write_text("models:\n  anthropic.claude-haiku-4-5-20251001-v1:0: {provider: bedrock, input: 1, output: 5, "
                       "cached_input: 0.1, cache_write: 1.25, cache_write_1h: 2}\n")
    engine = Engine(store, load_prices(pricing))
    model = "anthropic.claude-haiku-4-5-20251001-v1:0"
    aws.scenarios[model] = Scenario(input_tokens=7000, cached_tokens=4000, cache_write_tokens=2000,
                                    cache_write_1h_tokens=500, output_tokens=100)
    _, result = run(engine, model=f"bedrock-converse:{model}", prompt="hi")
    row = store.exchange(result.record["id"])
    assert row["status"] == "ok", row["error"]
    # inputTokens (1000) leaves out cache reads and writes; ours counts all input
    assert (row["input_tokens"], row["cached_tokens"], row["cache_write_tokens"], row["cache_write_1h_tokens"]) == \
        (7000, 4000, 2000, 500)
    hand = usd(1000, "1") + usd(4000, "0.1") + usd(1500, "1.25") + usd(500, "2") + usd(100, "5")
    assert Decimal(row["cost_usd"]) == hand == Decimal("0.004775")
    assert aws.requests[-1]["path"].endswith("/converse-stream")  # Claude, but through Converse


def test_anthropic_one_hour_cache_writes_are_priced_at_their_own_rate(fake, engine):
    fake.scenarios["claude-haiku-4-5"] = Scenario(input_tokens=7000, cached_tokens=4000, cache_write_tokens=2000,
                                                  cache_write_1h_tokens=500, output_tokens=100)
    _, result = run(engine, model="claude-haiku-4-5", prompt="hi")
    row = engine.store.exchange(result.record["id"])
    assert row["cache_write_1h_tokens"] == 500
    assert Decimal(row["cost_usd"]) == Decimal("0.004775")  # 1000×1 + 4000×0.1 + 1500×1.25 + 500×2 + 100×5, per 1M


def test_stream_cut_before_metadata_keeps_the_whole_reply_and_estimates_usage(aws, engine):
    aws.scenarios[LLAMA] = Scenario(cut_before_metadata=True)
    text, result = run(engine, model=LLAMA, prompt="hi")
    row = engine.store.exchange(result.record["id"])
    assert text == "Hello, this is a fake reply." and row["status"] == "ok"
    assert row["usage_source"] == "estimate" and row["output_tokens"] > 0 and row["provider_latency_ms"] is None
    assert Decimal(row["cost_usd"]) > 0


def test_connection_cut_mid_reply_keeps_partial_text(aws, engine):
    aws.scenarios[LLAMA] = Scenario(drop_after=3)
    text, result = run(engine, model=LLAMA, prompt="hi")
    assert text == "Hello, this" and result.status == "error"
    assert "partial text is kept" in result.error
    assert result.record["usage_source"] == "estimate" and result.cost.total > 0


@pytest.mark.parametrize("exception, expected", [
    ("throttlingException", "wait and retry"),
    ("modelStreamErrorException", "try again later"),
    ("validationException", "refused the request"),
    ("serviceUnavailableException", "try again later"),
])
def test_exception_frames_mid_stream(aws, engine, exception, expected):
    aws.scenarios[LLAMA] = Scenario(error_after=2, aws_exception=exception, error_message="upstream said no")
    text, result = run(engine, model=LLAMA, prompt="hi")
    assert text == "Hello," and result.status == "error"
    assert expected in result.error and "upstream said no" in result.error and "partial text is kept" in result.error
    assert "Traceback" not in result.error


@pytest.mark.parametrize("status, exception, expected", [
    (429, "ThrottlingException", "wait and retry"),
    (400, "ValidationException", "refused the request"),
    (503, "ServiceUnavailableException", "try again later"),
    (403, "AccessDeniedException", "Model access"),
    (404, "ResourceNotFoundException", "check the model id"),
])
def test_refusals_before_the_stream_bill_nothing(aws, engine, status, exception, expected):
    aws.scenarios[LLAMA] = Scenario(status=status, aws_exception=exception, error_message="no thanks")
    text, result = run(engine, model=LLAMA, prompt="hi")
    assert text == "" and result.status == "error"
    assert expected in result.error and f"HTTP {status}" in result.error
    assert result.cost.total == 0 and result.usage.output_tokens == 0


def test_throttling_is_retried_by_the_sdk(aws, engine, monkeypatch):
    monkeypatch.setenv("CHAT_MAX_RETRIES", "2")
    aws.scenarios[LLAMA] = Scenario(fail_first=[429], aws_exception="ThrottlingException")
    _, result = run(engine, model=LLAMA, prompt="hi")
    assert result.ok, result.error
    assert len([r for r in aws.requests if r["model"] == LLAMA]) == 2


def test_unconfigured_bedrock_says_why_and_sends_nothing(fake, engine, monkeypatch):
    _, result = run(engine, model=LLAMA, prompt="hi")
    assert result.error == f"{LLAMA} is unavailable: set AWS_REGION in .env (or region in ~/.aws/config)"
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    _, result = run(engine, model=LLAMA, prompt="hi")
    assert "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in result.error and not fake.requests


def test_boto3_is_imported_only_when_a_bedrock_model_is_used():
    code = ("import sys\nfrom chat.engine.models import listed\nfrom chat.engine.pricing import load_prices\n"
            "[m.status() for m in listed(load_prices())]\nprint('boto3' in sys.modules, 'botocore' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False False", out.stderr
