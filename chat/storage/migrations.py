"""Schema changes as an ordered list of functions, each recorded in the DB once applied."""
from __future__ import annotations

import sqlite_utils

MIGRATIONS = []


def migration(fn):
    MIGRATIONS.append(fn)
    return fn


@migration
def m001_exchanges(db: sqlite_utils.Database):
    db["exchanges"].create(
        {
            "id": str,
            "session_id": str,
            "created_at": str,  # UTC ISO 8601
            "provider": str,
            "model": str,
            "system": str,
            "prompt": str,
            "messages_json": str,
            "reply": str,
            "status": str,  # streaming | ok | error | aborted | timeout | interrupted
            "error": str,
            "input_tokens": int,
            "output_tokens": int,
            "cached_tokens": int,
            "cache_write_tokens": int,
            "reasoning_tokens": int,
            "usage_source": str,  # provider | estimate
            "estimate_method": str,
            # Money as TEXT holding a Decimal string: exact, and SQLite's sum() still reads it as a number.
            "uncached_input_cost": str,
            "cached_input_cost": str,
            "cache_write_cost": str,
            "input_cost": str,
            "output_cost": str,
            "cost_usd": str,
            "ttft_ms": float,
            "ttft_any_ms": float,
            "latency_ms": float,
            "output_tokens_per_s": float,
            "gap_p50_ms": float,
            "gap_p95_ms": float,
            "trimmed_turns": int,
            "params_json": str,
            "usage_json": str,
            "pricing_hash": str,
            "compare_id": str,
            "run_id": str,
        },
        pk="id",
    )
    db["exchanges"].create_index(["created_at"])
    db["exchanges"].create_index(["model", "created_at"])
    db["exchanges"].create_index(["session_id", "created_at"])


@migration
def m002_runs_and_ratings(db: sqlite_utils.Database):
    db["exchanges"].add_column("question_id", str)
    db["exchanges"].add_column("repeat_index", int)
    db["exchanges"].create_index(["run_id", "model", "question_id"])
    db["exchanges"].create_index(["compare_id"])
    db["runs"].create(
        {
            "id": str,
            "created_at": str,
            "set_name": str,
            "set_digest": str,
            "set_json": str,  # the questions, system prompt and references as run
            "models_json": str,
            "repeats": int,
            "concurrency": int,
            "params_json": str,
        },
        pk="id",
    )
    db["ratings"].create(
        {
            "id": str,
            "exchange_id": str,
            "created_at": str,
            "rater": str,  # a person's name or login, or the judge model's name
            "rater_kind": str,  # human | judge (never mixed in aggregates)
            "criterion": str,
            "score": float,
            "scale": str,  # 1-5 | pass/fail
            "rationale": str,
            "blind": int,
        },
        pk="id",
        foreign_keys=[("exchange_id", "exchanges", "id")],
    )
    db["ratings"].create_index(["exchange_id"])
    db["votes"].create(
        {"id": str, "compare_id": str, "exchange_id": str, "created_at": str, "rater": str, "vote": str, "blind": int},
        pk="id",
        foreign_keys=[("exchange_id", "exchanges", "id")],
    )


@migration
def m003_start_rows_users_and_spend_ledger(db: sqlite_utils.Database):
    # rows are written when an exchange starts ('streaming') by a process, and finished by it
    db["exchanges"].add_column("user", str)  # the login that asked, when auth is on
    db["exchanges"].add_column("process", str)  # host:pid:start of the process that owns a streaming row
    db.execute("CREATE INDEX idx_exchanges_streaming ON exchanges(process) WHERE status = 'streaming'")
    # Money committed per exchange, shared by every process on this file: caps read it under BEGIN IMMEDIATE.
    # amount_pusd is integer pico-USD (1e-12), so sums are exact; a reservation holds the worst case
    # until the exchange settles it to its real cost, and keeps holding it if the process dies.
    db["spend"].create(
        {"exchange_id": str, "day": str, "created_at": str, "session_key": str, "user": str,
         "amount_pusd": int, "state": str},
        pk="exchange_id",
    )
    db["spend"].create_index(["day"])
    db["spend"].create_index(["session_key"])
    db["spend"].create_index(["user", "day"])
    db.execute(
        "INSERT INTO spend (exchange_id, day, created_at, session_key, user, amount_pusd, state) "
        "SELECT id, substr(created_at, 1, 10), created_at, session_id, NULL, "
        "CAST(round(CAST(cost_usd AS REAL) * 1e12) AS INTEGER), 'settled' FROM exchanges "
        "WHERE cost_usd IS NOT NULL AND CAST(cost_usd AS REAL) > 0"
    )


def pending(conn) -> bool:
    """True when the file lacks a migration (read only: takes no lock)."""
    try:
        done = {row[0] for row in conn.execute("SELECT name FROM _migrations").fetchall()}
    except Exception:  # no _migrations table yet: a new file
        return True
    return any(fn.__name__ not in done for fn in MIGRATIONS)


def apply(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations in order; returns the names applied. Caller holds the write lock."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {row[0] for row in db.execute("SELECT name FROM _migrations").fetchall()}
    applied = []
    for fn in MIGRATIONS:
        if fn.__name__ in done:
            continue
        fn(db)
        db.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, datetime('now'))", [fn.__name__])
        applied.append(fn.__name__)
    return applied
