"""Every provider x the chat handler with temperature, max tokens and system prompt all set, through the real SDKs."""
from __future__ import annotations

import json

import pytest

from chat.ui import app
from chat.ui.session import new_session
from tests.conftest import need
from tests.fake_servers import Scenario
from tests.helpers import shown

BEDROCK = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture
def routes(fake, monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", fake.url)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key-0000")
    monkeypatch.setenv("ANTHROPIC_BEDROCK_BASE_URL", fake.url)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKE1234")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "bedrock-secret-do-not-leak")
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url)
    monkeypatch.setenv("GEMINI_BASE_URL", f"{fake.url}/v1beta/openai/")
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-key-0123456789")
    monkeypatch.setenv("AZURE_AI_ENDPOINT", f"{fake.url}/models")
    monkeypatch.setenv("AZURE_AI_API_KEY", fake.azure_ai_key)
    return fake


def _chat(engine, model, temperature=0.3, max_tokens=17, system="Answer in one line."):
    *_, (chat, state, _) = app.respond(engine, "What is RAG?", new_session(), model, system, temperature, max_tokens)
    engine.store.flush()
    return chat, engine.store.exchange(state["turns"][-1]["id"])


# (model, how the request's max tokens field is named on that wire)
REMOTE = [
    ("gpt-4o-mini", "max_tokens"),  # an OpenAI-compatible server behind OPENAI_BASE_URL
    ("azure:my-gpt4o", "max_completion_tokens"),  # Azure OpenAI
    ("claude-haiku-4-5", "max_tokens"),  # Anthropic Messages
    (BEDROCK, "max_tokens"),  # Bedrock through AnthropicBedrock
    ("gemini-2.5-flash", "max_tokens"),  # Gemini's OpenAI-compatible endpoint
    ("azure-ai:Phi-4", "max_tokens"),  # Azure AI Foundry's catalogue
]


@pytest.mark.parametrize("model, max_field", REMOTE)
def test_every_control_reaches_every_remote_provider(routes, engine, model, max_field):
    if model == BEDROCK:
        need("boto3", "Bedrock through the real SDK")
    routes.scenarios[model.removeprefix("azure-ai:")] = Scenario()
    chat, row = _chat(engine, model)
    assert row["status"] == "ok", row["error"]
    assert shown(chat[1]["content"]) == "Hello, this is a fake reply."
    body = routes.requests[-1]["body"]
    assert body["temperature"] == 0.3
    assert body[max_field] == 17
    sent_system = body.get("system") or next(m["content"] for m in body["messages"] if m["role"] == "system")
    assert sent_system == "Answer in one line."
    assert json.loads(row["params_json"]) == {"max_tokens": 17, "temperature": 0.3}


def test_claude_gets_temperature_zero_for_the_judge(routes, engine):
    # anthropic 2.x dropped `temperature` from messages.create; 0 must still reach the API, not vanish as falsy
    _, row = _chat(engine, "claude-haiku-4-5", temperature=0)
    assert row["status"] == "ok", row["error"]
    assert routes.requests[-1]["body"]["temperature"] == 0


def test_a_model_that_takes_no_temperature_is_sent_none_and_the_ui_says_so(routes, engine):
    routes.scenarios["o4-mini"] = Scenario()
    _, row = _chat(engine, "o4-mini", temperature=0.9)
    assert row["status"] == "ok", row["error"]
    assert "temperature" not in routes.requests[-1]["body"]
    params = json.loads(row["params_json"])
    assert params["temperature"] is None and "o4-mini takes no temperature; 0.9 was not sent" in params["temperature_omitted"]
    _, slider = app.on_model_change(engine, new_session(), "o4-mini")
    assert slider["interactive"] is False and "takes no temperature" in slider["info"]
    _, slider = app.on_model_change(engine, new_session(), "gpt-4o-mini")
    assert slider["interactive"] is True


def test_every_control_reaches_the_embedded_model(fake, engine):
    need("llama_cpp", "the embedded model")
    first_chat, first = _chat(engine, "smollm2-135m-instruct", temperature=0, max_tokens=12, system="Reply in French.")
    _, second = _chat(engine, "smollm2-135m-instruct", temperature=0, max_tokens=12, system="Reply in French.")
    assert first["status"] == "ok", first["error"]
    assert 0 < first["output_tokens"] <= 12  # max tokens bounds llama.cpp's own count
    assert first["reply"] == second["reply"]  # temperature 0 is greedy: the same reply twice
    assert json.loads(first["messages_json"])[0] == {"role": "system", "content": "Reply in French."}
    longer = "Reply in French. Be polite and brief, and never use English words."
    _, more = _chat(engine, "smollm2-135m-instruct", temperature=0, max_tokens=12, system=longer)
    assert more["input_tokens"] > first["input_tokens"]  # the system prompt is part of what the model read
    assert json.loads(first["params_json"]) == {"max_tokens": 12, "temperature": 0}


def test_every_control_reaches_bedrock_converse(routes, engine):
    need("boto3", "Bedrock Converse through the real SDK")
    chat, row = _chat(engine, "meta.llama3-70b-instruct-v1:0")
    assert row["status"] == "ok", row["error"]
    assert shown(chat[1]["content"]) == "Hello, this is a fake reply."
    body = routes.requests[-1]["body"]
    assert body["inferenceConfig"] == {"temperature": 0.3, "maxTokens": 17}
    assert body["system"] == [{"text": "Answer in one line."}]
    assert json.loads(row["params_json"]) == {"max_tokens": 17, "temperature": 0.3}
