"""The log: opening and migrating it, one background writer, and reads, on either engine (the spend ledger it
keeps is ledger.py's).

Where the log lives (a SQLite file, or a PostgreSQL URL shared by several hosts) is the backend's business
(backend.py); everything here is the same for both.
"""
from __future__ import annotations

import atexit
import concurrent.futures
import json
import logging
import os
import queue
import threading
import time
import weakref
from pathlib import Path

from chat.clock import now_iso
from chat.storage.backend import DEFAULT_DB, Backend, StoreError, default_target
from chat.storage.connect import open_backend
from chat.storage.grams import grams
from chat.storage.leases import dead_owners, interrupt, lease_seconds, process_tag, release, renew
from chat.storage.ledger import SpendLedger
from chat.storage.rows import Exchange, MessageCache, Rating, Run, SpendEntry, Vote, split_exchange

log = logging.getLogger(__name__)
QUEUE_LIMIT = 10_000  # rows waiting for the disk; past this, append() blocks (back-pressure)
PUT_TIMEOUT_S = 30.0  # a producer blocked this long writes its row to the spill file instead
WRITE_ATTEMPTS = 8  # busy retries per batch (each waits up to BUSY_TIMEOUT_MS) before it is spilled
OPEN_ATTEMPTS = 5  # a log another process is creating at the same moment can be busy for an instant
_BATCH = 200
_STOP = object()
_stores: weakref.WeakSet[Store] = weakref.WeakSet()


def default_path() -> Path:
    return Path(default_target() or DEFAULT_DB)


_KEYS = {"spend": "exchange_id"}


def _upsert_sql(table: str, columns: list[str]) -> str:
    key = _KEYS.get(table, "id")
    cols = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c != key)
    guard = ""
    if table == "exchanges":
        # a late 'streaming' row (replayed from the spill file) never overwrites the finished one
        guard = " WHERE exchanges.status IN ('streaming', 'interrupted') OR excluded.status != 'streaming'"
    return f'INSERT INTO "{table}" ({cols}) VALUES ({marks}) ON CONFLICT("{key}") DO UPDATE SET {updates}{guard}'



Record = Exchange | Run | Rating | Vote | SpendEntry


def _row(row: Record | dict) -> dict:
    """A record as the row storage writes (its own copy: the queue must not see a caller's later change)."""
    return dict(row) if isinstance(row, dict) else row.to_row()

class Store(SpendLedger):
    """Appends rows from a bounded queue on one writer thread, so logging never blocks a stream for long."""

    def __init__(self, path: str | Path | None = None):
        self.backend: Backend = open_backend(path)
        self.where = self.backend.shown()  # for people: the file, or the URL without its password
        self.path = getattr(self.backend, "path", None)  # the SQLite file (None on PostgreSQL)
        base = self.backend.spill_base()
        self.spill_path = base.with_suffix(base.suffix + ".unwritten.jsonl")  # rows the log could not take yet
        self.rejected_path = base.with_suffix(base.suffix + ".rejected.jsonl")  # rows it refused: for a person
        self.process = process_tag()
        self._spill_lock = threading.Lock()
        self._messages = MessageCache()  # the writer thread's; also used by the import at start
        for attempt in range(OPEN_ATTEMPTS):
            try:
                self._migrate()
                break
            except StoreError:
                raise
            except self.backend.Error as exc:  # locked, damaged, not a log, a server that is down: one line
                if self.backend.busy(exc) and attempt < OPEN_ATTEMPTS - 1:
                    time.sleep(0.2 * 2**attempt)  # another process is creating or migrating it this moment
                    continue
                said = " ".join(str(exc).split())[:300]
                raise StoreError(f"the log at {self.where} could not be opened ({said}); check --db / CHAT_DB") from None
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_LIMIT)
        self._cond = threading.Condition()
        self._queued = 0  # items ever queued; the writer finishes them in order
        self._finished = 0
        self._inflight: list = []
        self._closed = False
        self._spilled = False
        self._thread = threading.Thread(target=self._write_loop, name=f"chat-store-writer:{base.name}", daemon=True)
        self._thread.start()
        self.started_at = now_iso()
        self._stopping = threading.Event()
        self._beating = None
        if self.backend.shared:  # several hosts: each holds a lease on its replies in flight, taken before any
            self._lease_conn = self.backend.connect()
            renew(self._lease_conn, self.process, self.started_at)
            self._beating = threading.Thread(target=self._beat, name=f"chat-store-lease:{base.name}", daemon=True)
            self._beating.start()
        _stores.add(self)

    def _migrate(self) -> None:
        conn = self.backend.connect()
        try:
            if not self._start_work(conn):
                return  # nothing to write: never wait on a lock another connection holds
            # the write lock (SQLite) or an advisory lock (PostgreSQL) serialises processes opening the log at once
            try:
                self.backend.begin(conn)
            except self.backend.Error as exc:
                if not self.backend.busy(exc) or self.backend.pending(conn):
                    raise StoreError(f"{self.where} is locked by another program ({exc}); close it "
                                     "and start again") from None
                log.warning("chat store: %s is locked; the spill file will be imported at a later start", self.where)
                return
            try:
                self.backend.migrate(conn)
                self._import_spill(conn)
                self._mark_interrupted(conn)
                conn.execute("COMMIT")
                self._messages.commit()
            except BaseException:
                conn.execute("ROLLBACK")
                self._messages.rollback()
                raise
        finally:
            conn.close()

    def _start_work(self, conn) -> bool:
        """Whether opening needs the write lock: a migration, a spill file to import, rows to mark interrupted."""
        if self.backend.pending(conn) or any(self.spill_path.parent.glob(self.spill_path.name + "*")):
            return True
        return bool(dead_owners(conn, self.process))

    def _import_spill(self, conn) -> None:
        """Rows an earlier process could not write: imported once, idempotently by id."""
        pending = sorted(self.spill_path.parent.glob(self.spill_path.name + "*"))
        for path in pending:
            claimed = path if ".importing." in path.name else path.with_name(f"{self.spill_path.name}.importing.{os.getpid()}")
            try:
                if claimed != path:
                    with self._spill_lock:  # a spill writing now goes to a new file, not to the one being imported
                        path.rename(claimed)  # another process starting now cannot import the same rows twice
                lines = claimed.read_text(encoding="utf-8").splitlines()
            except OSError:
                continue
            for line in lines:
                try:
                    item = json.loads(line)
                    self._write_row(conn, item["table"], item["row"], item.get("mode", "upsert"))
                except (ValueError, KeyError, TypeError, self.backend.Error) as exc:
                    self._reject(line, exc)
            claimed.unlink(missing_ok=True)
            log.warning("chat store: imported %d rows from %s", len(lines), path.name)

    def _reject(self, line: str, exc: Exception) -> None:
        # kept, never dropped: a person can read or repair it
        rejected = self.rejected_path
        with self._spill_lock, rejected.open("a", encoding="utf-8") as fh:
            fh.write(line.rstrip("\n") + "\n")
        log.error("chat store: a row the log refused (%s) is kept in %s", " ".join(str(exc).split())[:200], rejected)

    def _mark_interrupted(self, conn) -> None:
        """Rows left 'streaming' by a process that no longer runs (killed mid-reply, or its host died)."""
        interrupt(conn, dead_owners(conn, self.process))

    def _beat(self) -> None:
        """Renew this process's lease, and settle what processes gone quiet past theirs left in flight. On a
        connection of its own, so a slow write never holds the lease back, nor a lease the rows."""
        every, conn = lease_seconds() / 3, self._lease_conn
        while not self._stopping.wait(every):
            try:
                conn = conn or self.backend.connect()
                self.backend.begin(conn)
                renew(conn, self.process, self.started_at)
                self._mark_interrupted(conn)
                conn.execute("COMMIT")
            except Exception as exc:  # the database may be down for a while: the next beat tries again
                log.warning("chat store: could not renew this process's lease (%s)", " ".join(str(exc).split())[:200])
                self._discard(conn)
                conn = None
        if conn is not None:
            try:
                release(conn, self.process)  # a clean exit: nothing of this process is in flight any more
            except self.backend.Error:
                pass  # the database went first: the lease simply runs out
            finally:
                conn.close()

    # ---- writing -------------------------------------------------------
    def append(self, table: str, row: Record | dict) -> int:
        """Queue a new row; returns its ticket at once. A row whose id is already there is refused, not replaced."""
        return self._put(("rows", table, [_row(row)], "insert"))

    def upsert(self, table: str, row: Record | dict) -> int:
        """Queue a row that replaces the one with the same id (a finished exchange over its 'streaming' row)."""
        return self._put(("rows", table, [_row(row)], "upsert"))

    def append_many(self, table: str, rows: list[Record] | list[dict]) -> int:
        """Queue rows that are written in one transaction: all of them or none."""
        return self._put(("rows", table, [_row(r) for r in rows], "insert"))

    @property
    def backlogged(self) -> bool:
        """Rows of this process wait in the spill file: the log would not take a write lately (locked, or down)."""
        return self._spilled

    def write_now(self, table: str, row: Record | dict, wait_s: float) -> bool:
        """Upsert a row and wait until it is on disk; past wait_s it also goes to the spill file. True if written."""
        return self._written(table, _row(row), wait_s, self.upsert(table, row), "upsert")

    def insert_now(self, table: str, row: Record | dict, wait_s: float) -> bool:
        """Insert a new row and wait until it is on disk, as write_now does."""
        return self._written(table, _row(row), wait_s, self.append(table, row), "insert")

    def _written(self, table: str, row: dict, wait_s: float, ticket: int, mode: str) -> bool:
        # a log that refused the last rows is not waited for again: the spill file holds this one at once (and the
        # queue still writes it once the log takes writes again, which ends the backlog)
        if self.wait(ticket, 0 if self._spilled else wait_s):
            return True
        self._spill([(table, [dict(row)], mode)])
        return False

    def _put(self, item) -> int:
        if self._closed:
            self._spill([item[1:]])
            return 0
        try:
            with self._cond:
                # counted before the put, so a flush() right after sees it
                self._queued += 1
                ticket = self._queued
            self._queue.put(item, timeout=PUT_TIMEOUT_S)
            return ticket
        except queue.Full:
            log.error("chat store: the write queue stayed full for %.0fs; spilling a row", PUT_TIMEOUT_S)
            self._spill([item[1:]])
            self._done(1)
            return ticket

    def call(self, fn, timeout: float | None = 60):
        """Run fn(connection) on the writer thread inside BEGIN IMMEDIATE; returns its result."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        if self._closed:
            raise RuntimeError("the log is closed")
        with self._cond:
            self._queued += 1
        self._queue.put(("call", fn, future))
        return future.result(timeout)

    def call_soon(self, fn) -> None:
        """Queue fn(connection) for the writer thread, in order with the rows, without waiting for it."""
        if not self._closed:
            with self._cond:
                self._queued += 1
            self._queue.put(("call", fn, concurrent.futures.Future()))

    def wait(self, ticket: int, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._finished < ticket:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def flush(self, timeout: float | None = 30) -> bool:
        """Wait until every row queued before this call is written (or spilled); True if all were."""
        with self._cond:
            target = self._queued
        done = self.wait(target, timeout)
        if not done:
            log.warning("chat store: rows still queued after %.0fs", timeout)
        return done

    def close(self, timeout: float = 10) -> None:
        """Flush; whatever the disk did not take in time goes to the spill file, which the next start imports."""
        if self._closed:
            return
        self._stopping.set()
        if self._beating is not None:
            self._beating.join(timeout)
        if not self.flush(timeout):
            self._closed = True
            left, drained = list(self._inflight), 0
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                drained += 1
                if item is _STOP:
                    continue
                if item[0] == "rows":
                    left.append(item[1:])
                elif not item[2].done():
                    item[2].set_exception(RuntimeError("the log closed before this could be written"))
            self._spill(left)
            self._done(drained)
        self._closed = True
        self._queue.put(_STOP)
        self.backend.close()  # a pool of read connections, on PostgreSQL (a later read opens a new one)

    def _done(self, n: int) -> None:
        with self._cond:
            self._finished += n
            self._cond.notify_all()

    def _write_loop(self) -> None:
        conn = None
        carry = None  # a call met while gathering rows: it runs next, so order is kept
        while True:
            item, carry = (carry, None) if carry is not None else (self._queue.get(), None)
            if item is _STOP:
                break
            batch = [item]
            while item[0] == "rows" and len(batch) < _BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP or nxt[0] != "rows":
                    carry = nxt
                    break
                batch.append(nxt)
            try:
                if conn is None:
                    conn = self.backend.connect()
                if item[0] == "call":
                    written = self._run_call(conn, item[1], item[2])
                else:
                    self._inflight = [b[1:] for b in batch]
                    written = self._write_batch(conn, self._inflight)
            except BaseException as exc:  # the writer must survive anything, or every later row is lost
                log.exception("chat store writer failed; the rows go to the spill file")
                if item[0] == "call":
                    if not item[2].done():
                        item[2].set_exception(exc)
                else:
                    self._spill([b[1:] for b in batch])
                self._discard(conn)  # the failed batch may hold the write lock: release it, reconnect next time
                conn = None
            else:
                if written and self._spilled and not self._closed:
                    self._import_now(conn)
            finally:
                self._inflight = []
                self._done(len(batch))
            if conn is not None and self.backend.broken(conn):  # the server went away: a fresh connection next time
                self._discard(conn)
                conn = None

    def _discard(self, conn) -> None:
        self._messages.rollback()
        if conn is None:
            return
        try:
            if self.backend.in_transaction(conn):
                conn.execute("ROLLBACK")
            conn.close()
        except self.backend.Error:
            pass

    def _run_call(self, conn, fn, future) -> bool:
        """Run fn in a write transaction, its result or error to the future; True if it committed."""
        for attempt in range(WRITE_ATTEMPTS):
            try:
                self.backend.begin(conn)
                result = fn(conn)
                conn.execute("COMMIT")
                self._messages.commit()
                future.set_result(result)
                return True
            except self.backend.Error as exc:
                self._rollback(conn)
                if not self.backend.busy(exc):
                    future.set_exception(exc)
                    return False
                time.sleep(min(1.0, 0.05 * 2**attempt))
            except BaseException as exc:
                self._rollback(conn)
                future.set_exception(exc)
                return False
        future.set_exception(self.backend.Error("the log stayed locked by another connection"))
        return False

    def _rollback(self, conn) -> None:
        self._messages.rollback()
        try:
            if self.backend.in_transaction(conn):
                conn.execute("ROLLBACK")
        except self.backend.Error:
            pass  # a connection the server dropped has nothing to roll back; the writer replaces it

    def _import_now(self, conn) -> None:
        """Rows spilled while the log could not be written (a lock, a server that was down), imported once it can."""
        self._spilled = False
        try:
            self.backend.begin(conn)
            self._import_spill(conn)
            conn.execute("COMMIT")
            self._messages.commit()
        except self.backend.Error as exc:
            self._rollback(conn)
            self._spilled = True  # still out of reach: the next write tries again
            log.warning("chat store: the spill file waits for a later write (%s)", " ".join(str(exc).split())[:200])

    def _write_batch(self, conn, items) -> bool:
        """Write the rows in one transaction (one by one if one is refused); True if the log took the batch."""
        for attempt in range(WRITE_ATTEMPTS):
            if self._closed:
                break  # close() has spilled this batch already
            try:
                self.backend.begin(conn)
                self.backend.serialize_writes(conn)
                with self.backend.pipelined(conn):
                    for table, rows, mode in items:
                        for row in rows:
                            self._write_row(conn, table, row, mode)
                conn.execute("COMMIT")
                self._messages.commit()
                return True
            except self.backend.Error as exc:
                self._rollback(conn)
                if not self.backend.busy(exc):
                    self._write_one_by_one(conn, items)  # a row the schema refuses: the others still go in
                    return not self.backend.broken(conn)
                log.warning("chat store write failed (%s), retrying", exc)
                time.sleep(min(2.0, 0.05 * 2**attempt))
        if not self._closed:
            self._spill(items)
        return False

    def _write_one_by_one(self, conn, items) -> None:
        # one bad row (a duplicate id, a broken reference) must not take its batch-mates with it
        for table, rows, mode in items:
            try:
                self.backend.begin(conn)
                self.backend.serialize_writes(conn)
                for row in rows:
                    self._write_row(conn, table, row, mode)
                conn.execute("COMMIT")
                self._messages.commit()
            except self.backend.Error as exc:
                self._rollback(conn)
                if self.backend.busy(exc) or self.backend.broken(conn):  # the log, not the row: it goes in later
                    log.error("chat store cannot write a %s row now (%s); spilled", table, exc)
                    self._spill([(table, rows, mode)])
                    continue
                # the row itself is refused (a duplicate id, a broken reference): kept for a person, never retried
                for row in rows:
                    self._reject(json.dumps({"table": table, "row": row, "mode": mode}, ensure_ascii=False,
                                            default=str), exc)

    def _write_row(self, conn, table: str, row: dict, mode: str) -> None:
        if table == "exchanges":
            row = split_exchange(conn, row, self._messages)
        columns = list(row)
        if mode == "upsert":
            sql = _upsert_sql(table, columns)
        else:
            names = ", ".join(f'"{c}"' for c in columns)
            sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" for _ in columns)})'
        indexed = table == "exchanges" and row.get("status", "streaming") != "streaming" and (
            "prompt" in row or "reply" in row)
        text = grams(row.get("prompt"), row.get("reply")) if indexed else ""
        if not text:
            conn.execute(sql, [row[c] for c in columns])
            return
        # the Korean substring index: a finished row's character pairs, under its rowid (its trigger dropped any
        # stale ones when the texts changed)
        self.backend.write_indexed(conn, sql, [row[c] for c in columns], row["id"], text)

    def _spill(self, items) -> None:
        # Last resort so nothing is lost: a JSON-lines file beside the DB, imported at the next start.
        lines = []
        for table, rows, mode in items:
            for row in rows:
                lines.append(json.dumps({"table": table, "row": row, "mode": "upsert" if table == "exchanges" else mode},
                                        ensure_ascii=False, default=str))
        if not lines:
            return
        self._spilled = True  # imported as soon as the log takes a write again
        with self._spill_lock, self.spill_path.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
            fh.flush()
        log.error("chat store: %d rows saved to %s; the next start imports them", len(lines), self.spill_path)

    # ---- reading -------------------------------------------------------
    def forget_messages(self) -> None:
        """After messages were deleted (a purge, on the writer thread): stop trusting the known ids."""
        self._messages.clear()

    def reader(self):
        """A connection for reads, as a context manager (a fresh one on SQLite, one from a pool on PostgreSQL)."""
        return self.backend.reader()

    def query(self, sql: str, params=()) -> list[dict]:
        with self.backend.reader() as conn:
            cursor = conn.execute(sql, params)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    def exchange(self, exchange_id: str) -> Exchange | None:
        """One exchange as it was logged: what was sent rebuilt, money exact."""
        rows = self.query("SELECT * FROM exchanges_full WHERE id = ?", [exchange_id])
        return Exchange.from_row(rows[0]) if rows else None


@atexit.register
def _flush_all() -> None:
    for store in list(_stores):
        store.close(timeout=10)
