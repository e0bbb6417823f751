"""Real signals to real processes mid-stream: every request the fake server saw has a row, nothing is lost."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from chat.storage.store import Store
from tests.browser import DemoProcess, demo_env
from tests.fake_servers import Scenario

ROOT = Path(__file__).resolve().parent.parent
FAQ = ROOT / "examples" / "training_faq.yaml"


def _env(fake, db, **extra):
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env.update(OPENAI_BASE_URL=f"{fake.url}/v1", OPENAI_API_KEY="sk-test-abcdef123456", CHAT_DB=str(db),
               CHAT_MAX_RETRIES="0", **extra)
    return env


def _cli(args, env, **kw):
    return subprocess.Popen([sys.executable, "-m", "chat", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def _wait_for(predicate, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _logged(db) -> list[dict]:
    """The exchanges as the store reads them back, from a SQLite file or a PostgreSQL database."""
    return Store(db).query("SELECT * FROM exchanges")


def _rows(db):
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM exchanges")]
    finally:
        conn.close()


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)])
def test_ask_stopped_by_a_signal_mid_stream_logs_aborted_with_partial_text(fake, tmp_path, sig, code):
    hold = threading.Event()
    fake.scenarios["gpt-4o-mini"] = Scenario(chunks=["one ", "two ", "three "], hold=hold)
    db = tmp_path / "ask.db"
    proc = _cli(["ask", "-m", "gpt-4o-mini", "count"], _env(fake, db))
    try:
        _wait_for(lambda: fake.requests and fake.requests[-1]["first"], "the first chunk")
        time.sleep(0.2)  # let the client read it
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        hold.set()
        proc.kill()
    assert proc.returncode == code, err
    assert out.startswith("one ") and "Traceback" not in err
    rows = _rows(db)
    assert len(rows) == 1 and rows[0]["status"] == "aborted" and rows[0]["reply"] == "one "
    assert "interrupted" in rows[0]["error"]


def test_sigkill_leaves_a_trace_that_the_next_start_marks_interrupted(fake, tmp_path):
    hold = threading.Event()
    fake.scenarios["gpt-4o"] = Scenario(hold=hold)
    db = tmp_path / "kill.db"
    proc = _cli(["ask", "-m", "gpt-4o", "--daily-cap", "5", "a question that may be billed"], _env(fake, db))
    try:
        _wait_for(lambda: fake.requests and fake.requests[-1]["first"], "the request")
        proc.kill()
        proc.wait(timeout=30)
    finally:
        hold.set()
    before = _rows(db)
    assert [r["status"] for r in before] == ["streaming"]  # written before the call was made
    assert before[0]["prompt"] == "a question that may be billed" and before[0]["model"] == "gpt-4o"
    Store(db)  # the next start
    after = _rows(db)[0]
    assert after["status"] == "interrupted" and "may have billed it" in after["error"]
    # its worst case stays reserved: the daily cap does not forget money that may have been spent
    spend = sqlite3.connect(db).execute("SELECT state, amount_pusd FROM spend").fetchall()
    assert len(spend) == 1 and spend[0][0] == "interrupted" and spend[0][1] > 0  # settled at its worst case


def test_eval_stopped_by_sigterm_logs_every_answer_in_flight(fake, db_target):
    hold = threading.Event()
    fake.scenarios["gpt-4o-mini"] = Scenario(hold=hold)
    db = db_target
    proc = _cli(["eval", str(FAQ), "-m", "gpt-4o-mini", "--repeats", "3", "--concurrency", "8"], _env(fake, db))
    try:
        _wait_for(lambda: sum(1 for r in fake.requests if r["first"]) >= 8, "8 answers streaming")
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        hold.set()
        proc.kill()
    assert proc.returncode == 143, err
    assert "resume with" in err
    rows = _logged(db)
    assert len(rows) == len(fake.requests) == 8  # every request the server saw, and no more
    assert {r["status"] for r in rows} == {"aborted"} and all(r["reply"] == "Hello" for r in rows)


def test_demo_stopped_by_sigterm_logs_every_session_streaming(fake, db_target, tmp_path):
    from gradio_client import Client

    hold = threading.Event()
    fake.scenarios["gpt-4o-mini"] = Scenario(hold=hold)
    db = db_target
    demo = DemoProcess(demo_env(fake.url), [], db, log=tmp_path / "demo.log")
    jobs = []
    try:
        for n in range(10):
            client = Client(demo.url, verbose=False)
            jobs.append(client.submit(f"question {n}", "gpt-4o-mini", "", 0.7, 50, api_name="/chat"))
        _wait_for(lambda: sum(1 for r in fake.requests if r["first"]) >= 10, "10 sessions streaming")
        time.sleep(0.3)
        demo.proc.send_signal(signal.SIGTERM)  # as `docker stop` does, with its SIGKILL 10 s later
        try:
            demo.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            demo.proc.kill()
    finally:
        hold.set()
        demo.stop()
    assert demo.proc.returncode == 143, demo.output()  # exited by itself, in time: not killed (-9)
    rows = _logged(db)
    assert len(rows) == len(fake.requests) == 10
    assert {r["status"] for r in rows} == {"aborted"}
    assert sorted(r["prompt"] for r in rows) == sorted(f"question {n}" for n in range(10))
    assert all(r["reply"] == "Hello" for r in rows)


def test_rows_a_locked_log_would_not_take_are_spilled_within_docker_stops_10_s_and_imported(fake, tmp_path):
    db = tmp_path / "locked.db"
    Store(db)  # create the schema first
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another connection holds the write lock for the whole run
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=30, output_tokens=8)
    proc = _cli(["eval", str(FAQ), "-m", "gpt-4o-mini", "--concurrency", "4"], _env(fake, db))
    try:
        _wait_for(lambda: len(fake.requests) >= 10 and all(r["ended"] for r in fake.requests), "all 10 answers")
        time.sleep(0.5)
        # as `docker stop` does: SIGTERM, then SIGKILL 10 s later (the log is still locked: its rows must be
        # spilled by then, or they are gone)
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    finally:
        proc.kill()
    spill = Path(str(db) + ".unwritten.jsonl")
    assert spill.exists() and len(spill.read_text().splitlines()) >= 10, err
    blocker.execute("ROLLBACK")
    blocker.close()
    Store(db)  # the next start imports the spill file
    Store(db)  # and a second start imports nothing twice
    rows = _rows(db)
    assert len(rows) == len(fake.requests) == 10
    assert {r["status"] for r in rows} == {"ok"} and all(r["output_tokens"] == 8 for r in rows)
    assert not spill.exists()
