"""The PostgreSQL schema, frozen like SQLite's migrations: the same tables, columns and views, in Postgres's words.

pg001 is SQLite's schema as of m012 (plus the spend windows of m013), written once. A later change is a new
entry in MIGRATIONS here and its twin in migrations.py (a planner setting alone has none), never an edit of one
that has run. They run at start under an advisory lock, so hosts starting together take turns, and a host whose
code is older than the database's schema refuses to start (chat.storage.migrations.check_known).

Differences from SQLite, each for a reason:
- `rowid` is a real column (bigserial): SQLite's implicit rowid orders rows by arrival and keys the
  substring index, so queries written for one run on the other.
- Money stays REAL beside `cost_exact` TEXT (the exact Decimal), as in SQLite; the ledger's pico-USD are BIGINT.
- Word search is an expression index over to_tsvector('simple', …) where SQLite has FTS5; the Korean pairs are
  a text[] with a GIN index where SQLite has a second FTS5 table. Both are core Postgres, no extension.
- Triggers are PL/pgSQL functions doing what SQLite's trigger bodies do.
"""
from __future__ import annotations

LOCK_KEY = 7_316_504_101  # pg_advisory_xact_lock key: only this app's migrations take it

_EXCHANGE_COLUMNS = """
    rowid BIGSERIAL UNIQUE,
    id TEXT PRIMARY KEY,
    created_at TEXT, session_id TEXT, "user" TEXT, browser_session TEXT, provider TEXT, model TEXT, status TEXT,
    error TEXT, prompt TEXT, reply TEXT, system_id TEXT, message_ids TEXT,
    input_tokens BIGINT, output_tokens BIGINT, cached_tokens BIGINT, cache_write_tokens BIGINT, reasoning_tokens BIGINT,
    usage_source TEXT, estimate_method TEXT,
    cost_usd DOUBLE PRECISION, input_cost DOUBLE PRECISION, output_cost DOUBLE PRECISION,
    uncached_input_cost DOUBLE PRECISION, cached_input_cost DOUBLE PRECISION, cache_write_cost DOUBLE PRECISION,
    cost_exact TEXT,
    ttft_ms DOUBLE PRECISION, ttft_any_ms DOUBLE PRECISION, latency_ms DOUBLE PRECISION,
    output_tokens_per_s DOUBLE PRECISION, gap_p50_ms DOUBLE PRECISION, gap_p95_ms DOUBLE PRECISION,
    trimmed_turns BIGINT, params_json TEXT, usage_json TEXT, pricing_hash TEXT, compare_id TEXT, run_id TEXT,
    question_id TEXT, repeat_index BIGINT, process TEXT,
    cache_write_1h_tokens BIGINT, provider_latency_ms DOUBLE PRECISION, cost_basis TEXT, compute_cost DOUBLE PRECISION,
    usage_adjusted TEXT, queue_ms DOUBLE PRECISION, variant TEXT, finish_reason TEXT
"""

_UNPRICED = ("(CASE WHEN {r}.cost_usd IS NULL AND {r}.status != 'streaming' AND (coalesce({r}.input_tokens, 0) > 0 "
             "OR coalesce({r}.output_tokens, 0) > 0) THEN 1 ELSE 0 END)")


def _rollup(r: str, sign: str) -> str:
    b = lambda cond: f"(CASE WHEN {cond} THEN 1 ELSE 0 END)"  # noqa: E731 (a boolean counted, as SQLite sums it)
    return (
        'INSERT INTO rollup_hourly (hour, model, provider, status, "user", usage_source, exchanges, input_tokens, '
        "output_tokens, cost_usd, priced, unpriced, tps_sum, tps_n, ttft_n, latency_n) VALUES ("
        f"coalesce(substr({r}.created_at, 1, 13), ''), coalesce({r}.model, ''), coalesce({r}.provider, ''), "
        f"coalesce({r}.status, ''), coalesce({r}.\"user\", ''), coalesce({r}.usage_source, ''), {sign}1, "
        f"{sign}coalesce({r}.input_tokens, 0), {sign}coalesce({r}.output_tokens, 0), {sign}coalesce({r}.cost_usd, 0), "
        f"{sign}{b(f'{r}.cost_usd IS NOT NULL')}, {sign}{_UNPRICED.format(r=r)}, "
        f"{sign}coalesce({r}.output_tokens_per_s, 0), {sign}{b(f'{r}.output_tokens_per_s IS NOT NULL')}, "
        f"{sign}{b(f'{r}.ttft_ms IS NOT NULL')}, {sign}{b(f'{r}.latency_ms IS NOT NULL')}) "
        'ON CONFLICT (hour, model, provider, status, "user", usage_source) DO UPDATE SET '
        "exchanges = rollup_hourly.exchanges + excluded.exchanges, "
        "input_tokens = rollup_hourly.input_tokens + excluded.input_tokens, "
        "output_tokens = rollup_hourly.output_tokens + excluded.output_tokens, "
        "cost_usd = rollup_hourly.cost_usd + excluded.cost_usd, priced = rollup_hourly.priced + excluded.priced, "
        "unpriced = rollup_hourly.unpriced + excluded.unpriced, tps_sum = rollup_hourly.tps_sum + excluded.tps_sum, "
        "tps_n = rollup_hourly.tps_n + excluded.tps_n, ttft_n = rollup_hourly.ttft_n + excluded.ttft_n, "
        "latency_n = rollup_hourly.latency_n + excluded.latency_n;"
    )


_OK, _FAILED, _ESTIMATED = "status = 'ok'", "status != 'ok'", "usage_source = 'estimate'"


def _count(cond: str) -> str:
    return f"count(*) FILTER (WHERE {cond})"


PG001 = [
    f"CREATE TABLE exchanges ({_EXCHANGE_COLUMNS})",
    "CREATE TABLE messages (id TEXT PRIMARY KEY, role TEXT, content TEXT)",
    'CREATE TABLE runs (id TEXT PRIMARY KEY, created_at TEXT, set_name TEXT, set_digest TEXT, set_json TEXT, '
    'models_json TEXT, repeats BIGINT, concurrency BIGINT, params_json TEXT, "user" TEXT, browser_session TEXT)',
    "CREATE TABLE ratings (id TEXT PRIMARY KEY, exchange_id TEXT REFERENCES exchanges(id), created_at TEXT, rater TEXT, "
    "rater_kind TEXT, criterion TEXT, score DOUBLE PRECISION, scale TEXT, rationale TEXT, blind BIGINT, "
    "rowid BIGSERIAL UNIQUE)",
    "CREATE TABLE votes (id TEXT PRIMARY KEY, compare_id TEXT, exchange_id TEXT REFERENCES exchanges(id), "
    "created_at TEXT, rater TEXT, vote TEXT, blind BIGINT)",
    'CREATE TABLE spend (exchange_id TEXT PRIMARY KEY, day TEXT, created_at TEXT, session_key TEXT, "user" TEXT, '
    "amount_pusd BIGINT, state TEXT)",
    # one row per cap and window: a reservation locks its rows, so two hosts take turns and a new day cannot race
    "CREATE TABLE spend_windows (scope TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (scope, key))",
    'CREATE TABLE rollup_hourly (hour TEXT NOT NULL, model TEXT NOT NULL, provider TEXT NOT NULL, status TEXT NOT NULL, '
    '"user" TEXT NOT NULL, usage_source TEXT NOT NULL, exchanges BIGINT NOT NULL, input_tokens BIGINT NOT NULL, '
    "output_tokens BIGINT NOT NULL, cost_usd DOUBLE PRECISION NOT NULL, priced BIGINT NOT NULL, "
    "unpriced BIGINT NOT NULL, tps_sum DOUBLE PRECISION NOT NULL, tps_n BIGINT NOT NULL, ttft_n BIGINT NOT NULL, "
    'latency_n BIGINT NOT NULL, PRIMARY KEY (hour, model, provider, status, "user", usage_source))',
    # the Korean substring index: an exchange's overlapping character pairs, by its rowid (SQLite: exchanges_grams)
    "CREATE TABLE exchanges_grams (rowid BIGINT PRIMARY KEY REFERENCES exchanges(rowid) ON DELETE CASCADE, "
    "grams TEXT[] NOT NULL)",
    "CREATE INDEX idx_exchanges_grams ON exchanges_grams USING gin (grams)",
    "CREATE INDEX idx_exchanges_words ON exchanges USING gin "
    "(to_tsvector('simple', coalesce(prompt, '') || ' ' || coalesce(reply, ''))) WHERE status != 'streaming'",
    # the covering indexes SQLite has: stats and percentiles read an index in order, never a sort of the rows
    "CREATE INDEX idx_exchanges_model ON exchanges (model, created_at, status, provider, usage_source, input_tokens, "
    "output_tokens, cost_usd, ttft_ms, latency_ms, output_tokens_per_s)",
    "CREATE INDEX idx_exchanges_meter ON exchanges (created_at, model, status, provider, input_tokens, output_tokens, "
    "cost_usd, ttft_ms, latency_ms, output_tokens_per_s, usage_source)",
    "CREATE INDEX idx_exchanges_model_latency ON exchanges (model, latency_ms)",
    "CREATE INDEX idx_exchanges_model_ttft ON exchanges (model, ttft_ms)",
    "CREATE INDEX idx_exchanges_status ON exchanges (status, created_at)",
    "CREATE INDEX idx_exchanges_session ON exchanges (session_id, created_at)",
    'CREATE INDEX idx_exchanges_user ON exchanges ("user", created_at)',
    "CREATE INDEX idx_exchanges_browser ON exchanges (browser_session, created_at)",
    "CREATE INDEX idx_exchanges_run ON exchanges (run_id, model, question_id)",
    "CREATE INDEX idx_exchanges_compare ON exchanges (compare_id)",
    "CREATE INDEX idx_exchanges_cost ON exchanges (cost_usd)",
    "CREATE INDEX idx_exchanges_latency ON exchanges (latency_ms)",
    "CREATE INDEX idx_exchanges_ttft ON exchanges (ttft_ms)",
    "CREATE INDEX idx_exchanges_streaming ON exchanges (process) WHERE status = 'streaming'",
    "CREATE INDEX idx_ratings_exchange_id ON ratings (exchange_id)",
    "CREATE INDEX idx_ratings_rater ON ratings (rater, rater_kind, exchange_id)",
    "CREATE INDEX idx_votes_compare ON votes (compare_id)",
    "CREATE INDEX idx_spend_day ON spend (day)",
    "CREATE INDEX idx_spend_session_key ON spend (session_key)",
    'CREATE INDEX idx_spend_user_day ON spend ("user", day)',
    "CREATE INDEX idx_runs_created ON runs (created_at)",
    'CREATE INDEX idx_runs_user_created_at ON runs ("user", created_at)',
    "CREATE INDEX idx_runs_browser_session_created_at ON runs (browser_session, created_at)",
    # the hourly rollup, kept as SQLite's triggers keep it
    "CREATE FUNCTION exchanges_rollup() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {_rollup('OLD', '-')} END IF; "
    f"IF TG_OP IN ('UPDATE', 'INSERT') THEN {_rollup('NEW', '')} END IF; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER exchanges_rollup_ai AFTER INSERT OR DELETE ON exchanges FOR EACH ROW EXECUTE FUNCTION exchanges_rollup()",
    'CREATE TRIGGER exchanges_rollup_au AFTER UPDATE OF created_at, model, provider, status, "user", usage_source, '
    "input_tokens, output_tokens, cost_usd, output_tokens_per_s, ttft_ms, latency_ms ON exchanges FOR EACH ROW "
    "EXECUTE FUNCTION exchanges_rollup()",
    # changed texts drop their pairs; the store writes the new ones (SQLite: exchanges_grams_au)
    "CREATE FUNCTION exchanges_grams_stale() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF OLD.prompt IS DISTINCT FROM NEW.prompt OR OLD.reply IS DISTINCT FROM NEW.reply THEN "
    "DELETE FROM exchanges_grams WHERE rowid = OLD.rowid; END IF; RETURN NULL; END $$",
    "CREATE TRIGGER exchanges_grams_au AFTER UPDATE OF prompt, reply ON exchanges FOR EACH ROW "
    "EXECUTE FUNCTION exchanges_grams_stale()",
    # the views people query, as SQLite has them
    # messages_json spelled as SQLite's json_group_array writes it (no spaces), so the text is the same on both
    "CREATE VIEW exchanges_full AS SELECT e.*, (SELECT content FROM messages WHERE id = e.system_id) AS system, "
    "(SELECT '[' || coalesce(string_agg('{\"role\":' || to_json(m.role)::text || ',\"content\":' || "
    "to_json(m.content)::text || '}', ',' ORDER BY j.n), '') || ']' "
    "FROM jsonb_array_elements_text(coalesce(e.message_ids, '[]')::jsonb) WITH ORDINALITY AS j(value, n) "
    "JOIN messages m ON m.id = j.value) AS messages_json FROM exchanges e",
    "CREATE VIEW spend_per_day AS SELECT substr(created_at, 1, 10) AS day, model, count(*) AS exchanges, "
    "sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, "
    f"round(sum(cost_usd)::numeric, 6)::float AS cost_usd, sum({_UNPRICED.format(r='exchanges')}) AS unpriced "
    "FROM exchanges GROUP BY day, model",
    f"CREATE VIEW model_summary AS SELECT model, provider, count(*) AS exchanges, {_count(_FAILED)} AS failed, "
    f"round(1.0 * {_count(_FAILED)} / count(*), 4)::float AS error_rate, "
    "sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, "
    "round(sum(cost_usd)::numeric, 6)::float AS cost_usd, round(avg(ttft_ms)::numeric, 1)::float AS ttft_ms_avg, "
    "round(avg(latency_ms)::numeric, 1)::float AS latency_ms_avg, "
    "round(avg(output_tokens_per_s)::numeric, 1)::float AS tokens_per_s_avg, "
    f"round(1.0 * {_count(_ESTIMATED)} / count(*), 4)::float AS estimated_share, "
    "min(created_at) AS first_at, max(created_at) AS last_at FROM exchanges GROUP BY model, provider",
    'CREATE VIEW errors AS SELECT id, created_at, model, provider, status, error, "user", session_id, run_id, prompt, '
    "cost_usd FROM exchanges WHERE status NOT IN ('ok', 'streaming')",
    "CREATE VIEW run_models AS SELECT e.run_id, r.set_name, r.created_at AS run_created_at, e.model, count(*) AS answers, "
    f"{_count('e.' + _OK)} AS ok, {_count('e.' + _FAILED)} AS failed, "
    "sum(e.input_tokens) AS input_tokens, sum(e.output_tokens) AS output_tokens, "
    "round(sum(e.cost_usd)::numeric, 6)::float AS cost_usd, round(avg(e.ttft_ms)::numeric, 1)::float AS ttft_ms_avg, "
    "round(avg(e.latency_ms)::numeric, 1)::float AS latency_ms_avg, "
    "(SELECT round(avg(score)::numeric, 3)::float FROM ratings g JOIN exchanges x ON x.id = g.exchange_id "
    "WHERE x.run_id = e.run_id AND x.model = e.model AND g.rater_kind = 'human') AS human_score_avg, "
    "(SELECT round(avg(score)::numeric, 3)::float FROM ratings g JOIN exchanges x ON x.id = g.exchange_id "
    "WHERE x.run_id = e.run_id AND x.model = e.model AND g.rater_kind = 'judge') AS judge_score_avg "
    "FROM exchanges e LEFT JOIN runs r ON r.id = e.run_id WHERE e.run_id IS NOT NULL GROUP BY e.run_id, e.model, "
    "r.set_name, r.created_at",
]

# each process's lease on its replies in flight (SQLite: m014_host_leases)
PG002 = ["CREATE TABLE hosts (process TEXT PRIMARY KEY, started_at TEXT, lease_until TEXT)"]

# which process is asking a run's cell right now (SQLite: m015_cell_claims)
PG003 = ["CREATE TABLE cell_claims (run_id TEXT NOT NULL, cell TEXT NOT NULL, process TEXT NOT NULL, "
         "claimed_at TEXT NOT NULL, PRIMARY KEY (run_id, cell))"]

# A planner fact, with no SQLite twin. The default statistics kept about 1% of the character pairs, so a pair
# that is absent or rare (환불 in a log that never mentions refunds) was guessed at 2,252 rows of a million; the
# newest page then walked the whole table backwards looking for 50 of them (3.3 s). Ten times the statistics guess
# 114, and the page reads the few matches first (3 ms); a common pair still walks back from the newest (27 ms).
# The next ANALYZE gathers them: autovacuum's, or one run by hand after a bulk load (docs/deploy.md).
PG004 = ["ALTER TABLE exchanges_grams ALTER COLUMN grams SET STATISTICS 1000"]

# name -> statements, in order; the names share the _migrations table with nothing else
MIGRATIONS: list[tuple[str, list[str]]] = [("pg001_schema", PG001), ("pg002_host_leases", PG002),
                                           ("pg003_cell_claims", PG003), ("pg004_pair_statistics", PG004)]
