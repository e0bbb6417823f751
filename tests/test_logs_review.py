"""Reviewing the log: `python -m chat logs` / `stats` / `logs purge`, the SQL views, FTS and Datasette."""
from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import need
from tests.fake_servers import Scenario
from tests.helpers import run, run_cli

ROOT = Path(__file__).resolve().parent.parent
OLD = "2026-01-05T10:00:00.000Z"


def _cli(*args, db: Path):
    return run_cli(args, env=dict(os.environ, CHAT_DB=str(db)), cwd=ROOT)


@pytest.fixture
def log(fake, engine, tmp_path):
    """Real exchanges through the engine and the fake server, plus old rows from January, in a SQLite file."""
    return _fill(fake, engine)


@pytest.fixture
def any_log(fake, db_target):
    """The same log once per engine: a SQLite file and a PostgreSQL database (its URL is what CHAT_DB takes)."""
    from chat.engine import Engine
    from chat.storage.store import Store

    _fill(fake, Engine(Store(db_target)))
    return db_target


def _count(db, sql: str, params=()) -> int:
    from chat.storage.store import Store

    return Store(db).query(sql, list(params))[0]["n"]


def _fill(fake, engine):
    fake.scenarios["gpt-4o"] = Scenario(chunks=["환불은 ", "5일 ", "안에 ", "됩니다."], input_tokens=1000, output_tokens=200)
    fake.scenarios["gpt-4o-mini"] = Scenario(chunks=["Refunds ", "take ", "five days."], input_tokens=100, output_tokens=40)
    fake.scenarios["claude-haiku-4-5"] = Scenario(status=500, error_message="overloaded")
    run(engine, model="gpt-4o", prompt="환불은 언제 되나요?", system="FAQ에 있는 내용만 답하세요.", session_id="s1")
    run(engine, model="gpt-4o-mini", prompt="When do refunds arrive?", session_id="s2", user="kim")
    run(engine, model="gpt-4o-mini", prompt="And for the second course?", session_id="s2", user="kim",
        history=[{"role": "user", "content": "When do refunds arrive?"},
                 {"role": "assistant", "content": "Refunds take five days."}])
    run(engine, model="claude-haiku-4-5", prompt="Is there an online course?", session_id="s3")
    for i in range(3):
        engine.store.append("exchanges", {
            "id": f"old{i}", "created_at": OLD, "session_id": "s0", "model": "gpt-4o", "provider": "openai",
            "status": "ok", "prompt": f"old question {i} about 장학금", "reply": "old answer", "system": "Be brief.",
            "messages_json": json.dumps([{"role": "user", "content": f"old question {i} about 장학금"}]),
            "input_tokens": 10, "output_tokens": 5, "cost_usd": "12.50" if i == 0 else "9.99",
            "usage_source": "provider", "latency_ms": 1000.0 + i})
    engine.store.flush()
    return engine.store.path


def test_logs_lists_newest_first_with_meter_columns_and_filters(any_log):
    log = any_log
    out = _cli("logs", "-n", "3", db=log)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:4] == ["time", "(UTC)", "model", "status"] and "cost" in lines[0] and "TTFT" in lines[0]
    assert len(lines) == 2 + 3
    assert "claude-haiku-4-5" in lines[2] and "error" in lines[2]  # the newest first
    assert "unpriced" not in out.stdout or "claude" not in out.stdout
    only = _cli("logs", "-m", "gpt-4o-mini", "--json", db=log)
    rows = json.loads(only.stdout)
    assert [r["prompt"] for r in rows] == ["And for the second course?", "When do refunds arrive?"]
    assert rows[0]["cost_usd"] == "0.000039" and rows[0]["user"] == "kim"
    assert _cli("logs", "--status", "error", "--jsonl", db=log).stdout.count("\n") == 1
    korean = json.loads(_cli("logs", "-q", "환불", "--json", db=log).stdout)
    assert [r["model"] for r in korean] == ["gpt-4o"]  # prefix match: 환불 finds 환불은
    assert len(json.loads(_cli("logs", "--since", "2026-11-01", "-n", "0", "--json", db=log).stdout)) == 4
    assert len(json.loads(_cli("logs", "--until", "2026-02-01", "-n", "0", "--json", db=log).stdout)) == 3
    full = _cli("logs", "-n", "1", "-m", "gpt-4o", "--since", "7d", "--full", db=log).stdout
    assert "### System\nFAQ에 있는 내용만 답하세요." in full and "### Reply\n환불은 5일 안에 됩니다." in full
    text = _cli("logs", "--user", "kim", "--csv", db=log).stdout.splitlines()
    assert text[0].startswith("id,") and len(text) == 3


def test_stats_agree_with_the_rows(any_log):
    log = any_log
    out = _cli("stats", "--by", "model", "--json", db=log)
    assert out.returncode == 0, out.stderr
    by = {r["model"]: r for r in json.loads(out.stdout)}
    assert by["gpt-4o-mini"]["exchanges"] == 2 and by["gpt-4o-mini"]["input_tokens"] == 200
    assert Decimal(str(by["gpt-4o-mini"]["cost_usd"])) == Decimal("0.000078")
    assert by["claude-haiku-4-5"]["failed"] == 1 and by["claude-haiku-4-5"]["error_rate"] == 1.0
    assert by["gpt-4o"]["exchanges"] == 4 and by["gpt-4o"]["latency_p50_ms"] is not None
    # a million-row answer in the right order: $12.50 sorts above $9.99
    assert list(by)[0] == "gpt-4o" and by["gpt-4o"]["cost_usd"] > 32
    table = _cli("stats", "--since", "7d", db=log).stdout
    assert "exchanges" in table.splitlines()[0] and " 4 " in table.splitlines()[2]
    assert _cli("stats", "--by", "day", "--csv", db=log).stdout.splitlines()[0].startswith("day,exchanges")


@pytest.mark.parametrize("args, needle", [
    (["logs", "--since", "yesterday"], "--since"),
    (["logs", "-n", "many"], "many"),
    (["logs", "--status", "weird"], "--status"),
    (["stats", "--by", "colour"], "--by"),
    (["logs", "--before", "2026-01-01"], "logs purge"),
    (["logs", "purge"], "--before"),
])
def test_bad_arguments_exit_2_with_one_line(log, args, needle):
    out = _cli(*args, db=log)
    assert out.returncode == 2 and out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1 and needle in out.stderr


def test_a_missing_log_says_where_it_looked(tmp_path):
    out = _cli("logs", db=tmp_path / "nope.db")
    assert out.returncode == 2 and "no log at" in out.stderr and not (tmp_path / "nope.db").exists()


def test_purge_refuses_without_yes_then_removes_or_blanks(any_log):
    log = any_log
    out = _cli("logs", "purge", "--before", "2026-02-01", db=log)
    assert out.returncode == 1 and "3 exchanges" in out.stderr and "--yes" in out.stderr
    assert _count(log, "SELECT count(*) AS n FROM exchanges") == 7
    assert len(json.loads(_cli("logs", "-q", "장학금", "-n", "0", "--json", db=log).stdout)) == 3
    out = _cli("logs", "purge", "--before", "2026-02-01", "--content-only", "--yes", db=log)
    assert out.returncode == 0, out.stderr
    from chat.storage.store import Store

    kept = Store(log).query("SELECT prompt, reply, input_tokens, cost_usd FROM exchanges WHERE id = 'old0'")[0]
    assert tuple(kept.values()) == ("", "", 10, 12.5)  # the numbers stay, the words go
    assert json.loads(_cli("logs", "-q", "장학금", "-n", "0", "--json", db=log).stdout) == []  # nor are they found
    assert json.loads(_cli("logs", "-q", "학금", "-n", "0", "--json", db=log).stdout) == []  # inside a word either
    assert _count(log, "SELECT count(*) AS n FROM messages WHERE content LIKE 'old question%'") == 0
    out = _cli("logs", "purge", "--before", "2026-02-01", "--yes", db=log)
    assert "deleted 3 exchanges" in out.stdout
    assert _count(log, "SELECT count(*) AS n FROM exchanges") == 4
    if not str(log).startswith("postgresql"):
        assert sqlite3.connect(log).execute("SELECT count(*) FROM exchanges_fts").fetchone()[0] == 4
    else:  # no character pairs are left behind for rows that are gone
        assert _count(log, "SELECT count(*) AS n FROM exchanges_grams WHERE rowid NOT IN "
                           "(SELECT rowid FROM exchanges)") == 0


def test_views_answer_the_common_questions(log):
    conn = sqlite3.connect(log)
    conn.row_factory = sqlite3.Row
    models = {r["model"]: dict(r) for r in conn.execute("SELECT * FROM model_summary")}
    assert models["gpt-4o-mini"]["exchanges"] == 2 and models["claude-haiku-4-5"]["error_rate"] == 1.0
    days = [dict(r) for r in conn.execute("SELECT * FROM spend_per_day WHERE day = '2026-01-05'")]
    assert days == [{"day": "2026-01-05", "model": "gpt-4o", "exchanges": 3, "input_tokens": 30,
                     "output_tokens": 15, "cost_usd": 32.48, "unpriced": 0}]
    errors = [dict(r) for r in conn.execute("SELECT * FROM errors")]
    assert len(errors) == 1 and "overloaded" in errors[0]["error"]
    full = conn.execute("SELECT messages_json FROM exchanges_full WHERE prompt = 'And for the second course?'")
    assert [m["content"] for m in json.loads(full.fetchone()[0])] == [
        "When do refunds arrive?", "Refunds take five days.", "And for the second course?"]
    # the full-text index follows inserts, the streaming → final update, and deletes
    assert conn.execute("SELECT count(*) FROM exchanges_fts WHERE exchanges_fts MATCH 'refunds'").fetchone()[0] == 2
    assert conn.execute("SELECT count(*) FROM exchanges_fts WHERE exchanges_fts MATCH 'days'").fetchone()[0] == 2


def test_run_models_view_has_one_row_per_run_and_model(fake, engine, tmp_path):
    from chat.evaluation.questionsets import parse
    from chat.evaluation.runs import create, execute

    qs = parse("q1\nq2\n", "two", "txt")
    run_id = create(engine, qs, ["gpt-4o-mini", "gpt-4o"], 2, 2, 64, None)
    list(execute(engine, run_id, qs, ["gpt-4o-mini", "gpt-4o"], 2, 2, 64, None))
    engine.store.flush()
    rows = engine.store.query("SELECT model, answers, ok FROM run_models WHERE run_id = ? ORDER BY model", [run_id])
    assert rows == [{"model": "gpt-4o", "answers": 4, "ok": 4}, {"model": "gpt-4o-mini", "answers": 4, "ok": 4}]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_datasette_opens_the_log_with_canned_queries_that_agree_with_stats(log):
    need("datasette", "docs/datasette.yaml")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "datasette", "serve", str(log), "-m", "docs/datasette.yaml",
                             "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/-/versions.json", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(proc.stdout.read().decode() if proc.poll() is not None else "no start")
                time.sleep(0.3)
        get = lambda path: json.loads(urllib.request.urlopen(base + path, timeout=10).read())  # noqa: E731
        canned = {r["model"]: r for r in get("/chat/spend_by_model.json?_shape=array")}
        stats = {r["model"]: r for r in json.loads(_cli("stats", "--by", "model", "--json", db=log).stdout)}
        assert set(canned) == set(stats)
        for model, row in stats.items():
            for key in ("exchanges", "failed", "input_tokens", "output_tokens", "cost_usd"):
                assert canned[model][key] == row[key], (model, key)
        for query in ("spend_by_day", "errors", "slowest", "most_expensive"):
            assert isinstance(get(f"/chat/{query}.json?_shape=array"), list)
        expensive = get("/chat/most_expensive.json?_shape=array")
        assert [r["cost_usd"] for r in expensive[:2]] == [12.5, 9.99]
        page = get("/chat/exchanges.json?_facet=model&_facet=status&_facet=provider&_search=refunds")
        assert page["filtered_table_rows_count"] == 2  # Datasette found the FTS index
        assert {f for f in page["facet_results"]} >= {"model", "status", "provider"}
        html = urllib.request.urlopen(base + "/chat/exchanges", timeout=10).read().decode()
        assert "One row per exchange" in html and "Time to the first text token" in html
        assert "LLM chat meter" in urllib.request.urlopen(base + "/", timeout=10).read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_stats_from_the_hourly_rollup_match_the_rows_through_updates_and_purges(store):
    """stats() reads whole hours from rollup_hourly (kept by triggers) and part-hours from the rows; every
    figure must equal what the rows say, after start rows are finished, and after a purge."""
    import random

    from chat.storage import logs
    from chat.storage.logs import LogFilter

    rng = random.Random(3)
    models = ["gpt-4o", "gpt-4o-mini", "llama", None]
    rows = []
    for i in range(400):
        created = f"2026-11-{20 + rng.randrange(3):02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:" \
                  f"{rng.randrange(60):02d}.{rng.randrange(1000):03d}Z"
        model = rng.choice(models)
        rows.append({"id": f"r{i}", "created_at": created, "model": model, "provider": "p" if model else None,
                     "status": "streaming", "user": rng.choice(["kim", "lee", None]), "prompt": "q"})
    for row in rows:
        store.append("exchanges", row)
    store.flush()
    for row in rows[:350]:  # finished: the start rows are upserted, as the engine does
        status = rng.choice(["ok", "ok", "ok", "error", "aborted"])
        priced = row["model"] != "llama"
        store.upsert("exchanges", dict(row, status=status, input_tokens=rng.randrange(1, 500),
                                       output_tokens=rng.randrange(0, 300), usage_source=rng.choice(["provider", "estimate"]),
                                       cost_usd=f"0.{rng.randrange(10**6):06d}" if priced else None,
                                       output_tokens_per_s=rng.choice([None, rng.uniform(5, 90)]),
                                       latency_ms=rng.uniform(100, 5000), ttft_ms=rng.uniform(50, 900)))
    store.flush()
    logs.purge(store, "2026-11-20T12:00:00.000Z")

    def expected(f: LogFilter, key):
        got = {}
        for r in store.query("SELECT * FROM exchanges"):
            if f.since and r["created_at"] < f.since or f.until and r["created_at"] >= f.until:
                continue
            if f.models and r["model"] not in f.models or f.user and r["user"] != f.user:
                continue
            g = got.setdefault(key(r), {"exchanges": 0, "failed": 0, "input_tokens": 0, "cost": Decimal(0),
                                        "priced": 0, "unpriced": 0, "latency": []})
            if r["latency_ms"] is not None:
                g["latency"].append(r["latency_ms"])
            g["exchanges"] += 1
            g["failed"] += r["status"] not in ("ok", "streaming")
            g["input_tokens"] += r["input_tokens"] or 0
            g["priced"] += r["cost_usd"] is not None
            g["cost"] += Decimal(str(r["cost_usd"] or 0))
            g["unpriced"] += (r["cost_usd"] is None and r["status"] != "streaming"
                              and ((r["input_tokens"] or 0) > 0 or (r["output_tokens"] or 0) > 0))
        return got

    cases = [(LogFilter(), None, lambda r: None),
             (LogFilter(), "model", lambda r: r["model"]),
             (LogFilter(since="2026-11-21T05:17:03.250Z", until="2026-11-22T19:42:00.000Z"), "day",
              lambda r: r["created_at"][:10]),
             (LogFilter(since="2026-11-21T05:00:00.000Z", models=["gpt-4o", "llama"]), "user",
              lambda r: r["user"] or ""),
             (LogFilter(since="2026-11-22T10:10:00Z", until="2026-11-22T10:50:00Z"), "hour",
              lambda r: r["created_at"][:13]),
             (LogFilter(user="kim"), "status", lambda r: r["status"])]
    for f, by, key in cases:
        want = expected(f, key)
        got = {(r[by] if by else None): r for r in logs.stats(store, f, by)}
        assert set(got) == set(want), (f, by)
        for g, w in want.items():
            row = got[g]
            assert (row["exchanges"], row["failed"], row["input_tokens"], row["unpriced"]) == \
                (w["exchanges"], w["failed"], w["input_tokens"], w["unpriced"]), (f, by, g)
            if w["latency"]:
                from chat.evaluation.results import percentile

                assert row["latency_p50_ms"] == pytest.approx(percentile(w["latency"], 0.5)), (f, by, g)
                assert row["latency_p95_ms"] == pytest.approx(percentile(w["latency"], 0.95)), (f, by, g)
            if w["priced"]:
                assert abs(Decimal(str(row["cost_usd"])) - w["cost"]) < Decimal("1e-8"), (f, by, g)
            else:
                assert row["cost_usd"] is None, (f, by, g)  # unpriced, never $0


def test_a_file_that_is_not_a_log_gets_one_line_not_a_traceback(tmp_path):
    bogus = tmp_path / "notes.db"
    bogus.write_text("this is not a database\n" * 100)
    out = _cli("logs", db=bogus)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "check --db" in out.stderr


def test_a_refused_call_reads_as_costing_nothing_not_as_unpriced(fake, engine):
    from chat.storage.rows import Exchange
    from chat.ui import logs_tab
    from chat.ui.access import Access
    from chat.ui.display import exchange_cell

    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=10, output_tokens=5)
    run(engine, model="no-such-model-anywhere", prompt="hi")  # refused before any call: no tokens, no price
    run(engine, model="gpt-4o-mini", prompt="hi")
    engine.store.flush()
    table = logs_tab.search(engine, Access(), "all", "", "", [], [], [], "", "", "", "", "", "any", "time")[1]
    costs = dict(zip(table["model"], table["cost"]))
    assert costs["no-such-model-anywhere"] == "–" and costs["gpt-4o-mini"].startswith("$")
    used_unpriced = Exchange(id="x", cost_usd=None, input_tokens=100, output_tokens=20)
    assert exchange_cell(used_unpriced, "cost_usd") == "unpriced"  # tokens used and no price: never $0
    out = _cli("logs", "-n", "5", db=engine.store.path)
    line = next(x for x in out.stdout.splitlines() if "no-such-model-anywhere" in x)
    assert "unpriced" not in line and " – " in line


def test_times_show_in_the_readers_zone_and_stay_utc_in_the_log(engine):
    from chat.ui import logs_tab
    from chat.ui.access import Access

    engine.store.append("exchanges", {"id": "t1", "created_at": "2026-12-01T15:30:00.000Z", "session_id": "s",
                                      "model": "gpt-4o-mini", "provider": "openai", "status": "ok", "prompt": "hi",
                                      "reply": "hello", "input_tokens": 1, "output_tokens": 1})
    engine.store.flush()
    summary, table, ids, *_ = logs_tab.query(engine, Access(), None, "time", 0, 0, None, "Asia/Seoul")
    assert table.iloc[0, 0] == "2026-12-02 00:30:00 KST"  # 15:30 UTC is half past midnight in Seoul
    assert "Times in Asia/Seoul; the log keeps UTC." in summary
    assert logs_tab.query(engine, Access(), None, "time", 0, 0, None, None)[1].iloc[0, 0] == "2026-12-01 15:30:00"
    body = logs_tab.detail(engine, Access(), "t1", None, "Asia/Seoul")[0]
    assert "2026-12-02 00:30:00 KST (2026-12-01T15:30:00.000Z UTC)" in body
    assert engine.store.query("SELECT created_at FROM exchanges WHERE id = 't1'")[0]["created_at"].endswith("Z")
