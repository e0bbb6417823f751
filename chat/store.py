"""The only module that touches SQLite: migrations, one background writer, and reads."""
from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import sqlite3
import threading
import time
import weakref
from decimal import Decimal
from pathlib import Path

import sqlite_utils

from . import migrations

log = logging.getLogger(__name__)
DEFAULT_DB = "logs/chat.db"
BUSY_TIMEOUT_MS = 30_000
_BATCH = 200
_stores: weakref.WeakSet[Store] = weakref.WeakSet()


def default_path() -> Path:
    return Path(os.environ.get("CHAT_DB") or DEFAULT_DB)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class Store:
    """Appends exchanges from a queue on one writer thread, so logging never blocks a stream."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._migrate()
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._write_loop, name=f"chat-store-writer:{self.path.name}", daemon=True)
        self._thread.start()
        _stores.add(self)

    def _migrate(self) -> None:
        conn = _connect(self.path)
        try:
            # BEGIN IMMEDIATE serialises migrations between processes opening the same file at once.
            conn.execute("BEGIN IMMEDIATE")
            try:
                migrations.apply(sqlite_utils.Database(conn))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        finally:
            conn.close()

    # ---- writing -------------------------------------------------------
    def append(self, table: str, row: dict) -> None:
        """Queue a row for insertion; returns at once."""
        self._queue.put((table, dict(row)))

    def flush(self, timeout: float | None = 30) -> None:
        """Block until every queued row is on disk (or timeout seconds pass)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    log.warning("chat store: %d rows still queued after %.0fs", self._queue.unfinished_tasks, timeout)
                    return
                self._queue.all_tasks_done.wait(remaining)

    def _write_loop(self) -> None:
        conn = _connect(self.path)
        db = sqlite_utils.Database(conn)
        while True:
            batch = [self._queue.get()]
            while len(batch) < _BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write_batch(db, conn, batch)
            for _ in batch:
                self._queue.task_done()

    def _write_batch(self, db, conn, batch) -> None:
        for attempt in range(20):
            try:
                conn.execute("BEGIN IMMEDIATE")
                for table, row in batch:
                    db[table].insert(row, alter=False)
                conn.execute("COMMIT")
                return
            except sqlite3.OperationalError as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                log.warning("chat store write failed (%s), retrying", exc)
                time.sleep(min(2.0, 0.05 * 2**attempt))
            except Exception as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                log.error("chat store cannot write rows (%s)", exc)
                break
        self._spill(batch)

    def _spill(self, batch) -> None:
        # Last resort so nothing is lost: a JSON-lines file beside the DB that can be re-imported.
        spill = self.path.with_suffix(self.path.suffix + ".unwritten.jsonl")
        with spill.open("a", encoding="utf-8") as fh:
            for table, row in batch:
                fh.write(json.dumps({"table": table, "row": row}, ensure_ascii=False) + "\n")
        log.error("chat store: %d rows saved to %s instead", len(batch), spill)

    # ---- reading -------------------------------------------------------
    def query(self, sql: str, params=()) -> list[dict]:
        conn = _connect(self.path)
        try:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute(sql, params).fetchall()]
        finally:
            conn.close()

    def exchange(self, exchange_id: str) -> dict | None:
        rows = self.query("SELECT * FROM exchanges WHERE id = ?", [exchange_id])
        return rows[0] if rows else None

    def cost_since(self, since_iso: str) -> Decimal:
        """Exact USD spent since a UTC ISO time (costs are Decimal strings, summed here, not as floats)."""
        rows = self.query("SELECT cost_usd FROM exchanges WHERE created_at >= ? AND cost_usd IS NOT NULL", [since_iso])
        return sum((Decimal(r["cost_usd"]) for r in rows), Decimal(0))


@atexit.register
def _flush_all() -> None:
    for store in list(_stores):
        store.flush(timeout=10)
