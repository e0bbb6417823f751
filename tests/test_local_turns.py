"""The embedded model across turns and sessions: its evaluated prefix is reused, and waiting in line is metered apart."""
from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import need
from tests.helpers import run, shown

need("llama_cpp", "the embedded model")
MODEL = "smollm2-135m-instruct"


def _turn(engine, prompt, history=(), session="a"):
    text, result = run(engine, model=MODEL, prompt=prompt, history=tuple(history), max_tokens=24, temperature=0,
                       session_id=session)
    assert result.ok, result.error
    return text, result


FIRST = ("Our training programme teaches new staff how to answer customer questions about orders, refunds and "
         "deliveries. Name a fruit that is yellow, for the example in the next lesson.")


def _conversation_with_interruption(engine):
    """Session a asks, session b asks (taking the context), session a asks again: a's second reply."""
    first, _ = _turn(engine, FIRST)
    _turn(engine, "What colour is the sky on a clear day? Answer in one sentence please.", session="b")
    history = [{"role": "user", "content": FIRST}, {"role": "assistant", "content": first}]
    second, result = _turn(engine, "And one that is red?", history)
    return second, result


def test_a_conversation_resumes_from_its_saved_prefix_with_the_same_words(engine, fresh_model, monkeypatch):
    cached_text, cached = _conversation_with_interruption(engine)
    cache = fresh_model.supervisor(MODEL).cache  # the worker's own figures, sent with each reply
    assert cache is not None and cache["saves"] >= 1 and cache["hits"] >= 1  # a's context was saved, then restored
    assert cache["size"] > 0 and cache["items"] >= 1

    # the same three turns with the cache off (a worker of its own): every prompt evaluated from scratch
    monkeypatch.setenv("CHAT_LOCAL_CACHE_MB", "0")
    plain_text, plain = _conversation_with_interruption(engine)
    assert fresh_model.supervisor(MODEL).settings.cache_bytes == 0 and fresh_model.supervisor(MODEL).cache is None
    assert cached_text == plain_text and cached_text.strip()
    assert cached.record["input_tokens"] == plain.record["input_tokens"]  # the count is the whole prompt either way


def test_a_bad_cache_size_is_named(engine, fresh_model, monkeypatch):
    monkeypatch.setenv("CHAT_LOCAL_CACHE_MB", "lots")
    with pytest.raises(ValueError, match="CHAT_LOCAL_CACHE_MB='lots' must be a whole number of megabytes"):
        fresh_model.capacity_bytes()


def test_waiting_in_line_is_queue_time_not_the_models_latency(engine, fresh_model):
    from chat.engine import ChatRequest, Chunk, Result, Waiting

    fresh_model.preload()
    first = engine.stream(ChatRequest(model=MODEL, prompt="Write a long poem about the sea.", max_tokens=64,
                                      temperature=0, session_id="first"))
    first_items = [next(first)]  # first is generating, and holds the model
    assert isinstance(first_items[0], Chunk)
    seen, second_result = [], {}
    joined = threading.Event()

    def second():
        started = time.monotonic()
        for item in engine.stream(ChatRequest(model=MODEL, prompt="Say hello.", max_tokens=8, temperature=0,
                                              session_id="second")):
            seen.append(item)
            if isinstance(item, Waiting):
                joined.set()
            if isinstance(item, Result):
                second_result.update(item=item, wall_ms=(time.monotonic() - started) * 1000)

    thread = threading.Thread(target=second)
    thread.start()
    assert joined.wait(30), "the second request never said it was waiting"
    in_line_from = time.monotonic()
    first_items += list(first)
    first_done = time.monotonic()
    thread.join(60)
    first_row = first_items[-1].record
    row = second_result["item"].record

    # told it waits, behind exactly one, before any text
    assert isinstance(seen[0], Waiting) and seen[0].ahead == 1
    assert any(isinstance(i, Chunk) for i in seen)
    assert first_row["status"] == row["status"] == "ok"
    # it waited at least for the rest of the first reply, and that wait is not in its TTFT or latency
    assert row["queue_ms"] >= (first_done - in_line_from) * 1000 * 0.9
    assert row["queue_ms"] + row["latency_ms"] <= second_result["wall_ms"] + 5
    assert row["ttft_ms"] <= row["latency_ms"]
    assert first_row["queue_ms"] is not None and first_row["queue_ms"] < row["queue_ms"]
    engine.store.flush()
    logged = engine.store.exchange(row["id"])
    assert logged["queue_ms"] == pytest.approx(row["queue_ms"])


def test_the_chat_shows_the_wait(engine, fresh_model):
    from chat.ui.session import new_session, render

    state = new_session()
    state["turns"].append({"id": "x", "prompt": "hi", "reply": "", "status": "streaming", "record": None,
                           "model": MODEL, "waiting": 2})
    assert shown(render(state)[-1]["content"]) == "⏳ waiting for the model: 2 requests ahead of yours"
