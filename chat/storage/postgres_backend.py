"""The log in PostgreSQL, shared by every app host that has its URL: psycopg 3, a pool for reads, row locks for caps.

The store's SQL is written once with `?` placeholders; a connection here sends it in psycopg's `%s` form.
Migrations run under an advisory lock, so hosts starting together take turns. A reservation locks one row
per cap and window (spend_windows), so two hosts reserving against the same daily cap take turns while two
different sessions' caps do not wait on each other.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import errors
from psycopg.types.numeric import NumericLoader

from chat.storage import postgres_schema
from chat.storage.backend import Backend
from chat.storage.grams import pairs

log = logging.getLogger(__name__)
# the expression idx_exchanges_words indexes: a query must say it the same way to use it
WORDS = "to_tsvector('simple', coalesce(prompt, '') || ' ' || coalesce(reply, ''))"
POOL_SIZE = 8  # read connections per process; the writer has its own
CONNECT_TIMEOUT_S = 10
# Sort memory for a read connection. Stats' percentiles sort each model's latencies on the server: at a million
# rows the largest model's fit in 32 MB, and an in-memory sort takes half the time of the default 4 MB's spill to
# disk. A URL that sets its own options keeps them.
READ_WORK_MEM = "64MB"
WRITE_LOCK_KEY = 0x63686174_6C6F67  # 'chatlog': batches of rows take turns (the migrations' lock is another key)


@functools.lru_cache(maxsize=4096)
def pyformat(sql: str) -> str:
    """`?` placeholders as psycopg's `%s`, and a literal `%` doubled; quoted text and names are left alone."""
    out, quote = [], None
    for ch in sql:
        if quote:
            out.append("%%" if ch == "%" else ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


class _WholeOrFloat(NumericLoader):
    """numeric as SQLite gives it: sum() over integers is a whole number, anything else a float. No column holds
    numeric (money is exact as text), so only aggregates and casts arrive here."""

    def load(self, data):
        value = super().load(data)
        return int(value) if value == value.to_integral_value() else float(value)


class Connection:
    """A psycopg connection that takes the store's SQL (`?` placeholders), as sqlite3's does."""

    def __init__(self, raw: psycopg.Connection):
        self.raw = raw
        raw.adapters.register_loader("numeric", _WholeOrFloat)

    def execute(self, sql: str, params=()):
        return self.raw.execute(pyformat(sql), list(params)) if params else self.raw.execute(sql)

    def executemany(self, sql: str, rows):
        with self.raw.cursor() as cur:
            cur.executemany(pyformat(sql), [list(r) for r in rows])
            return cur

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def close(self) -> None:
        self.raw.close()


def _hidden(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


class PostgresBackend(Backend):
    name = "postgresql"
    shared = True
    Error = psycopg.Error

    def __init__(self, url: str):
        self.url = url
        self._pool = None
        self._pool_lock = threading.Lock()
        self._closed = False

    def shown(self) -> str:
        return _hidden(self.url)

    def spill_base(self) -> Path:
        # each host keeps what it could not write in its own folder, and imports it at its next start
        digest = hashlib.sha256(self.shown().encode()).hexdigest()[:12]
        folder = Path(os.environ.get("CHAT_SPILL_DIR") or "logs")
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"postgres-{digest}.db"

    def _raw(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)

    def connect(self) -> Connection:
        return Connection(self._raw())

    @contextlib.contextmanager
    def reader(self):
        from psycopg_pool import ConnectionPool

        with self._pool_lock:
            pool = self._pool
            if pool is None and not self._closed:
                # each connection is checked as it is taken: after a server restart a dead one is replaced, not used
                pool = self._pool = ConnectionPool(self.url, min_size=1, max_size=POOL_SIZE, open=True, timeout=30,
                                                   check=ConnectionPool.check_connection,
                                                   kwargs=self._read_settings(), name="chat-log-readers")
        if pool is None:
            # a read after close (a background learner finishing late) gets a connection of its own: a pool opened
            # now would outlive the log, its threads reconnecting for ever to a database that may be gone
            with psycopg.connect(self.url, **self._read_settings()) as raw:
                yield Connection(raw)
            return
        with pool.connection() as raw:
            yield Connection(raw)

    def _read_settings(self) -> dict:
        settings = {"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S}
        if "options=" not in urlsplit(self.url).query:
            settings["options"] = f"-c work_mem={READ_WORK_MEM}"
        return settings

    def begin(self, conn: Connection) -> None:
        conn.execute("BEGIN")

    def busy(self, exc: Exception) -> bool:
        return isinstance(exc, (errors.SerializationFailure, errors.DeadlockDetected, errors.LockNotAvailable))

    def in_transaction(self, conn: Connection) -> bool:
        return conn.in_transaction

    def broken(self, conn: Connection) -> bool:
        return conn.raw.closed or conn.raw.broken

    def _done(self, conn: Connection) -> set[str]:
        if conn.execute("SELECT to_regclass('_migrations')").fetchone()[0] is None:
            return set()
        return {r[0] for r in conn.execute("SELECT name FROM _migrations").fetchall()}

    def known(self) -> list[str]:
        return [name for name, _ in postgres_schema.MIGRATIONS]

    def warnings(self, conn: Connection) -> list[str]:
        ctype = conn.execute("SELECT datctype FROM pg_database WHERE datname = current_database()").fetchone()[0]
        if ctype in ("C", "POSIX"):
            return [f"the database's LC_CTYPE is {ctype}, so Korean text is not searchable; create it with "
                    "-E UTF8 --locale=C.UTF-8 (or another UTF-8 locale)"]
        return []

    def pending(self, conn: Connection) -> bool:
        from chat.storage.migrations import check_known

        done = self._done(conn)
        check_known(done, [name for name, _ in postgres_schema.MIGRATIONS], self.shown())
        return any(name not in done for name, _ in postgres_schema.MIGRATIONS)

    def migrate(self, conn: Connection) -> list[str]:
        from chat.clock import now_iso
        from chat.storage.migrations import check_known

        conn.execute("SELECT pg_advisory_xact_lock(?)", [postgres_schema.LOCK_KEY])  # held to the commit
        conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        done = self._done(conn)
        check_known(done, [name for name, _ in postgres_schema.MIGRATIONS], self.shown())
        applied = []
        for name, statements in postgres_schema.MIGRATIONS:
            if name in done:
                continue
            for statement in statements:
                conn.execute(statement)
            conn.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", [name, now_iso()])
            applied.append(name)
        for warning in self.warnings(conn):
            log.warning("chat store: %s", warning)
        return applied

    def index_pairs(self, conn: Connection, rowid: int, pairs: str) -> None:
        conn.execute("INSERT INTO exchanges_grams (rowid, grams) VALUES (?, ?) "
                     "ON CONFLICT (rowid) DO UPDATE SET grams = excluded.grams", [rowid, sorted(set(pairs.split()))])

    def write_indexed(self, conn: Connection, sql: str, values: list, exchange_id: str, pairs: str) -> None:
        # the pairs found by id, not by a RETURNING the client waits for, so a batch goes out in one pipeline; a
        # finished row's upsert always applies (the guard turns away only a late 'streaming' one)
        conn.execute(sql, values)
        conn.execute("INSERT INTO exchanges_grams (rowid, grams) SELECT rowid, ? FROM exchanges WHERE id = ? "
                     "ON CONFLICT (rowid) DO UPDATE SET grams = excluded.grams",
                     [sorted(set(pairs.split())), exchange_id])

    def serialize_writes(self, conn: Connection) -> None:
        # A batch's rows add to the hourly rollup's rows in the order they come; two hosts' batches touching the
        # same rows in different orders deadlocked (one in five batches at two writers), and every retry wrote
        # the whole batch again. Batches take turns instead, as they do on SQLite under BEGIN IMMEDIATE.
        conn.execute("SELECT pg_advisory_xact_lock(?)", [WRITE_LOCK_KEY])

    def pipelined(self, conn: Connection):
        return conn.raw.pipeline()

    def lock_windows(self, conn: Connection, windows: list[tuple[str, str]]) -> None:
        # always in the same order, so two reservations never wait on each other's second lock
        for scope, key in sorted(set(windows)):
            conn.execute("INSERT INTO spend_windows (scope, key) VALUES (?, ?) ON CONFLICT DO NOTHING", [scope, key])
            conn.execute("SELECT 1 FROM spend_windows WHERE scope = ? AND key = ? FOR UPDATE", [scope, key])

    def index_hint(self, index: str) -> str:
        return ""  # the planner picks the covering index itself

    def text_match(self, words: list[str], inside: list[str], newest: int | None) -> list[tuple[str, list]]:
        out = []
        if words:  # every word as a prefix, through the expression index over the 'simple' configuration
            query = " & ".join("'" + w.replace("\\", "\\\\").replace("'", "''") + "':*" for w in words)
            out.append((f"{WORDS} @@ to_tsquery('simple', ?) AND status != 'streaming'", [query]))
        for run in inside:  # the pairs index narrows to rows holding every pair; the text itself then decides
            out.append(("rowid IN (SELECT rowid FROM exchanges_grams WHERE grams @> ?) "
                        "AND (strpos(prompt, ?) > 0 OR strpos(reply, ?) > 0)", [pairs(run), run, run]))
        return out

    def percentiles(self, column: str) -> str | None:
        # percentile_cont interpolates linearly between closest ranks: chat.quantile's definition (R's type 7)
        return (f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {column}), "
                f"percentile_cont(0.95) WITHIN GROUP (ORDER BY {column})")

    def listed_messages(self) -> str:
        return ("SELECT j.value FROM exchanges e, jsonb_array_elements_text(coalesce(e.message_ids, '[]')::jsonb) j "
                "UNION SELECT system_id FROM exchanges WHERE system_id IS NOT NULL")

    def compact(self) -> None:
        with self.reader() as conn:
            conn.execute("VACUUM (ANALYZE) exchanges, messages, ratings, votes")

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            if self._pool is not None:
                self._pool.close()
                self._pool = None
