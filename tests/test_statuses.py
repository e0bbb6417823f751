"""Statuses that tell the truth: cut-off streams, SSE to the spec, connect failures billed nothing, an overall deadline."""
from __future__ import annotations

import threading

from chat.engine import ChatRequest, Chunk
from tests.fake_servers import BlackHole, Scenario
from tests.helpers import run


def test_openai_stream_that_ends_cleanly_without_its_end_marker_is_cut_off(fake, engine):
    # no finish_reason, no usage, no [DONE]: the body just ends (a proxy timing out politely)
    fake.scenarios["gpt-4o-mini"] = Scenario(truncate_after=3)
    text, result = run(engine, model="gpt-4o-mini", prompt="hi")
    assert text == "Hello, this" and result.status == "error"
    assert "the reply was cut off" in result.error
    assert result.record["usage_source"] == "estimate" and result.record["output_tokens"] > 0


def test_anthropic_stream_without_message_stop_is_cut_off(fake, engine):
    fake.scenarios["claude-haiku-4-5"] = Scenario(truncate_after=2, input_tokens=40)
    text, result = run(engine, model="claude-haiku-4-5", prompt="hi")
    assert text == "Hello," and result.status == "error" and "cut off" in result.error
    assert result.record["input_tokens"] == 40  # message_start's exact input is kept


def test_sse_parsed_to_the_spec(fake, engine):
    # each event's JSON spread over several data: lines, comments, a field with no space, empty-data events
    fake.scenarios["gpt-4o-mini"] = Scenario(sse_style="spec", input_tokens=12, output_tokens=8)
    text, result = run(engine, model="gpt-4o-mini", prompt="hi")
    assert result.status == "ok", result.error
    assert text == "Hello, this is a fake reply." and result.record["input_tokens"] == 12


def test_sse_error_event_is_an_error_with_the_servers_words(fake, engine):
    fake.scenarios["gpt-4o-mini"] = Scenario(sse_error_event=2)
    text, result = run(engine, model="gpt-4o-mini", prompt="hi")
    assert text == "Hello," and result.status == "error"
    assert "Upstream model failed" in result.error and "partial text is kept" in result.error


def test_connect_timeout_bills_nothing_and_names_the_setting(fake, engine, monkeypatch):
    hole = BlackHole()
    try:
        monkeypatch.setenv("OPENAI_BASE_URL", f"{hole.url}/v1")
        monkeypatch.setenv("CHAT_CONNECT_TIMEOUT", "0.5")
        monkeypatch.setenv("CHAT_MAX_RETRIES", "0")
        _, result = run(engine, model="gpt-4o-mini", prompt="hi")
    finally:
        hole.close()
    row = engine.store.exchange(result.record["id"])
    assert row["status"] == "timeout" and "CHAT_CONNECT_TIMEOUT" in row["error"] and "nothing billed" in row["error"]
    assert (row["input_tokens"], row["output_tokens"]) == (0, 0) and row["cost_usd"] == "0"


def test_connection_refused_bills_nothing(fake, engine, monkeypatch):
    from tests.browser import free_port

    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    monkeypatch.setenv("CHAT_MAX_RETRIES", "0")
    _, result = run(engine, model="gpt-4o-mini", prompt="hi")
    assert result.status == "error" and "nothing billed" in result.error
    assert result.record["input_tokens"] == 0 and result.record["cost_usd"] == "0"


def test_http_refusal_before_the_stream_bills_nothing(fake, engine, monkeypatch):
    monkeypatch.setenv("CHAT_MAX_RETRIES", "0")
    fake.scenarios["gpt-4o-mini"] = Scenario(status=500)
    _, result = run(engine, model="gpt-4o-mini", prompt="hi")
    assert result.status == "error" and result.record["input_tokens"] == 0


def test_a_reply_that_drips_forever_ends_at_chat_max_seconds(fake, engine, monkeypatch):
    # one chunk at a time, each well inside the silence timeout: only an overall deadline ends it
    gate = threading.Event()
    fake.scenarios["gpt-4o-mini"] = Scenario(chunks=["drip "] * 10_000, gap=0.05)
    monkeypatch.setenv("CHAT_MAX_SECONDS", "0.5")
    stream = engine.stream(ChatRequest(model="gpt-4o-mini", prompt="hi"))
    got = [item for item in stream]
    gate.set()
    result = got[-1]
    chunks = [i for i in got if isinstance(i, Chunk)]
    assert result.status == "timeout" and "CHAT_MAX_SECONDS" in result.error
    assert 0 < len(chunks) < 10_000 and result.record["reply"].startswith("drip drip")


def test_keyboard_interrupt_mid_stream_is_aborted(fake, engine):
    fake.scenarios["gpt-4o-mini"] = Scenario(chunks=["word "] * 50)
    stream = engine.stream(ChatRequest(model="gpt-4o-mini", prompt="hi"))
    next(stream)
    try:
        stream.throw(KeyboardInterrupt)  # what Ctrl-C does to the code reading the stream
    except KeyboardInterrupt:
        pass
    engine.store.flush()
    rows = engine.store.query("SELECT status, reply, error FROM exchanges")
    assert rows == [{"status": "aborted", "reply": "word ", "error": rows[0]["error"]}]
    assert "interrupted" in rows[0]["error"]
