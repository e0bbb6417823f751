"""The SQLite log: migrations from empty, one writer under concurrency, nothing lost."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from chat.storage import migrations
from chat.storage.store import Store

ROOT = Path(__file__).resolve().parent.parent


def _row(session: str, i: int) -> dict:
    return {"id": uuid.uuid4().hex, "session_id": session, "created_at": f"2026-01-01T00:00:{i:02d}Z",
            "model": "m", "prompt": f"p{i}", "reply": "r", "status": "ok"}


def test_migrations_from_an_empty_file_are_recorded_once(tmp_path):
    path = tmp_path / "new" / "chat.db"
    Store(path)
    Store(path)  # a second open applies nothing again
    conn = sqlite3.connect(path)
    names = [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY rowid")]
    assert names == [fn.__name__ for fn in migrations.MIGRATIONS]
    cols = {r[1] for r in conn.execute("PRAGMA table_info(exchanges)")}
    required = ["id", "session_id", "created_at", "provider", "model", "system_id", "prompt", "message_ids", "reply", "status",
                "error", "input_tokens", "output_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens", "usage_source",
                "input_cost", "output_cost", "cost_usd", "ttft_ms", "latency_ms", "output_tokens_per_s", "params_json", "usage_json",
                "pricing_hash"]
    assert set(required) <= cols
    indexes = {r[1] for r in conn.execute("PRAGMA index_list(exchanges)")}
    assert {"idx_exchanges_meter", "idx_exchanges_model", "idx_exchanges_model_latency"} <= indexes
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_twenty_concurrent_writers_lose_nothing(store):
    def writer(n):
        for i in range(50):
            store.append("exchanges", _row(f"w{n}", i))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.flush()
    assert store.query("SELECT count(*) AS n FROM exchanges")[0]["n"] == 1000
    per = store.query("SELECT session_id, count(*) AS n FROM exchanges GROUP BY session_id")
    assert len(per) == 20 and {r["n"] for r in per} == {50}


def test_concurrent_processes_never_hit_database_is_locked(tmp_path):
    path = tmp_path / "shared.db"
    script = (
        "import sys, uuid; from chat.storage.store import Store\n"
        "s = Store(sys.argv[1])\n"
        "for i in range(100): s.append('exchanges', {'id': uuid.uuid4().hex, 'session_id': sys.argv[2], 'status': 'ok'})\n"
        "s.flush()\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path), f"p{n}"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
             for n in range(5)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    assert not any("locked" in e for e in errors), errors
    assert sqlite3.connect(path).execute("SELECT count(*) FROM exchanges").fetchone()[0] == 500


def test_append_does_not_wait_for_the_disk(store):
    # a writer holding the lock must not block append(); the row lands once the lock is released
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    store.append("exchanges", _row("late", 1))
    assert store.query("SELECT count(*) AS n FROM exchanges")[0]["n"] == 0
    blocker.execute("COMMIT")
    store.flush()
    assert store.query("SELECT count(*) AS n FROM exchanges WHERE session_id='late'")[0]["n"] == 1


def test_the_writer_survives_its_own_errors_and_keeps_every_row(store, monkeypatch):
    from chat.storage import store as store_module

    real = Store._write_row
    calls = {"n": 0}

    def flaky(self, conn, table, row, mode):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("a bug in the writer")
        return real(self, conn, table, row, mode)

    monkeypatch.setattr(store_module.Store, "_write_row", flaky)
    store.append("exchanges", _row("a", 1))
    store.flush()
    store.append("exchanges", _row("b", 2))  # the thread is still alive and writing
    store.flush()
    # the failed row was kept, not dropped: spilled, then imported as soon as the log took a write again
    assert sorted(r["session_id"] for r in store.query("SELECT session_id FROM exchanges")) == ["a", "b"]
    assert not store.spill_path.exists()
    monkeypatch.undo()
    Store(store.path)  # a start imports nothing twice
    assert sorted(r["session_id"] for r in store.query("SELECT session_id FROM exchanges")) == ["a", "b"]


def test_an_integrity_error_is_retried_row_by_row(store):
    first = _row("x", 1)
    store.append("exchanges", first)
    store.flush()
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # so the next rows land in one batch
    store.append("exchanges", _row("y", 2))
    store.append("exchanges", dict(first, prompt="a duplicate id"))
    store.append("exchanges", _row("z", 3))
    blocker.execute("COMMIT")
    store.flush()
    assert sorted(r["session_id"] for r in store.query("SELECT session_id FROM exchanges")) == ["x", "y", "z"]
    assert "a duplicate id" in store.rejected_path.read_text()  # kept for a person, never retried over the first
    assert store.exchange(first["id"]).prompt == "p1"


def test_a_full_queue_pushes_back_and_then_spills(tmp_path, monkeypatch):
    from chat.storage import store as store_module

    monkeypatch.setattr(store_module, "QUEUE_LIMIT", 5)
    monkeypatch.setattr(store_module, "PUT_TIMEOUT_S", 0.3)
    s = Store(tmp_path / "q.db")
    blocker = sqlite3.connect(s.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    for i in range(12):
        s.append("exchanges", _row("q", i))  # blocks (back-pressure), then spills what cannot wait
    assert s._queue.qsize() <= 5
    blocker.execute("COMMIT")
    s.flush()
    Store(s.path)
    assert s.query("SELECT count(*) AS n FROM exchanges")[0]["n"] == 12


def test_flush_waits_only_for_rows_queued_before_it(store, monkeypatch):
    from chat.storage import store as store_module

    real = Store._write_row

    def slow(self, conn, table, row, mode):
        time.sleep(0.005)
        return real(self, conn, table, row, mode)

    monkeypatch.setattr(store_module.Store, "_write_row", slow)
    stop = threading.Event()

    def producer():  # faster than the writer, for ever: the queue never drains
        i = 0
        while not stop.is_set():
            store.append("exchanges", _row("p", i % 60))
            i += 1
            time.sleep(0.001)

    t = threading.Thread(target=producer)
    t.start()
    try:
        time.sleep(0.2)
        store.append("exchanges", _row("mine", 1))
        assert store.flush(timeout=60)  # returns once "mine" is written, though rows keep coming
        assert store.query("SELECT count(*) AS n FROM exchanges WHERE session_id = 'mine'")[0]["n"] == 1
        assert store._queued > store._finished  # the producer's later rows were not waited for
    finally:
        stop.set()
        t.join()


def test_spill_import_is_idempotent_and_never_demotes_a_finished_row(tmp_path):
    path = tmp_path / "s.db"
    Store(path)
    spill = Path(str(path) + ".unwritten.jsonl")
    done = {"id": "e1", "session_id": "s", "status": "ok", "reply": "finished", "model": "m"}
    start = {"id": "e1", "session_id": "s", "status": "streaming", "model": "m"}
    spill.write_text("\n".join(json.dumps({"table": "exchanges", "row": r, "mode": "upsert"})
                               for r in (start, done, start)) + "\nnot json\n")
    Store(path)
    Store(path)
    rows = Store(path).query("SELECT id, status, reply FROM exchanges")
    assert rows == [{"id": "e1", "status": "ok", "reply": "finished"}]
    assert not spill.exists() and "not json" in Path(str(path) + ".rejected.jsonl").read_text()


def test_a_streaming_row_of_a_live_process_is_left_alone(store):
    from chat.storage.store import process_tag

    store.append("exchanges", dict(_row("live", 1), status="streaming", process=process_tag()))
    store.append("exchanges", dict(_row("dead", 2), status="streaming", process="nohost:999999:1"))
    store.flush()
    Store(store.path)
    statuses = {r["session_id"]: r["status"] for r in store.query("SELECT session_id, status FROM exchanges")}
    assert statuses["live"] == "streaming"  # another process on this file may still be streaming it


def test_messages_of_a_rolled_back_batch_are_written_again(store):
    import json as _json

    first = {"id": "m1", "created_at": "2026-11-23T00:00:00Z", "model": "m", "status": "ok", "prompt": "p",
             "system": "a long shared system prompt", "messages_json": _json.dumps(
                 [{"role": "system", "content": "a long shared system prompt"}, {"role": "user", "content": "p"}])}
    store.append("exchanges", dict(first, id="m0"))
    store.flush()
    # the batch fails on its duplicate id after inserting a new message; the rows are retried one by one
    store.append_many("exchanges", [dict(first, id="m1", messages_json=_json.dumps(
        [{"role": "user", "content": "brand new message"}])), dict(first, id="m0")])
    store.flush()
    store.append("exchanges", dict(first, id="other"))  # a commit in between
    store.flush()
    store.append("exchanges", dict(first, id="m2", messages_json=_json.dumps(
        [{"role": "user", "content": "brand new message"}])))
    store.flush()
    assert _json.loads(store.exchange("m2")["messages_json"]) == [{"role": "user", "content": "brand new message"}]
