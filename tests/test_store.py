"""The SQLite log: migrations from empty, one writer under concurrency, nothing lost."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import uuid
from pathlib import Path

from chat import migrations
from chat.store import Store

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
    required = ["id", "session_id", "created_at", "provider", "model", "system", "prompt", "messages_json", "reply", "status", "error", "input_tokens", "output_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens", "usage_source", "input_cost", "output_cost", "cost_usd", "ttft_ms", "latency_ms", "output_tokens_per_s", "params_json", "usage_json", "pricing_hash"]
    assert set(required) <= cols
    indexes = {r[1] for r in conn.execute("PRAGMA index_list(exchanges)")}
    assert any("created_at" in i for i in indexes) and any("model" in i for i in indexes)
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
        "import sys, uuid; from chat.store import Store\n"
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
