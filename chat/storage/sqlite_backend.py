"""The log as one SQLite file: WAL, a busy timeout, and BEGIN IMMEDIATE as the lock every writing process takes."""
from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import sqlite_utils

from chat.storage import migrations
from chat.storage.backend import Backend
from chat.storage.grams import phrase

BUSY_TIMEOUT_MS = 30_000


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA cache_size=-65536")  # 64 MB: a million rows' indexes stay in memory
    return conn


class SqliteBackend(Backend):
    name = "sqlite"
    Error = sqlite3.Error

    def __init__(self, path: Path):
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def shown(self) -> str:
        return str(self.path)

    def spill_base(self) -> Path:
        return self.path

    def connect(self) -> sqlite3.Connection:
        return connect(self.path)

    @contextlib.contextmanager
    def reader(self):
        conn = connect(self.path)
        try:
            yield conn
        finally:
            conn.close()

    def begin(self, conn) -> None:
        conn.execute("BEGIN IMMEDIATE")  # the file's write lock, taken now rather than at the first write

    def busy(self, exc: Exception) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))

    def in_transaction(self, conn) -> bool:
        return conn.in_transaction

    def migrate(self, conn) -> list[str]:
        return migrations.apply(sqlite_utils.Database(conn))

    def known(self) -> list[str]:
        return [fn.__name__ for fn in migrations.MIGRATIONS]

    def pending(self, conn) -> bool:
        return migrations.pending(conn, str(self.path))

    def index_pairs(self, conn, rowid: int, pairs: str) -> None:
        conn.execute("INSERT OR REPLACE INTO exchanges_grams (rowid, grams) VALUES (?, ?)", [rowid, pairs])

    def lock_windows(self, conn, windows: list[tuple[str, str]]) -> None:
        pass  # BEGIN IMMEDIATE already holds the whole file for the reservation

    def compact(self) -> None:
        with self.reader() as conn:
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def index_hint(self, index: str) -> str:
        return f" INDEXED BY {index}"

    def text_match(self, words: list[str], inside: list[str], newest: int | None) -> list[tuple[str, list]]:
        cut = f" ORDER BY rowid DESC LIMIT {int(newest)}" if newest else ""
        out = []
        if words:  # FTS5 prefix terms, all required
            query = " ".join('"' + w.replace('"', '""') + '"*' for w in words)
            out.append((f"rowid IN (SELECT rowid FROM exchanges_fts WHERE exchanges_fts MATCH ?{cut})", [query]))
        if inside:  # each run's pairs, adjacent and in order
            query = " ".join(phrase(run) for run in inside)
            out.append((f"rowid IN (SELECT rowid FROM exchanges_grams WHERE exchanges_grams MATCH ?{cut})", [query]))
        return out

    def listed_messages(self) -> str:
        return ("SELECT j.value FROM exchanges e, json_each(e.message_ids) j "
                "UNION SELECT system_id FROM exchanges WHERE system_id IS NOT NULL")
