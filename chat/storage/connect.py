"""Which backend a target names, opened: a file path is SQLite, a postgresql:// URL is PostgreSQL. Apart from the
interface (chat.storage.backend), which both backends build on."""
from __future__ import annotations

from pathlib import Path

from chat.storage.backend import Backend, default_target, is_url


def open_backend(target: str | Path | None = None) -> Backend:
    """A file path (SQLite, default logs/chat.db or CHAT_DB) or a postgresql:// URL."""
    target = target or default_target()
    if is_url(target):
        from chat.storage.postgres_backend import PostgresBackend

        return PostgresBackend(str(target))
    from chat.storage.sqlite_backend import SqliteBackend

    return SqliteBackend(Path(target))
