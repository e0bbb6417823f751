"""How an exchange row is stored: each message text once, by content address; money as numbers."""
from __future__ import annotations

import hashlib
import json
from typing import Literal, get_args

Status = Literal["ok", "error", "aborted", "timeout", "interrupted", "streaming"]
STATUSES: tuple[Status, ...] = get_args(Status)  # an exchange's status column holds one of these, nothing else
MONEY = ("cost_usd", "input_cost", "output_cost", "uncached_input_cost", "cached_input_cost", "cache_write_cost",
         "compute_cost")


def message_id(role: str, content) -> str:
    """The content address of a message (role and text), so each is stored once however often it is sent."""
    return hashlib.sha256(f"{role}\x00{content}".encode("utf-8", "surrogatepass")).hexdigest()[:24]


class MessageCache:
    """Ids the writer knows are on disk, so a conversation's repeated messages cost no insert each turn.

    An id counts as known only once its transaction commits; a rollback forgets what it inserted.
    """

    LIMIT = 100_000

    def __init__(self):
        self.known: set[str] = set()
        self.pending: set[str] = set()

    def commit(self) -> None:
        if len(self.known) + len(self.pending) > self.LIMIT:
            self.known.clear()
        self.known |= self.pending
        self.pending.clear()

    def rollback(self) -> None:
        self.pending.clear()

    def clear(self) -> None:
        self.known.clear()
        self.pending.clear()


def split_exchange(conn, row: dict, cache: MessageCache | None = None) -> dict:
    """A row as the engine logs it -> the stored shape: messages stored once by id, money as numbers."""
    row = dict(row)
    if "system" in row:
        system = row.pop("system")
        row["system_id"] = _put_message(conn, "system", system, cache) if system else None
    if "messages_json" in row:
        raw = row.pop("messages_json")
        messages = json.loads(raw) if raw else []
        row["message_ids"] = json.dumps([_put_message(conn, m.get("role"), m.get("content"), cache)
                                         for m in messages])
    if any(key in row for key in MONEY):
        exact = {key: str(row[key]) for key in MONEY if row.get(key) is not None}
        row["cost_exact"] = json.dumps(exact) if exact else None
        for key in exact:
            row[key] = float(row[key])
    return row


def _put_message(conn, role, content, cache: MessageCache | None) -> str:
    if not isinstance(content, str):
        content = json.dumps(content, ensure_ascii=False)
    key = message_id(role, content)
    if cache is None or key not in cache.known:
        conn.execute("INSERT OR IGNORE INTO messages (id, role, content) VALUES (?, ?, ?)", [key, role, content])
        if cache is not None:
            cache.pending.add(key)
    return key


def exact_money(row: dict) -> dict:
    """A stored row with its money as exact Decimal strings again (the REAL columns are for SQL)."""
    exact = row.pop("cost_exact", None)
    if exact:
        row.update(json.loads(exact))
    return row
