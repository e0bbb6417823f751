"""Bedrock through the real AnthropicBedrock client: SigV4-signed requests, AWS event-stream responses, on loopback."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.conftest import need
from tests.fake_servers import Scenario
from tests.helpers import run

need("boto3", "Bedrock through the real SDK")
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture
def bedrock(fake, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_BEDROCK_BASE_URL", fake.url)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKE1234")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "bedrock-secret-do-not-leak")
    return fake


def test_bedrock_streams_with_usage_and_cost(bedrock, engine):
    bedrock.scenarios[MODEL] = Scenario(input_tokens=1000, output_tokens=200, gap=0.01)
    text, result = run(engine, model=MODEL, prompt="hi", system="Be brief.")
    row = engine.store.exchange(result.record["id"])
    assert row["status"] == "ok", row["error"]
    assert text == "Hello, this is a fake reply." and row["provider"] == "bedrock"
    assert (row["input_tokens"], row["output_tokens"], row["usage_source"]) == (1000, 200, "provider")
    assert Decimal(row["cost_usd"]) == (1000 * Decimal("0.25") + 200 * Decimal("1.25")) / 1_000_000
    req = bedrock.requests[-1]
    assert req["path"] == f"/model/{MODEL}/invoke-with-response-stream"
    assert req["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIAFAKEFAKEFAKE1234/")
    assert req["body"]["system"] == "Be brief." and "anthropic_version" in req["body"]
    assert "bedrock-secret" not in json.dumps(row.to_row())


def test_bedrock_exception_frame_mid_stream_keeps_partial_text(bedrock, engine):
    bedrock.scenarios[MODEL] = Scenario(error_after=3)
    text, result = run(engine, model=MODEL, prompt="hi")
    assert text == "Hello, this" and result.status == "error"
    assert "partial text is kept" in result.error and "AKIA" not in result.error


def test_bedrock_without_region_is_unavailable_with_the_reason(fake, engine, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKE1234")
    _, result = run(engine, model=MODEL, prompt="hi")
    assert result.error == f"{MODEL} is unavailable: set AWS_REGION in .env (or region in ~/.aws/config)" and not fake.requests
