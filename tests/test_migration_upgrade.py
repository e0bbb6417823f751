"""A log written by the schema before m004 (TEXT money, whole history per row) upgrades with every row intact."""
import json
import sqlite3
from decimal import Decimal

import sqlite_utils

from chat.storage import migrations
from chat.storage.store import Store


def _old_database(path, n=30):
    db = sqlite_utils.Database(path)
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for fn in migrations.MIGRATIONS[:3]:  # m001..m003: the schema of the previous release
        fn(db)
        db.execute("INSERT INTO _migrations VALUES (?, datetime('now'))", [fn.__name__])
    system = "You answer questions about the K-Digital training programme. " * 20
    history, rows = [], []
    costs = ["12.50", "9.99", "2.5", "0.000039", None]
    for i in range(n):
        prompt = f"질문 {i}: 환불은 언제 되나요? refund number {i}"
        reply = f"답변 {i}: 환불은 5일 안에 처리됩니다. reply {i}"
        messages = [{"role": "system", "content": system}] + history + [{"role": "user", "content": prompt}]
        rows.append({
            "id": f"ex{i:03d}", "session_id": "s1", "created_at": f"2026-11-{1 + i % 20:02d}T10:00:{i % 60:02d}Z",
            "provider": "openai", "model": "gpt-4o" if i % 2 else "gpt-4o-mini", "system": system, "prompt": prompt,
            "messages_json": json.dumps(messages, ensure_ascii=False), "reply": reply,
            "status": "ok" if i % 7 else "error", "input_tokens": 100 + i, "output_tokens": 10 + i,
            "usage_source": "provider", "cost_usd": costs[i % len(costs)],
            "input_cost": None if costs[i % 5] is None else "0.000001", "latency_ms": 100.0 + i, "run_id": None,
        })
        history += [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]
    db["exchanges"].insert_all(rows)
    db["ratings"].insert({"id": "r1", "exchange_id": "ex003", "rater": "kim", "rater_kind": "human",
                          "criterion": "correct", "score": 4.0})
    db.conn.commit()
    db.conn.close()
    return rows


def test_upgrade_keeps_every_row_and_what_was_sent(tmp_path):
    path = tmp_path / "chat.db"
    old = _old_database(path)
    store = Store(path)
    conn = sqlite3.connect(path)
    applied = [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY rowid")]
    assert [name[:4] for name in applied[-12:]] == ["m004", "m005", "m006", "m007", "m008", "m009", "m010", "m011",
                                                    "m012", "m013", "m014", "m015"]
    # m011: the rows from before are in the Korean substring index: 불은 lies inside 환불은 in every one
    from chat.storage import logs
    from chat.storage.logs import LogFilter

    assert len(logs.page(store, LogFilter(text="불은"), limit=100)) == len(old)
    # m010: no older reply is guessed to have ended one way or another
    assert conn.execute("SELECT count(*) FROM exchanges WHERE finish_reason IS NOT NULL").fetchone()[0] == 0
    # m009: answers from before variants were asked the one way their run had, and name none
    assert conn.execute("SELECT count(*) FROM exchanges WHERE variant IS NOT NULL").fetchone()[0] == 0
    # m006: rows from before the queue was metered have no queue time, rather than a made-up zero
    assert conn.execute("SELECT count(*) FROM exchanges WHERE queue_ms IS NOT NULL").fetchone()[0] == 0
    # m005: every row priced before it was priced by tokens; none lost its cost
    assert conn.execute("SELECT count(*) FROM exchanges WHERE cost_usd IS NOT NULL AND cost_basis IS NOT 'tokens'"
                        ).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM exchanges").fetchone()[0] == len(old)
    for row in old:
        got = store.exchange(row["id"])
        assert got["prompt"] == row["prompt"] and got["reply"] == row["reply"] and got["system"] == row["system"]
        assert json.loads(got["messages_json"]) == json.loads(row["messages_json"])  # exactly what was sent
        assert got["cost_usd"] == row["cost_usd"]  # the exact decimal string survives
    # money sorts, compares and sums as numbers now
    top = [r[0] for r in conn.execute("SELECT DISTINCT cost_usd FROM exchanges WHERE cost_usd IS NOT NULL "
                                      "ORDER BY cost_usd DESC LIMIT 2")]
    assert top == [12.5, 9.99]
    assert conn.execute("SELECT count(*) FROM exchanges WHERE cost_usd > 2").fetchone()[0] == 18
    total = conn.execute("SELECT sum(cost_usd) FROM exchanges").fetchone()[0]
    exact = sum(Decimal(r["cost_usd"]) for r in old if r["cost_usd"])
    assert abs(Decimal(str(total)) - exact) < Decimal("1e-9")
    # the ratings still point at their exchange; the full-text index holds the old rows
    assert conn.execute("SELECT e.model FROM ratings r JOIN exchanges e ON e.id = r.exchange_id").fetchone() == ("gpt-4o",)
    hits = conn.execute("SELECT count(*) FROM exchanges_fts WHERE exchanges_fts MATCH '\"환불은\"'").fetchone()[0]
    assert hits == len(old)
    # each message text is stored once: the long system prompt and the history no longer repeat per row
    assert conn.execute("SELECT count(*) FROM messages WHERE role = 'system'").fetchone()[0] == 1
    stored = conn.execute("SELECT sum(length(content)) FROM messages").fetchone()[0]
    sent = sum(len(m["content"]) for r in old for m in json.loads(r["messages_json"]))
    assert stored * 10 < sent  # 30 turns: linear in the conversation, not quadratic


def test_new_rows_after_upgrade_share_the_stored_messages(tmp_path):
    path = tmp_path / "chat.db"
    _old_database(path, n=3)
    store = Store(path)
    system = "Be brief."
    store.append("exchanges", {"id": "new1", "created_at": "2026-11-23T00:00:00Z", "model": "m", "status": "ok",
                               "system": system, "prompt": "hi", "reply": "hello", "cost_usd": "0.1",
                               "messages_json": json.dumps([{"role": "system", "content": system},
                                                            {"role": "user", "content": "hi"}])})
    store.flush()
    row = store.exchange("new1")
    assert row["system"] == system and json.loads(row["messages_json"])[1] == {"role": "user", "content": "hi"}
    assert row["cost_usd"] == "0.1"
    assert store.query("SELECT rowid FROM exchanges_fts WHERE exchanges_fts MATCH 'hello'")


def test_every_timestamp_of_an_upgraded_log_is_utc_with_milliseconds_and_z(tmp_path):
    import re

    path = tmp_path / "old-times.db"
    db = sqlite_utils.Database(path)
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for fn in migrations.MIGRATIONS:
        if fn.__name__ == "m007_one_timestamp_format":
            break
        fn(db)
        db.execute("INSERT INTO _migrations VALUES (?, datetime('now'))", [fn.__name__])  # as the old runner wrote
    # each table as the previous release wrote it
    db["exchanges"].insert({"id": "e1", "created_at": "2026-11-01T10:00:05Z", "model": "gpt-4o", "status": "ok"})
    db["exchanges"].insert({"id": "e2", "created_at": "2026-11-01T10:00:05.250Z", "model": "gpt-4o", "status": "ok"})
    db["runs"].insert({"id": "r1", "created_at": "2026-11-01T10:00:00Z", "set_name": "faq"})
    db["ratings"].insert({"id": "g1", "exchange_id": "e1", "created_at": "2026-11-01T10:01:00Z", "rater_kind": "human"})
    db["votes"].insert({"id": "v1", "compare_id": "c", "exchange_id": "e1", "created_at": "2026-11-01T10:02:00Z"})
    db["spend"].insert({"exchange_id": "e1", "day": "2026-11-01", "created_at": "2026-11-01T23:59:59.999999+00:00",
                        "amount_pusd": 5, "state": "settled"})
    db.conn.commit()
    db.conn.close()

    Store(path)
    conn = sqlite3.connect(path)
    canonical = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    seen = 0
    for table in tables:
        for column in [c[1] for c in conn.execute(f"PRAGMA table_info([{table}])") if c[1].endswith("_at")]:
            for (value,) in conn.execute(f"SELECT [{column}] FROM [{table}] WHERE [{column}] IS NOT NULL"):
                seen += 1
                assert canonical.match(value), (table, column, value)
    assert seen >= 6 + len(migrations.MIGRATIONS)
    # the same instants, only written one way; the spend row's last microsecond of the day stays on that day
    assert conn.execute("SELECT created_at FROM exchanges WHERE id = 'e1'").fetchone()[0] == "2026-11-01T10:00:05.000Z"
    assert conn.execute("SELECT created_at FROM spend").fetchone()[0].startswith("2026-11-01T23:59:59.99")
    # and new writes use the same format
    rows = conn.execute("SELECT applied_at FROM _migrations WHERE name = 'm007_one_timestamp_format'").fetchall()
    assert len(rows) == 1 and canonical.match(rows[0][0])


def _schema(path) -> dict:
    conn = sqlite3.connect(path)
    try:
        return {(kind, name): " ".join((sql or "").split()) for kind, name, sql in conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")}
    finally:
        conn.close()


def test_a_log_left_at_any_past_migration_upgrades_to_the_schema_of_a_new_one(tmp_path):
    Store(tmp_path / "fresh.db")
    fresh = _schema(tmp_path / "fresh.db")
    for k in range(1, len(migrations.MIGRATIONS)):
        path = tmp_path / f"at-{k}.db"
        db = sqlite_utils.Database(path)
        db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        for fn in migrations.MIGRATIONS[:k]:
            fn(db)
            db.execute("INSERT INTO _migrations VALUES (?, '2026-11-01T00:00:00.000Z')", [fn.__name__])
        db.conn.commit()
        db.conn.close()
        Store(path)
        upgraded = _schema(path)
        assert upgraded.keys() == fresh.keys(), (migrations.MIGRATIONS[k - 1].__name__, upgraded.keys() ^ fresh.keys())
        # ALTER TABLE appends columns, so a table's text may order them differently: compare the columns
        conn, new = sqlite3.connect(path), sqlite3.connect(tmp_path / "fresh.db")
        for kind, name in fresh:
            if kind == "table":
                cols = [tuple(c[1:]) for c in conn.execute(f"PRAGMA table_info([{name}])")]
                want = [tuple(c[1:]) for c in new.execute(f"PRAGMA table_info([{name}])")]
                assert sorted(cols) == sorted(want), (k, name)
            else:
                assert upgraded[(kind, name)] == fresh[(kind, name)], (k, kind, name)
        conn.close()
        new.close()


# What each migration was when it shipped. A change to one would give old logs a schema new ones never get:
# change the schema with a new migration instead, and add its digest here.
SHIPPED = {
    "m001_exchanges": "62ec38bc0d443b8e",
    "m002_runs_and_ratings": "8dbe85d4a9e85680",
    "m003_start_rows_users_and_spend_ledger": "e17a301e4fb96648",
    "m004_numeric_money_messages_once_views_fts": "c192508eb1e7e522",
    "m004 schema and helpers": "e7c1551ebf5ba4e7",
    "m005_cache_ttl_provider_latency_cost_basis": "11b027770afdc543",
    "m006_queue_wait": "e72883c90b4d3aea",
    "m007_one_timestamp_format": "a13e4eaf0354ee65",
    "m008_run_owners": "0ada2ffa9e934bfd",
    "m009_variants": "2123f7f80ce70207",
    "m011_korean_substring_search": "78f3e79d93efb55c",
    "m012_no_speed_from_a_few_tokens": "95df95aa8904efa6",
    "m010_finish_reason": "03d31ec9e7acce79",
    "m013_spend_windows": "0b0b17f01f7d3178",
    "m014_host_leases": "c29b3c1b7b433710",
    "m015_cell_claims": "2d08e7ea9340f105",
}
# PostgreSQL's schema, frozen the same way (chat/storage/postgres_schema.py)
PG_SHIPPED = {"pg001_schema": "61fca94e7b2921ee", "pg002_host_leases": "7fc79b7d075f90d6",
              "pg003_cell_claims": "0d41af58a4833ca0", "pg004_pair_statistics": "46cf5ed5b160a3d2"}


def test_migrations_are_frozen():
    import hashlib
    import inspect

    def digest(text):
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    src = open(migrations.__file__).read()
    now = {fn.__name__: digest(inspect.getsource(fn)) for fn in migrations.MIGRATIONS}
    now["m004 schema and helpers"] = digest(src[src.index("# ---- m004's own schema"):src.index("@migration\ndef m004")])
    changed = [name for name in SHIPPED if now.get(name) != SHIPPED[name]]
    assert not changed, f"shipped migrations were edited: {changed}; write a new migration instead"
    assert set(now) == set(SHIPPED), f"a new migration needs its digest in SHIPPED: {set(now) - set(SHIPPED)}"
    from chat.storage import postgres_schema

    pg = {name: digest("\n".join(statements)) for name, statements in postgres_schema.MIGRATIONS}
    assert pg == PG_SHIPPED, f"PostgreSQL's shipped schema was edited or a new one lacks its digest: {pg}"


def test_a_reply_of_a_few_tokens_loses_its_speed_and_no_longer_skews_the_mean(tmp_path):
    """A 2-token aborted reply once read 28,828 tok/s and dragged a model's mean tok/s with it."""
    from chat.storage import logs
    from chat.storage.logs import LogFilter

    path = tmp_path / "chat.db"
    db = sqlite_utils.Database(path)
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for fn in migrations.MIGRATIONS:
        if fn.__name__.startswith("m012"):
            break
        fn(db)
        db.execute("INSERT INTO _migrations VALUES (?, '2026-12-01T00:00:00.000Z')", [fn.__name__])
    db["exchanges"].insert_all([
        {"id": "short", "created_at": "2026-12-01T10:00:00.000Z", "model": "m", "provider": "openai",
         "status": "aborted", "output_tokens": 2, "output_tokens_per_s": 28828.0, "ttft_ms": 100.0},
        {"id": "long", "created_at": "2026-12-01T10:00:01.000Z", "model": "m", "provider": "openai",
         "status": "ok", "output_tokens": 50, "output_tokens_per_s": 40.0, "ttft_ms": 100.0}])
    db.conn.commit()
    db.conn.close()
    store = Store(path)
    conn = sqlite3.connect(path)
    speeds = dict(conn.execute("SELECT id, output_tokens_per_s FROM exchanges").fetchall())
    assert speeds == {"short": None, "long": 40.0}
    (row,) = logs.stats(store, LogFilter(), "model")
    assert row["tokens_per_s"] == 40.0  # the rollup the stats read followed the update
