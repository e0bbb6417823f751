"""Gradio handlers called directly, without a browser, against the fake server and a real SQLite log."""
from __future__ import annotations

import json
from decimal import Decimal

import gradio as gr
import pytest

from chat.engine import Engine
from chat.engine.budget import Budget
from chat.ui import app
from chat.ui.display import meter_line
from chat.ui.session import new_session
from tests.fake_servers import Scenario
from tests.helpers import shown


def drain(gen):
    outs = list(gen)
    return outs, outs[-1]


def test_reply_streams_and_meter_shows_the_logged_row(fake, engine):
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=30, output_tokens=8, gap=0.1)
    outs, (chat, state, _) = drain(app.respond(engine, "hi there", new_session(), "gpt-4o-mini", "", 0.5, 100))
    assert all(len(out) == 3 for out in outs)  # one value per output: Gradio spells out any extra in a warning
    assert shown(outs[0][0][-1]["content"]) == "…" and outs[0][2] == ""  # placeholder shown at once, box emptied
    # after that the box is left alone (a follow-up may be typed meanwhile), and the state is sent only at the end
    assert all(out[2] == gr.skip() for out in outs[1:]) and all(out[1] == gr.skip() for out in outs[1:-1])
    panel = app.show_panel(engine, state, "gpt-4o-mini")
    assert any(0 < len(shown(o[0][-1]["content"])) < len("Hello, this is a fake reply.") for o in outs[1:-1])  # partial text seen
    engine.store.flush()
    row = engine.store.exchange(state["turns"][0]["id"])
    assert shown(chat[1]["content"]) == row["reply"] == "Hello, this is a fake reply."
    assert shown(chat[2]["metadata"]["title"]) == f"gpt-4o-mini · {meter_line(row)}"
    assert "30 in · 8 out" in chat[2]["metadata"]["title"] and "$0.0000093" in chat[2]["metadata"]["title"]
    assert "1 request · 30 in / 8 out tokens · $0.0000093" in panel
    # what the same 30 in / 8 out would cost elsewhere: gpt-4o at $2.50/$10 per 1M, the same tokenizer as gpt-4o-mini
    assert "| gpt-4o | ≈$0.000155 | ×1.00 (prior) |" in shown(chat[2]["content"])
    assert "translated" in chat[2]["content"]
    assert row["session_id"] == state["session_id"]
    assert json.loads(row["params_json"]) == {"max_tokens": 100, "temperature": 0.5}


def test_fast_model_updates_are_batched(fake, engine):
    fake.scenarios["gpt-4o-mini"] = Scenario(chunks=["x"] * 3000)
    outs, last = drain(app.respond(engine, "go", new_session(), "gpt-4o-mini", "", 0.7, 4000))
    assert shown(last[0][1]["content"]) == "x" * 3000
    assert len(outs) < 30  # 3000 chunks, a handful of repaints


def test_second_turn_carries_history_and_estimates_are_marked(fake, engine):
    fake.scenarios["openai:no-usage"] = Scenario(usage=False)
    fake.scenarios["no-usage"] = fake.scenarios["openai:no-usage"]
    _, (_, state, _) = drain(app.respond(engine, "first", new_session(), "openai:no-usage", "Be terse.", 0.7, 50))
    _, (chat, state, _) = drain(app.respond(engine, "second", state, "openai:no-usage", "Be terse.", 0.7, 50))
    panel = app.show_panel(engine, state, "openai:no-usage")
    sent = fake.requests[-1]["body"]["messages"]
    assert [m["content"] for m in sent] == ["Be terse.", "first", "Hello, this is a fake reply.", "second"]
    assert "≈" in chat[-1]["metadata"]["title"] and "unpriced" in chat[-1]["metadata"]["title"]
    assert "2 unpriced" in panel


def test_errors_are_short_and_keyless(fake, engine, monkeypatch):
    monkeypatch.setenv("CHAT_MAX_RETRIES", "0")
    fake.scenarios["gpt-4o-mini"] = Scenario(status=401)
    _, (chat, *_rest) = drain(app.respond(engine, "hi", new_session(), "gpt-4o-mini", "", 0.7, 50))
    text = shown(chat[1]["content"])
    assert text.startswith("⚠️ openai rejected the credentials (HTTP 401): check OPENAI_API_KEY in .env")
    assert "Traceback" not in json.dumps(chat) and "sk-test" not in json.dumps(chat)
    fake.scenarios["gpt-4o-mini"] = Scenario(error_after=3)
    _, (chat, *_rest) = drain(app.respond(engine, "again", new_session(), "gpt-4o-mini", "", 0.7, 50))
    assert shown(chat[1]["content"]).startswith("Hello, this\n⚠️ ") and "partial text is kept" in shown(chat[1]["content"])


def test_stop_then_after_stop_shows_the_aborted_row(fake, engine):
    fake.scenarios["gpt-4o-mini"] = Scenario(chunks=["word "] * 40, gap=0.05)
    gen = app.respond(engine, "long please", new_session(), "gpt-4o-mini", "", 0.7, 500)
    kept = None  # the state Gradio holds: the last one yielded (mid-stream repaints skip it)
    for out in gen:
        if isinstance(out[1], dict) and "turns" in out[1]:
            kept = out[1]
        if len(shown(out[0][-1]["content"])) > 20:
            break
    gen.close()  # what Gradio does on Stop or when the tab closes
    chat, state, _, panel = app.after_stop(engine, kept, "gpt-4o-mini")
    turn = state["turns"][-1]
    assert turn["status"] == "aborted" and turn["reply"].startswith("word word")
    assert shown(chat[1]["content"]).endswith("⏹ stopped")
    row = engine.store.exchange(turn["id"])
    assert row["status"] == "aborted" and row["reply"] == turn["reply"]
    assert "1 request" in panel


def test_undo_retry_clear(fake, engine):
    _, (_, state, _) = drain(app.respond(engine, "q1", new_session(), "gpt-4o-mini", "", 0.7, 50))
    _, (_, state, _) = drain(app.respond(engine, "q2", state, "gpt-4o-mini", "", 0.7, 50))
    chat, undone, box, _ = app.undo(engine, state, "gpt-4o-mini")
    assert box == "q2" and [t["prompt"] for t in undone["turns"]] == ["q1"] and len(chat) == 3
    chat, popped, box, _ = app.pop_for_retry(engine, state, "gpt-4o-mini")
    assert box == "q2"
    _, (_, retried, _) = drain(app.respond(engine, box, popped, "gpt-4o-mini", "", 0.7, 50))
    assert [t["prompt"] for t in retried["turns"]] == ["q1", "q2"] and retried["requests"] == 3
    chat, cleared, _, panel = app.clear(engine, retried, "gpt-4o-mini")
    assert chat == [] and cleared["turns"] == [] and "3 requests" in panel  # spend so far is kept


def test_sessions_do_not_share_state(fake, engine):
    a, b = new_session(), new_session()
    _, (_, a2, _) = drain(app.respond(engine, "from a", a, "gpt-4o-mini", "", 0.7, 50))
    assert b["turns"] == [] and a["turns"] == []  # handlers never mutate their input state
    assert a2["session_id"] != b["session_id"]


def test_session_cap_blocks_the_next_paid_call(fake, store):
    # worst case of one call: ~15 input tokens + 100 output at gpt-4o prices, about $0.001
    engine = Engine(store, budget=Budget(session_cap=Decimal("0.0015")))
    fake.scenarios["gpt-4o"] = Scenario(input_tokens=15, output_tokens=100)
    _, (chat, state, _) = drain(app.respond(engine, "one", new_session(), "gpt-4o", "", 0.7, 100))
    assert shown(chat[1]["content"]) == "Hello, this is a fake reply."
    calls = len(fake.requests)
    _, (chat, state, _) = drain(app.respond(engine, "two", state, "gpt-4o", "", 0.7, 100))
    assert shown(chat[-2]["content"]).startswith("⚠️ session spend cap reached")
    assert len(fake.requests) == calls  # no paid call was made
    _, (chat, state, _) = drain(app.respond(engine, "three", state, "smollm2-135m-instruct", "", 0.7, 8))
    assert state["turns"][-1]["record"]["status"] == "ok"  # local models are never capped
    engine.store.flush()
    assert engine.store.exchange(state["turns"][1]["id"])["status"] == "error"


def test_model_picker_lists_usable_models_with_prices_and_the_rest_with_reasons(fake, engine, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    usable, unusable = app.model_choices(engine)
    labels = dict((v, k) for k, v in usable)
    assert labels["gpt-4o-mini"] == "OpenAI · gpt-4o-mini · $0.15 in / $0.60 out per 1M"
    assert labels["smollm2-135m-instruct"].startswith("Local · ")
    assert "claude-haiku-4-5" not in labels
    assert any(line.startswith("**Anthropic** — set ANTHROPIC_API_KEY in .env:") and "claude-haiku-4-5" in line
               for line in unusable)


@pytest.mark.parametrize("value, ok", [("alice:pw", True), ("alice:pw,bob:pw2", True), ("alice", False), (":pw", False)])
def test_auth_parsing(value, ok):
    from demo import parse_auth

    if ok:
        assert all(u and p for u, p in parse_auth([value]))
    else:
        with pytest.raises(ValueError, match="must be user:password"):
            parse_auth([value])


def test_the_chat_converts_a_finished_turn_once_and_shows_the_same(fake, engine):
    from chat.ui.components import ChatLog
    from chat.ui.session import render

    state = new_session()
    for question in ("first", "second", "third"):
        _, (_, state, _) = drain(app.respond(engine, question, state, "gpt-4o-mini", "", 0.7, 50))
    state["turns"].append({"id": "live", "prompt": "fourth", "reply": "Partial", "status": "streaming", "record": None,
                           "model": "gpt-4o-mini"})
    view = render(state, engine.prices)
    plain = gr.Chatbot().postprocess(list(view)).model_dump()
    chat = ChatLog()
    assert chat.postprocess(view).model_dump() == plain
    assert all("shown" in turn for turn in state["turns"][:3]) and "shown" not in state["turns"][3]
    state["turns"][3]["reply"] = "Partial text, longer"
    again = render(state, engine.prices)
    assert chat.postprocess(again).model_dump() == gr.Chatbot().postprocess(list(again)).model_dump()
    assert chat.postprocess(again).root[0] is chat.postprocess(view).root[0]  # the finished turns were reused


def test_the_latency_chart_keeps_its_bins_in_time_order(engine):
    from chat.ui.app import build_app
    from chat.ui.logs_tab import LATENCY_LABELS

    demo = build_app(engine)
    plot = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "logs-latency")
    assert plot.sort == LATENCY_LABELS  # not text order, which put <16.00s before <2.00s before <250ms
    assert LATENCY_LABELS[:4] == ["<250ms", "<500ms", "<1.00s", "<2.00s"] and LATENCY_LABELS[-1] == "≥32.00s"


def test_a_finished_turn_is_made_inert_once_and_reused_by_every_later_repaint():
    from chat.storage.rows import Exchange
    from chat.ui.session import render

    state = new_session()
    state["turns"].append({"id": "a", "prompt": "q", "reply": "see ![x](http://127.0.0.1:9/leak) <img src=y>",
                           "status": "ok", "record": Exchange(id="a", model="m", status="ok", input_tokens=1,
                                                              output_tokens=1, usage_source="provider")})
    state["turns"].append({"id": "b", "prompt": "q2", "reply": "<img src=z> so far", "status": "streaming", "record": None})
    first, again = render(state), render(state)
    assert first[1] is again[1] and first[2] is again[2]  # the finished turn's messages: built once
    assert "<img" not in first[1]["content"] and "🖼 x" in first[1]["content"]
    assert "<img" not in again[-1]["content"] and "so far" in again[-1]["content"]  # the streaming one, each time


def test_same_tokens_elsewhere_is_ten_cheapest_then_the_rest_a_click_away(fake, engine):
    from chat.engine.token_ratios import costs_elsewhere
    from chat.ui.session import new_session

    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=1000, output_tokens=200)
    *_, (chat, state, _) = app.respond(engine, "hi", new_session(), "gpt-4o-mini", None, None, None)
    details = chat[-1]["content"]
    top, _, rest = details.partition("<details>")
    rows = [line for line in top.splitlines() if line.startswith("| ") and not line.startswith("| Model")]
    row = state["turns"][-1]["record"]
    others = [e.model for e in costs_elsewhere(engine, row)]  # the same text as each model would count it
    assert [shown(r.split(" | ")[0].removeprefix("| ")) for r in rows] == others[:10]  # cheapest first
    assert f"<summary>{len(others) - 10} more models</summary>" in rest
    assert rest.count("\n| ") == len(others) - 10 + 1  # the header and every other model


def test_the_tokenizer_loads_when_a_page_opens_not_when_the_app_starts(engine, monkeypatch):
    """The app's start no longer waits on (or spends a second of CPU for) the tokenizer; the first page to open
    loads it in the background, once, for the estimates that page will ask for."""
    import threading

    from chat.engine import tokens

    loaded = threading.Event()
    calls = []
    monkeypatch.setattr(tokens, "_preloading", False)
    monkeypatch.setattr(tokens, "preload", lambda: (calls.append(1), loaded.set()))
    panel = app.on_open(engine, new_session(), "gpt-4o-mini")
    assert loaded.wait(10) and "128,000" in panel
    app.on_open(engine, new_session(), "gpt-4o-mini")
    assert calls == [1]  # once per process
