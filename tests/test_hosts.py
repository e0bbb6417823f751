"""Several app hosts on one PostgreSQL log, as separate processes in folders of their own that share nothing but
the database URL: a host killed outright, and a run started on one host and finished on another."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from chat.engine import Engine
from chat.storage.store import Store
from tests.fake_servers import Scenario
from tests.helpers import run

ROOT = Path(__file__).resolve().parent.parent
FAQ = ROOT / "examples" / "training_faq.yaml"


def _host(fake, url: str, folder: Path, name: str, **extra) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env.update(OPENAI_BASE_URL=f"{fake.url}/v1", OPENAI_API_KEY="sk-test-abcdef123456", CHAT_DB=url,
               CHAT_MAX_RETRIES="0", CHAT_HOST_ID=name, CHAT_LEASE_SECONDS="2", CHAT_SPILL_DIR=str(folder / "logs"),
               PYTHONPATH=str(ROOT), **extra)
    return env


def _until(check, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.05)


def test_a_host_killed_mid_reply_is_cut_off_after_its_lease_while_the_other_serves(fake, pg_url, tmp_path, monkeypatch):
    hold = threading.Event()
    fake.scenarios["gpt-4o"] = Scenario(chunks=["half ", "an ", "answer"], hold=hold, input_tokens=20, output_tokens=3)
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=5, output_tokens=3)
    env = _host(fake, pg_url, tmp_path / "a", "host-a", CHAT_DAILY_CAP_USD="1")
    a = subprocess.Popen([sys.executable, "-m", "chat", "ask", "-m", "gpt-4o", "--max-tokens", "100", "a question"],
                         cwd=tmp_path / "a", env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # host b: this process, with a lease of its own
    monkeypatch.setenv("CHAT_HOST_ID", "host-b")
    monkeypatch.setenv("CHAT_LEASE_SECONDS", "2")
    monkeypatch.setenv("CHAT_SPILL_DIR", str(tmp_path / "b"))
    store = Store(pg_url)
    engine = Engine(store)
    streaming = lambda: store.query("SELECT id, status, process FROM exchanges WHERE process LIKE 'host-a:%'")  # noqa: E731
    _until(lambda: [r["status"] for r in streaming()] == ["streaming"] and fake.requests, "host a streaming")
    a.send_signal(signal.SIGKILL)  # no clean exit: no Stop, no flush, no lease released
    a.wait(30)
    try:
        # the other host goes on serving while a's reply is in limbo
        assert run(engine, model="gpt-4o-mini", prompt="still there?")[1].ok
        _until(lambda: streaming()[0]["status"] == "interrupted", "host a's reply cut off after its lease")
    finally:
        hold.set()
    [row] = streaming()
    spend = store.query("SELECT state, amount_pusd FROM spend WHERE exchange_id = ?", [row["id"]])
    assert spend and spend[0]["state"] == "interrupted" and spend[0]["amount_pusd"] > 0  # settled at its worst case
    assert store.query("SELECT count(*) AS n FROM hosts WHERE process LIKE 'host-a:%'")[0]["n"] == 0
    assert store.query("SELECT count(*) AS n FROM hosts WHERE process LIKE 'host-b:%'")[0]["n"] == 1  # b's own lease


def test_a_run_whose_host_died_is_finished_from_another_without_paying_twice(fake, pg_url, tmp_path, monkeypatch):
    from chat.evaluation import questionsets
    from chat.evaluation.runs import execute

    fake.scenarios["gpt-4o-mini"] = Scenario(chunks=["a ", "slow ", "answer"], gap=0.15, input_tokens=20,
                                             output_tokens=3)
    env = _host(fake, pg_url, tmp_path / "a", "host-a")
    a = subprocess.Popen([sys.executable, "-m", "chat", "eval", str(FAQ), "-m", "gpt-4o-mini", "--repeats", "2",
                          "--concurrency", "2"], cwd=tmp_path / "a", env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    monkeypatch.setenv("CHAT_HOST_ID", "host-b")
    monkeypatch.setenv("CHAT_LEASE_SECONDS", "2")
    monkeypatch.setenv("CHAT_SPILL_DIR", str(tmp_path / "b"))
    store = Store(pg_url)
    ok = lambda: store.query("SELECT count(*) AS n FROM exchanges WHERE status = 'ok'")[0]["n"]  # noqa: E731
    _until(lambda: ok() >= 3, "host a answering")
    a.send_signal(signal.SIGKILL)
    a.wait(30)
    [run] = store.query("SELECT id FROM runs")
    finished_by_a, asked = ok(), len(fake.requests)
    # a's cells in flight stay its own until its lease runs out; then host b's heartbeat cuts them off
    _until(lambda: not store.query("SELECT 1 FROM exchanges WHERE status = 'streaming'"), "a's replies cut off")
    # a cell a claimed but had not begun stays a's until its lease has run out too (a resume before then skips it)
    from chat.storage.leases import _stamp

    _until(lambda: all(r["lease_until"] < _stamp(datetime.now(timezone.utc)) for r in store.query(
        "SELECT lease_until FROM hosts WHERE process LIKE 'host-a:%'")), "a's lease run out")
    qs = questionsets.load(FAQ)
    last = list(execute(Engine(store), run["id"], qs, ["gpt-4o-mini"], 2, 4))[-1]
    assert last.done == last.total == 20
    rows = store.query("SELECT question_id, repeat_index FROM exchanges WHERE run_id = ? AND status = 'ok'", [run["id"]])
    assert len(rows) == len({(r["question_id"], r["repeat_index"]) for r in rows}) == 20  # each cell answered once
    assert len(fake.requests) - asked == 20 - finished_by_a  # what a finished was not asked (nor paid) again


def test_two_app_hosts_share_a_daily_cap_every_answer_and_korean_search(fake, pg_url, tmp_path):
    """Two `python demo.py` in folders of their own, sharing nothing but the PostgreSQL URL."""
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    from tests.browser import DemoProcess, demo_env

    # the input billed is what was sent, counted as OpenAI counts it (a vendor counting more is issue 27's matter)
    fake.scenarios["gpt-4o"] = Scenario(chunks=["훈련장려금은 ", "매달 ", "나옵니다."], count_input=True,
                                        output_tokens=300, gap=0.01)
    hosts = []
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        env = demo_env(fake.url, CHAT_HOST_ID=f"host-{name}", CHAT_SPILL_DIR=str(folder / "logs"))
        hosts.append(DemoProcess(env, ["--daily-cap", "0.01"], pg_url, log=folder / "app.log", cwd=folder, wait=False))
    try:
        for h in hosts:
            h.ready()
        clients = [Client(h.url, verbose=False) for h in hosts]

        def ask(i: int):
            return clients[i % 2].predict(f"장려금 질문 {i}", "gpt-4o", "", 0.7, 300, api_name="/chat")

        with ThreadPoolExecutor(16) as pool:  # 8 at a time on each host
            list(pool.map(ask, range(16)))
        store = Store(pg_url)
        rows = store.query("SELECT status, error, process, cost_exact FROM exchanges")
        assert len(rows) == 16 and all(r["status"] == "ok" or "daily spend cap reached" in r["error"] for r in rows)
        assert {r["process"].split(":")[0] for r in rows} == {"host-one", "host-two"}  # both served
        from tests.test_storage_contract import spent

        assert 0 < spent(pg_url) <= Decimal("0.01")
        # either host's Logs tab finds the Korean word inside the compound, in both hosts' rows
        summary, table, *_ = clients[0].predict("all", "", "", [], [], [], "장려금", "", "", "", "", "any", "time",
                                                api_name="/logs")
        assert len(table["data"]) == 16, summary
    finally:
        for h in hosts:
            h.stop()


def test_the_app_stays_up_when_postgresql_goes_away_mid_reply_and_loses_nothing(fake, pg_server, tmp_path,
                                                                               monkeypatch):
    """A server of this test's own is stopped while a reply streams and started again."""
    from decimal import Decimal as D

    from chat.engine.budget import Budget
    from tests import pg

    monkeypatch.setenv("CHAT_SPILL_DIR", str(tmp_path / "spill"))
    url, folder = pg._start_own()
    try:
        hold = threading.Event()
        fake.scenarios["gpt-4o"] = Scenario(chunks=["the whole ", "answer"], hold=hold, input_tokens=10, output_tokens=2)
        store = Store(url)
        engine = Engine(store, budget=Budget(daily_cap=D("1")))
        done = {}
        flight = threading.Thread(target=lambda: done.update(r=run(engine, model="gpt-4o", prompt="in flight")[1]))
        flight.start()
        _until(lambda: fake.requests and store.query("SELECT status FROM exchanges") == [{"status": "streaming"}],
               "the reply streaming, its row on the server")
        pg.pause(folder)
        hold.set()
        flight.join(60)
        assert done["r"].ok and done["r"].record.reply == "the whole answer"  # the reader got the whole reply
        fake.scenarios["gpt-4o"] = Scenario(input_tokens=10, output_tokens=2)
        _, refused = run(engine, model="gpt-4o", prompt="a paid call while the log is away")
        assert not refused.ok and "\n" not in refused.error
        assert refused.error.startswith("the log cannot be reached, so no spend cap can be checked: nothing was sent")
        # a model never asked before: its token ratio cannot be learned from the log now, and the request does not
        # wait for it (it takes the prior; the learning waits on a thread of its own)
        _, new_model = run(engine, model="claude-haiku-4-5", prompt="another model while the log is away")
        assert not new_model.ok and new_model.error == refused.error
        asked = len(fake.requests)
        pg.resume(folder)
        _, after = run(engine, model="gpt-4o", prompt="back")
        assert after.ok and len(fake.requests) == asked + 1  # the refused call was never sent
        store.flush()
        rows = {r["prompt"]: r for r in store.query("SELECT prompt, status, reply FROM exchanges")}
        assert rows["in flight"]["status"] == "ok" and rows["in flight"]["reply"] == "the whole answer"  # once
        assert rows["a paid call while the log is away"]["status"] == "error" and rows["back"]["status"] == "ok"
        assert rows["another model while the log is away"]["status"] == "error"
        assert len(rows) == 4 and not store.spill_path.exists()
        spend = store.query("SELECT state FROM spend ORDER BY created_at")
        assert [s["state"] for s in spend] == ["settled", "settled"]  # the flight's reservation settled, not lost
        store.close()  # before its server: its heartbeat would otherwise warn that the server went away
    finally:
        pg.stop(folder)
