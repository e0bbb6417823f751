"""Schema changes as an ordered list of functions, each recorded in the DB once applied."""
from __future__ import annotations

import hashlib
import json

import sqlite_utils

from chat.storage.backend import StoreError

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


# ---- m004's own schema and helpers, frozen as m004 shipped them -------------------------------------------
# A database upgraded today must get exactly what one upgraded then got: never edit these (nor any migration);
# change the schema with a new migration. tests/test_migration_upgrade.py holds each migration's digest.
_M004_MONEY = ("cost_usd", "input_cost", "output_cost", "uncached_input_cost", "cached_input_cost", "cache_write_cost")


def _m004_message(conn, role, content) -> str:
    if not isinstance(content, str):
        content = json.dumps(content, ensure_ascii=False)
    key = hashlib.sha256(f"{role}\x00{content}".encode("utf-8", "surrogatepass")).hexdigest()[:24]
    conn.execute("INSERT OR IGNORE INTO messages (id, role, content) VALUES (?, ?, ?)", [key, role, content])
    return key


def _m004_split_exchange(conn, row: dict) -> dict:
    row = dict(row)
    if "system" in row:
        system = row.pop("system")
        row["system_id"] = _m004_message(conn, "system", system) if system else None
    if "messages_json" in row:
        raw = row.pop("messages_json")
        messages = json.loads(raw) if raw else []
        row["message_ids"] = json.dumps([_m004_message(conn, m.get("role"), m.get("content")) for m in messages])
    if any(key in row for key in _M004_MONEY):
        exact = {key: str(row[key]) for key in _M004_MONEY if row.get(key) is not None}
        row["cost_exact"] = json.dumps(exact) if exact else None
        for key in exact:
            row[key] = float(row[key])
    return row


# Money is REAL so it sorts, compares and sums as a number in SQLite and Datasette; the exact Decimal
# amounts are kept beside them as JSON text (cost_exact). Message texts live once in `messages`; a row lists their ids.
_M004_EXCHANGE_COLUMNS = """
    id TEXT PRIMARY KEY,
    created_at TEXT,
    session_id TEXT,
    user TEXT,
    browser_session TEXT,
    provider TEXT,
    model TEXT,
    status TEXT,
    error TEXT,
    prompt TEXT,
    reply TEXT,
    system_id TEXT,
    message_ids TEXT,
    input_tokens INTEGER,
    output_tokens INTEGER,
    cached_tokens INTEGER,
    cache_write_tokens INTEGER,
    reasoning_tokens INTEGER,
    usage_source TEXT,
    estimate_method TEXT,
    cost_usd REAL,
    input_cost REAL,
    output_cost REAL,
    uncached_input_cost REAL,
    cached_input_cost REAL,
    cache_write_cost REAL,
    cost_exact TEXT,
    ttft_ms REAL,
    ttft_any_ms REAL,
    latency_ms REAL,
    output_tokens_per_s REAL,
    gap_p50_ms REAL,
    gap_p95_ms REAL,
    trimmed_turns INTEGER,
    params_json TEXT,
    usage_json TEXT,
    pricing_hash TEXT,
    compare_id TEXT,
    run_id TEXT,
    question_id TEXT,
    repeat_index INTEGER,
    process TEXT
"""


_M004_INDEXES = [
    # the Logs tab's filters, newest first (provider and token source ride the meter index below).
    # By model it also holds the meter columns: per-model aggregates run in index order and read no row.
    "CREATE INDEX idx_exchanges_model ON exchanges(model, created_at, status, provider, usage_source, input_tokens,"
    " output_tokens, cost_usd, ttft_ms, latency_ms, output_tokens_per_s)",
    "CREATE INDEX idx_exchanges_status ON exchanges(status, created_at)",
    "CREATE INDEX idx_exchanges_session ON exchanges(session_id, created_at)",
    "CREATE INDEX idx_exchanges_user ON exchanges(user, created_at)",
    "CREATE INDEX idx_exchanges_browser ON exchanges(browser_session, created_at)",
    "CREATE INDEX idx_exchanges_run ON exchanges(run_id, model, question_id)",
    "CREATE INDEX idx_exchanges_compare ON exchanges(compare_id)",
    "CREATE INDEX idx_exchanges_cost ON exchanges(cost_usd)",
    # percentiles read ranks with ORDER BY … OFFSET along these instead of sorting the rows
    "CREATE INDEX idx_exchanges_latency ON exchanges(latency_ms)",
    "CREATE INDEX idx_exchanges_ttft ON exchanges(ttft_ms)",
    "CREATE INDEX idx_exchanges_model_latency ON exchanges(model, latency_ms)",
    "CREATE INDEX idx_exchanges_model_ttft ON exchanges(model, ttft_ms)",
    # time first: a date range is one stretch of it, and a whole-log aggregate reads it instead of the rows
    "CREATE INDEX idx_exchanges_meter ON exchanges(created_at, model, status, provider, input_tokens, output_tokens,"
    " cost_usd, ttft_ms, latency_ms, output_tokens_per_s, usage_source)",
    "CREATE INDEX idx_exchanges_streaming ON exchanges(process) WHERE status = 'streaming'",
]

_M004_FTS = [
    # the shape sqlite-utils' enable_fts makes, so `sqlite-utils search` and Datasette find it. A reply still
    # streaming is not indexed: its row is written twice (start, then final), and the index is the costliest
    # part of a write.
    "CREATE VIRTUAL TABLE [exchanges_fts] USING FTS5 ([prompt], [reply], tokenize='unicode61 remove_diacritics 2',"
    " content=[exchanges])",
    "CREATE TRIGGER [exchanges_ai] AFTER INSERT ON [exchanges] WHEN new.status IS NOT 'streaming' BEGIN"
    " INSERT INTO [exchanges_fts] (rowid, [prompt], [reply]) VALUES (new.rowid, new.[prompt], new.[reply]); END",
    "CREATE TRIGGER [exchanges_ad] AFTER DELETE ON [exchanges] WHEN old.status IS NOT 'streaming' BEGIN"
    " INSERT INTO [exchanges_fts] ([exchanges_fts], rowid, [prompt], [reply]) VALUES('delete', old.rowid,"
    " old.[prompt], old.[reply]); END",
    "CREATE TRIGGER [exchanges_au] AFTER UPDATE OF [prompt], [reply], [status] ON [exchanges]"
    " WHEN old.status IS NOT 'streaming' BEGIN INSERT INTO [exchanges_fts] ([exchanges_fts], rowid, [prompt],"
    " [reply]) VALUES('delete', old.rowid, old.[prompt], old.[reply]); END",
    "CREATE TRIGGER [exchanges_au_insert] AFTER UPDATE OF [prompt], [reply], [status] ON [exchanges]"
    " WHEN new.status IS NOT 'streaming' BEGIN INSERT INTO [exchanges_fts] (rowid, [prompt], [reply])"
    " VALUES (new.rowid, new.[prompt], new.[reply]); END",
]

# Running totals per hour and meter dimension, kept by triggers: stats over a million rows read thousands.
_M004_ROLLUP_KEY = "hour, model, provider, status, user, usage_source"
_M004_ROLLUP = [
    "CREATE TABLE rollup_hourly (hour TEXT NOT NULL, model TEXT NOT NULL, provider TEXT NOT NULL, status TEXT NOT NULL,"
    " user TEXT NOT NULL, usage_source TEXT NOT NULL, exchanges INTEGER NOT NULL, input_tokens INTEGER NOT NULL,"
    " output_tokens INTEGER NOT NULL, cost_usd REAL NOT NULL, priced INTEGER NOT NULL, unpriced INTEGER NOT NULL,"
    " tps_sum REAL NOT NULL, tps_n INTEGER NOT NULL, ttft_n INTEGER NOT NULL, latency_n INTEGER NOT NULL,"
    f" PRIMARY KEY ({_M004_ROLLUP_KEY})) WITHOUT ROWID",
]


def _m004_unpriced(row: str = "") -> str:  # frozen copy: logs.unpriced is today's
    """SQL: 1 when an exchange used tokens that have no price (a finished row of an unpriced model), else 0."""
    p = f"{row}." if row else ""
    return (f"coalesce({p}cost_usd IS NULL AND {p}status != 'streaming' AND "
            f"(coalesce({p}input_tokens, 0) > 0 OR coalesce({p}output_tokens, 0) > 0), 0)")


def _m004_rollup_add(row: str, sign: str) -> str:
    return (f"INSERT INTO rollup_hourly ({_M004_ROLLUP_KEY}, exchanges, input_tokens, output_tokens, cost_usd, priced,"
            f" unpriced, tps_sum, tps_n, ttft_n, latency_n) VALUES (coalesce(substr({row}.created_at, 1, 13), ''), coalesce({row}.model, ''),"  # noqa: E501 (frozen schema text)
            f" coalesce({row}.provider, ''), coalesce({row}.status, ''), coalesce({row}.user, ''),"
            f" coalesce({row}.usage_source, ''), {sign}1, {sign}coalesce({row}.input_tokens, 0),"
            f" {sign}coalesce({row}.output_tokens, 0), {sign}coalesce({row}.cost_usd, 0),"
            f" {sign}({row}.cost_usd IS NOT NULL), {sign}{_m004_unpriced(row)},"
            f" {sign}coalesce({row}.output_tokens_per_s, 0), {sign}({row}.output_tokens_per_s IS NOT NULL),"
            f" {sign}({row}.ttft_ms IS NOT NULL), {sign}({row}.latency_ms IS NOT NULL))"
            f" ON CONFLICT ({_M004_ROLLUP_KEY}) DO UPDATE SET exchanges = exchanges + excluded.exchanges,"
            " input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens,"
            " cost_usd = cost_usd + excluded.cost_usd, priced = priced + excluded.priced,"
            " unpriced = unpriced + excluded.unpriced,"
            " tps_sum = tps_sum + excluded.tps_sum, tps_n = tps_n + excluded.tps_n,"
            " ttft_n = ttft_n + excluded.ttft_n, latency_n = latency_n + excluded.latency_n;")


_M004_ROLLUP += [
    f"CREATE TRIGGER exchanges_rollup_ai AFTER INSERT ON exchanges BEGIN {_m004_rollup_add('new', '')} END",
    f"CREATE TRIGGER exchanges_rollup_ad AFTER DELETE ON exchanges BEGIN {_m004_rollup_add('old', '-')} END",
    "CREATE TRIGGER exchanges_rollup_au AFTER UPDATE OF created_at, model, provider, status, user, usage_source,"
    " input_tokens, output_tokens, cost_usd, output_tokens_per_s, ttft_ms, latency_ms ON exchanges BEGIN"
    f" {_m004_rollup_add('old', '-')} {_m004_rollup_add('new', '')} END",
]

_M004_VIEWS = {
    # what was sent, rebuilt from the stored-once messages: the old wide row, for people and tools
    "exchanges_full": """
        SELECT e.*,
          (SELECT content FROM messages WHERE id = e.system_id) AS system,
          (SELECT json_group_array(json_object('role', role, 'content', content)) FROM
             (SELECT m.role, m.content FROM json_each(e.message_ids) j JOIN messages m ON m.id = j.value
              ORDER BY j.key)) AS messages_json
        FROM exchanges e""",
    "spend_per_day": """
        SELECT substr(created_at, 1, 10) AS day, model, count(*) AS exchanges,
          sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
          round(sum(cost_usd), 6) AS cost_usd, sum(""" + _m004_unpriced() + """) AS unpriced
        FROM exchanges GROUP BY day, model""",
    "model_summary": """
        SELECT model, provider, count(*) AS exchanges, sum(status != 'ok') AS failed,
          round(1.0 * sum(status != 'ok') / count(*), 4) AS error_rate,
          sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
          round(sum(cost_usd), 6) AS cost_usd, round(avg(ttft_ms), 1) AS ttft_ms_avg,
          round(avg(latency_ms), 1) AS latency_ms_avg, round(avg(output_tokens_per_s), 1) AS tokens_per_s_avg,
          round(1.0 * sum(usage_source = 'estimate') / count(*), 4) AS estimated_share,
          min(created_at) AS first_at, max(created_at) AS last_at
        FROM exchanges GROUP BY model, provider""",
    "errors": """
        SELECT id, created_at, model, provider, status, error, user, session_id, run_id, prompt, cost_usd
        FROM exchanges WHERE status NOT IN ('ok', 'streaming')""",
    "run_models": """
        SELECT e.run_id, r.set_name, r.created_at AS run_created_at, e.model, count(*) AS answers,
          sum(e.status = 'ok') AS ok, sum(e.status != 'ok') AS failed,
          sum(e.input_tokens) AS input_tokens, sum(e.output_tokens) AS output_tokens,
          round(sum(e.cost_usd), 6) AS cost_usd, round(avg(e.ttft_ms), 1) AS ttft_ms_avg,
          round(avg(e.latency_ms), 1) AS latency_ms_avg,
          (SELECT round(avg(score), 3) FROM ratings g JOIN exchanges x ON x.id = g.exchange_id
             WHERE x.run_id = e.run_id AND x.model = e.model AND g.rater_kind = 'human') AS human_score_avg,
          (SELECT round(avg(score), 3) FROM ratings g JOIN exchanges x ON x.id = g.exchange_id
             WHERE x.run_id = e.run_id AND x.model = e.model AND g.rater_kind = 'judge') AS judge_score_avg
        FROM exchanges e LEFT JOIN runs r ON r.id = e.run_id WHERE e.run_id IS NOT NULL
        GROUP BY e.run_id, e.model""",
}


@migration
def m004_numeric_money_messages_once_views_fts(db: sqlite_utils.Database):
    conn = db.conn
    conn.execute("CREATE TABLE messages (id TEXT PRIMARY KEY, role TEXT, content TEXT) WITHOUT ROWID")
    conn.execute(f"CREATE TABLE exchanges_new ({_M004_EXCHANGE_COLUMNS})")
    old = [r[1] for r in conn.execute("PRAGMA table_info(exchanges)")]
    cursor = conn.execute(f"SELECT {', '.join(f'[{c}]' for c in old)} FROM exchanges ORDER BY rowid")
    while batch := cursor.fetchmany(500):
        for values in batch:
            row = _m004_split_exchange(conn, dict(zip(old, values)))
            cols = ", ".join(f"[{c}]" for c in row)
            conn.execute(f"INSERT INTO exchanges_new ({cols}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    conn.execute("DROP TABLE exchanges")
    conn.execute("ALTER TABLE exchanges_new RENAME TO exchanges")
    for sql in _M004_INDEXES + _M004_FTS + _M004_ROLLUP:
        conn.execute(sql)
    conn.execute("INSERT INTO exchanges_fts (rowid, prompt, reply) SELECT rowid, prompt, reply FROM exchanges "
                 "WHERE status IS NOT 'streaming'")
    conn.execute(
        f"INSERT INTO rollup_hourly ({_M004_ROLLUP_KEY}, exchanges, input_tokens, output_tokens, cost_usd, priced, unpriced,"
        " tps_sum, tps_n, ttft_n, latency_n) SELECT coalesce(substr(created_at, 1, 13), ''), coalesce(model, ''), coalesce(provider, ''),"
        " coalesce(status, ''),"
        " coalesce(user, ''), coalesce(usage_source, ''), count(*), coalesce(sum(input_tokens), 0),"
        f" coalesce(sum(output_tokens), 0), coalesce(sum(cost_usd), 0), count(cost_usd), sum({_m004_unpriced()}),"
        " coalesce(sum(output_tokens_per_s), 0), count(output_tokens_per_s), count(ttft_ms), count(latency_ms)"
        " FROM exchanges"
        " GROUP BY 1, 2, 3, 4, 5, 6")
    for name, sql in _M004_VIEWS.items():
        conn.execute(f"CREATE VIEW {name} AS {sql.strip()}")
    conn.execute("CREATE INDEX idx_runs_created ON runs(created_at)")
    conn.execute("CREATE INDEX idx_ratings_rater ON ratings(rater, rater_kind, exchange_id)")
    conn.execute("CREATE INDEX idx_votes_compare ON votes(compare_id)")


@migration
def m005_cache_ttl_provider_latency_cost_basis(db: sqlite_utils.Database):
    conn = db.conn
    for column in ("cache_write_1h_tokens INTEGER", "provider_latency_ms REAL", "cost_basis TEXT",
                   "compute_cost REAL", "usage_adjusted TEXT"):
        conn.execute(f"ALTER TABLE exchanges ADD COLUMN {column}")
    # every priced row so far was priced by its tokens
    conn.execute("UPDATE exchanges SET cost_basis = 'tokens' WHERE cost_usd IS NOT NULL")



@migration
def m006_queue_wait(db: sqlite_utils.Database):
    # time spent waiting for a one-at-a-time model, kept apart so it never reads as the model's latency
    db.conn.execute("ALTER TABLE exchanges ADD COLUMN queue_ms REAL")


@migration
def m007_one_timestamp_format(db: sqlite_utils.Database):
    # Every timestamp becomes UTC ISO 8601 with milliseconds and a Z, so text order is time order: the spend
    # ledger held isoformat()'s '+00:00' with microseconds, runs and ratings whole seconds, _migrations
    # SQLite's 'YYYY-MM-DD HH:MM:SS'. SQLite's strftime reads all of them; text it cannot read is kept.
    canonical = "'____-__-__T__:__:__.___Z'"
    for table, column in (("exchanges", "created_at"), ("runs", "created_at"), ("ratings", "created_at"),
                          ("votes", "created_at"), ("spend", "created_at"), ("_migrations", "applied_at")):
        if table not in db.table_names():
            continue
        db.conn.execute(f"UPDATE {table} SET {column} = coalesce(strftime('%Y-%m-%dT%H:%M:%fZ', {column}), {column}) "
                        f"WHERE {column} IS NOT NULL AND NOT ({column} LIKE {canonical} AND length({column}) = 24)")


@migration
def m008_run_owners(db: sqlite_utils.Database):
    # A run belongs to who started it, as an exchange does: the login under --auth, the browser session on a
    # shared link. Runs from before (and from the CLI) have neither, and only a local run or an admin sees them.
    db["runs"].add_column("user", str)
    db["runs"].add_column("browser_session", str)
    db["runs"].create_index(["user", "created_at"])
    db["runs"].create_index(["browser_session", "created_at"])


@migration
def m009_variants(db: sqlite_utils.Database):
    # A run asks each question in one or more ways (system prompt, temperature, max tokens); the answer says
    # which. Rows from before were asked the one way their run had, and keep no name for it.
    db.conn.execute("ALTER TABLE exchanges ADD COLUMN variant TEXT")


@migration
def m010_finish_reason(db: sqlite_utils.Database):
    # why each reply ended: 'max_tokens' marks one cut by its limit, which looked complete before. Older rows
    # were never asked and stay NULL rather than guessed.
    db.conn.execute("ALTER TABLE exchanges ADD COLUMN finish_reason TEXT")


_M011_DENSE = ((0xAC00, 0xD7A3), (0x1100, 0x11FF), (0x3130, 0x318F), (0x3040, 0x30FF), (0x31F0, 0x31FF),
               (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))


def _m011_grams(*texts) -> str:  # frozen copy: chat/storage/grams.py is today's
    out = []
    for text in texts:
        current = []
        for ch in (text or "") + " ":
            if any(lo <= ord(ch) <= hi for lo, hi in _M011_DENSE):
                current.append(ch)
                continue
            if current:
                run = "".join(current)
                out += [run] if len(run) < 2 else [run[i:i + 2] for i in range(len(run) - 1)]
                current = []
    return " ".join(out)


@migration
def m011_korean_substring_search(db: sqlite_utils.Database):
    # Korean compounds (훈련장려금) hide words the word index cannot find inside them. A second index holds
    # each finished exchange's overlapping character pairs of Korean, Chinese and Japanese text, by the
    # exchange's rowid; the store adds a row's pairs as it writes it, and these triggers drop them whenever the
    # row or its texts change, from any program.
    conn = db.conn
    conn.execute("CREATE VIRTUAL TABLE exchanges_grams USING fts5(grams, tokenize='unicode61 remove_diacritics 0')")
    conn.execute("CREATE TRIGGER exchanges_grams_ad AFTER DELETE ON exchanges BEGIN "
                 "DELETE FROM exchanges_grams WHERE rowid = old.rowid; END")
    conn.execute("CREATE TRIGGER exchanges_grams_au AFTER UPDATE OF prompt, reply ON exchanges "
                 "WHEN old.prompt IS NOT new.prompt OR old.reply IS NOT new.reply BEGIN "
                 "DELETE FROM exchanges_grams WHERE rowid = old.rowid; END")
    cursor = conn.execute("SELECT rowid, prompt, reply FROM exchanges WHERE status != 'streaming'")
    while batch := cursor.fetchmany(5000):
        rows = [(rowid, text) for rowid, prompt, reply in batch if (text := _m011_grams(prompt, reply))]
        conn.executemany("INSERT INTO exchanges_grams (rowid, grams) VALUES (?, ?)", rows)


@migration
def m012_no_speed_from_a_few_tokens(db: sqlite_utils.Database):
    # A reply of under 10 output tokens has no meaningful speed (2 tokens 1 ms apart read 2,000 tok/s) and
    # skewed every mean; its rate goes, its tokens and times stay. The rollup triggers follow the update.
    db.conn.execute("UPDATE exchanges SET output_tokens_per_s = NULL WHERE output_tokens_per_s IS NOT NULL "
                    "AND coalesce(output_tokens, 0) < 10")


@migration
def m013_spend_windows(db: sqlite_utils.Database):
    # One row per cap and window, which a reservation locks on PostgreSQL (several hosts); kept here too so both
    # engines hold the same tables. SQLite's BEGIN IMMEDIATE already serialises reservations.
    db.conn.execute("CREATE TABLE spend_windows (scope TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (scope, key))")


@migration
def m014_host_leases(db: sqlite_utils.Database):
    # each process's lease on its replies in flight: another host calls them cut off only once it runs out
    db.conn.execute("CREATE TABLE hosts (process TEXT PRIMARY KEY, started_at TEXT, lease_until TEXT)")


@migration
def m015_cell_claims(db: sqlite_utils.Database):
    # which process is asking a run's cell right now, so two hosts resuming one run never ask a cell twice
    db.conn.execute("CREATE TABLE cell_claims (run_id TEXT NOT NULL, cell TEXT NOT NULL, process TEXT NOT NULL, "
                    "claimed_at TEXT NOT NULL, PRIMARY KEY (run_id, cell))")


class SchemaTooNew(StoreError):
    """The database was migrated by newer code than this: writing to it could break what that code expects."""


def check_known(done: set[str], known: list[str], where: str) -> None:
    """Refuse, in one line, a database holding schema changes this code does not know."""
    newer = sorted(done - set(known))
    if newer:
        raise SchemaTooNew(f"{where} has schema changes this version of the app does not know ({', '.join(newer)}): "
                           "newer code upgraded it; update this app (git pull, pip install -r requirements.txt)")


def pending(conn, where: str = "the log") -> bool:
    """True when the file lacks a migration (read only: takes no lock); SchemaTooNew when newer code wrote it."""
    try:
        done = {row[0] for row in conn.execute("SELECT name FROM _migrations").fetchall()}
    except Exception:  # no _migrations table yet: a new file
        return True
    check_known(done, [fn.__name__ for fn in MIGRATIONS], where)
    return any(fn.__name__ not in done for fn in MIGRATIONS)


def apply(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations in order; returns the names applied. Caller holds the write lock."""
    from chat.clock import now_iso

    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {row[0] for row in db.execute("SELECT name FROM _migrations").fetchall()}
    check_known(done, [fn.__name__ for fn in MIGRATIONS], str(db.conn.execute("PRAGMA database_list").fetchone()[2]))
    applied = []
    for fn in MIGRATIONS:
        if fn.__name__ in done:
            continue
        fn(db)
        db.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", [fn.__name__, now_iso()])
        applied.append(fn.__name__)
    return applied
