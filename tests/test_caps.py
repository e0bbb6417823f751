
"""Caps that hold on every route: one browser session across tabs, the command line, and several processes, on a
SQLite log and on a PostgreSQL one (the store fixture here runs each test on both)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import gradio as gr
import pytest

from chat.engine import Engine
from chat.engine.budget import Budget
from chat.ui import app, compare_tab, rating_view, runs_tab
from chat.ui.access import Access
from chat.ui.session import new_session
from tests.fake_servers import Scenario
from tests.helpers import run_cli, shown

ROOT = Path(__file__).resolve().parent.parent
FAQ = ROOT / "examples" / "training_faq.yaml"


@pytest.fixture
def store(db_target):
    from chat.storage.store import Store

    return Store(db_target)


def _spent(target) -> Decimal:
    from tests.test_storage_contract import spent

    return spent(str(target))


def test_parallel_compares_from_one_browser_session_stay_within_its_cap(fake, store):
    cap = Decimal("0.001")
    engine = Engine(store, budget=Budget(session_cap=cap))
    # "hi" is 8 tokens as OpenAI counts a chat (tiktoken and the framing): the server reports the same
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=8, output_tokens=50)
    fake.scenarios["gpt-4o"] = Scenario(input_tokens=8, output_tokens=50)
    browser = gr.Request(session_hash="one-browser")
    errors = []

    def one():
        outs = list(compare_tab.compare(engine, "hi", ["gpt-4o-mini", "gpt-4o"], "", 50, False,
                                        compare_tab.new_compare(), request=browser))
        errors.extend(r["error"] for r in outs[-1][-1]["records"] if r["status"] != "ok")

    threads = [threading.Thread(target=one) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.flush()
    assert 0 < _spent(store.where) <= cap
    assert any("session spend cap reached" in e and "every tab counts" in e for e in errors)
    # the chat tab of the same browser session is out of money too; another browser is not
    *_, (chat, *_rest) = app.respond(engine, "more", new_session(), "gpt-4o", "", 0.7, 50, request=browser)
    assert "session spend cap reached" in shown(chat[1]["content"])
    *_, (chat, *_rest) = app.respond(engine, "more", new_session(), "gpt-4o", "", 0.7, 50,
                                     request=gr.Request(session_hash="another"))
    assert shown(chat[1]["content"]) == "Hello, this is a fake reply."


def test_runs_and_judge_count_against_the_same_session(fake, store):
    engine = Engine(store, budget=Budget(session_cap=Decimal("0.0005")))
    fake.scenarios["gpt-4o"] = Scenario(input_tokens=20, output_tokens=10)
    browser = gr.Request(session_hash="b")
    list(runs_tab.start_run(engine, Access(), None, "examples/quick_questions.txt", "", ["gpt-4o"], 10, 4, 10, "", request=browser))
    store.flush()
    first = _spent(store.where)
    assert 0 < first <= Decimal("0.0005")
    rows = store.query("SELECT error FROM exchanges WHERE status = 'error'")
    assert rows and all("session spend cap reached" in r["error"] for r in rows)


def test_rate_limit_per_browser_session(fake, store):
    engine = Engine(store, budget=Budget(rate_limit=2))
    browser = gr.Request(session_hash="chatty")
    for _ in range(2):
        list(app.respond(engine, "hi", new_session(), "gpt-4o-mini", "", 0.7, 20, request=browser))
    try:
        list(app.respond(engine, "hi", new_session(), "gpt-4o-mini", "", 0.7, 20, request=browser))
        raise AssertionError("the third request in a minute went through")
    except gr.Error as exc:
        assert "at most 2 a minute" in exc.message


def test_a_cap_sends_the_reserved_output_as_max_tokens(fake, store):
    from tests.helpers import run

    engine = Engine(store, budget=Budget(daily_cap=Decimal(5)))
    run(engine, model="gpt-4o-mini", prompt="hi")  # no max tokens asked for
    assert fake.requests[-1]["body"]["max_tokens"] == 4096


def _env(fake, db, **extra):
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env.update(OPENAI_BASE_URL=f"{fake.url}/v1", OPENAI_API_KEY="sk-test-abcdef123456", CHAT_DB=str(db),
               CHAT_MAX_RETRIES="0", **extra)
    return env


def test_cli_eval_honours_the_daily_cap(fake, db_target):
    fake.scenarios["gpt-4o"] = Scenario(input_tokens=400, output_tokens=300)  # about $0.004 an answer
    db = db_target
    out = run_cli(["eval", str(FAQ), "-m", "gpt-4o", "--repeats", "3", "--max-tokens", "300"], cwd=ROOT,
                  env=_env(fake, db, CHAT_DAILY_CAP_USD="0.05"))
    assert out.returncode == 1
    assert 0 < _spent(db) <= Decimal("0.05") and "daily spend cap reached" in out.stderr
    out = run_cli(["ask", "-m", "gpt-4o", "--daily-cap", "0.01", "hi"], cwd=ROOT, env=_env(fake, db))
    assert out.returncode == 1 and "daily spend cap reached" in out.stderr  # the flag, with today's spend counted


def test_two_processes_share_one_daily_cap(fake, db_target):
    import time

    hold = threading.Event()
    fake.scenarios["gpt-4o"] = Scenario(input_tokens=400, output_tokens=300, hold=hold)
    db = db_target
    env = _env(fake, db, CHAT_DAILY_CAP_USD="0.08")
    procs = [subprocess.Popen([sys.executable, "-m", "chat", "eval", str(FAQ), "-m", "gpt-4o", "--repeats", "3",
                               "--max-tokens", "300", "--concurrency", "4"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        # ordering, not timing: each process has at most 4 answers in flight, so 5 held streams means both are spending
        deadline = time.monotonic() + 120
        while sum(1 for r in fake.requests if r["first"]) < 5:
            assert time.monotonic() < deadline, "both processes never had answers in flight"
            time.sleep(0.05)
    finally:
        hold.set()
    outs = [p.communicate(timeout=300) for p in procs]
    spent = _spent(db)
    assert Decimal("0.04") < spent <= Decimal("0.08"), outs
    from chat.storage.store import Store

    ran = Store(db).query("SELECT count(DISTINCT run_id) AS n FROM exchanges WHERE status = 'ok'")[0]["n"]
    assert ran == 2, outs  # both processes spent, together within the one cap


def test_a_judge_stopped_by_the_daily_cap_says_so_and_stops_asking(fake, store):
    """The audit: 1 judge call, then 9 refused by the cap, and the tab said '10 could not be rated (first reason: the
    judge did not reply with JSON)'."""
    from chat.ui.i18n import words

    engine = Engine(store, budget=Budget(daily_cap=Decimal("0.005")))
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=20, output_tokens=5)
    list(runs_tab.start_run(engine, Access(), None, "examples/quick_questions.txt", "", ["gpt-4o-mini"], 2, 2, 10, ""))
    store.flush()
    run_id = store.query("SELECT id FROM runs")[0]["id"]
    answers = len(store.query("SELECT id FROM exchanges WHERE run_id = ?", [run_id]))
    # the first verdict is not JSON; its cost ($0.0026) leaves no room for the next call's worst case ($0.0036)
    fake.scenarios["gpt-4.1"] = Scenario(chunks=["I think it is fine."], input_tokens=100, output_tokens=300)
    no_progress = type("P", (), {"tqdm": staticmethod(lambda x, **k: x)})()
    said = rating_view.judge_run(engine, Access(), run_id, "gpt-4.1", progress=no_progress)
    assert shown(said) == (f"Judge gpt-4.1 rated 0 answers. {answers - 1} not rated: the daily spend cap was reached. "
                    "1 could not be rated (first reason: the judge did not reply with JSON).")
    judge_calls = [r for r in fake.requests if r["body"].get("model") == "gpt-4.1"]
    assert len(judge_calls) == 1  # refused once by the cap, it stops asking
    assert words("ko")("{n} not rated: the daily spend cap was reached.", n=3) == \
        "3개는 평가하지 못함: 일일 지출 한도에 도달했습니다."
