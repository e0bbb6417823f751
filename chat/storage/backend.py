"""One interface over the database engines the log can live in: SQLite (a file) and PostgreSQL (a URL).

The store writes and reads through a Backend and never names an engine. What differs between the two (how
to connect, take the write lock, tell a busy database from a broken row, migrate, index Korean pairs, lock a
spend window) is a method here, written once per engine in sqlite_backend.py and postgres_backend.py. The SQL
the store and its queries send is written once, in the subset both engines speak, with `?` placeholders.

To add an engine: subclass Backend in a module of its own, give it a frozen schema, and add its URL scheme to
open_backend; tests/test_storage_contract.py then runs every storage behaviour against it.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

DEFAULT_DB = "logs/chat.db"
DB_HELP = "the log: a SQLite file or a postgresql:// URL (default: CHAT_DB, else logs/chat.db)"


class StoreError(RuntimeError):
    """The log cannot be opened or used: one line saying which log and why, for the edges to print."""


class Backend:
    """What the store needs of an engine. Connections answer execute(sql, params) with a cursor."""

    name: str  # 'sqlite' | 'postgresql'
    shared = False  # reached by processes on other machines, so replies in flight are held by leases
    Error: type[Exception]  # the engine's base error: a row or a statement it refused

    def shown(self) -> str:
        """Where the log is, for people: a path, or a URL without its password."""
        raise NotImplementedError

    def spill_base(self) -> Path:
        """The local file rows go to when the database cannot take them; the next start imports it."""
        raise NotImplementedError

    def connect(self):
        """A connection for the writer thread (autocommit; the store opens its own transactions)."""
        raise NotImplementedError

    def reader(self):
        """A context manager giving a connection for reads."""
        raise NotImplementedError

    def begin(self, conn) -> None:
        """Open a write transaction (SQLite takes the file's write lock here)."""
        raise NotImplementedError

    def busy(self, exc: Exception) -> bool:
        """True when a write failed because others hold the database, so trying again may succeed."""
        raise NotImplementedError

    def in_transaction(self, conn) -> bool:
        raise NotImplementedError

    def broken(self, conn) -> bool:
        """True when the connection can no longer be used (the server went away)."""
        return False

    def migrate(self, conn) -> list[str]:
        """Apply pending migrations inside the caller's transaction; returns their names."""
        raise NotImplementedError

    def pending(self, conn) -> bool:
        raise NotImplementedError

    def known(self) -> list[str]:
        """The migrations this code has, in order."""
        raise NotImplementedError

    def warnings(self, conn) -> list[str]:
        """What about this database would surprise its users (one line each)."""
        return []

    def index_pairs(self, conn, rowid: int, pairs: str) -> None:
        """Store a finished exchange's Korean character pairs (chat.storage.grams) under its rowid."""
        raise NotImplementedError

    def write_indexed(self, conn, sql: str, values: list, exchange_id: str, pairs: str) -> None:
        """Write a finished exchange (sql inserts or upserts it) and then its character pairs under its rowid."""
        written = conn.execute(sql + " RETURNING rowid", values).fetchone()
        if written is not None:  # an upsert the guard turned away returns nothing
            self.index_pairs(conn, written[0], pairs)

    def serialize_writes(self, conn) -> None:
        """Make this transaction's writes to the log take turns with every other writer's, until it ends."""

    def pipelined(self, conn):
        """A context in which a batch's statements may be sent without waiting for each result; errors surface
        by its end at the latest."""
        return contextlib.nullcontext()

    def lock_windows(self, conn, windows: list[tuple[str, str]]) -> None:
        """Serialise reservations on these (scope, key) spend windows until the transaction ends."""
        raise NotImplementedError

    def index_hint(self, index: str) -> str:
        """SQL after a table name that makes the planner read this index ('' where the planner needs no help)."""
        raise NotImplementedError

    def text_match(self, words: list[str], inside: list[str], newest: int | None) -> list[tuple[str, list]]:
        """WHERE clauses (with their values) finding exchanges holding every word as a word prefix and every
        Korean (Chinese, Japanese) run anywhere inside a word. `newest`: only that many newest matches may do."""
        raise NotImplementedError

    def percentiles(self, column: str) -> str | None:
        """SQL for a column's p50 and p95 (chat.quantile's definition) computed by the server, or None where
        reading ranks along an index is faster (SQLite, in process)."""
        return None

    def listed_messages(self) -> str:
        """SQL selecting every message id an exchange lists (what a purge must keep)."""
        raise NotImplementedError

    def compact(self) -> None:
        """Give the space of deleted rows back (after a purge)."""
        raise NotImplementedError

    def close(self) -> None:
        pass


def database_errors() -> tuple[type[Exception], ...]:
    """Every engine's base error, for an edge that words what a database refused."""
    import sqlite3

    try:
        import psycopg
    except ImportError:
        return (sqlite3.Error,)
    return (sqlite3.Error, psycopg.Error)


def is_url(target: str | Path | None) -> bool:
    return str(target or "").startswith(("postgresql://", "postgres://"))


def default_target() -> str:
    return os.environ.get("CHAT_DB") or DEFAULT_DB
