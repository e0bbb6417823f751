"""Korean substring search: any run of two or more characters inside a word is found, by every route."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from chat.storage import logs
from chat.storage.grams import grams
from chat.storage.logs import LogFilter
from chat.storage.store import Store
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent
ROWS = [
    ("a", "훈련장려금은 얼마인가요?", "월 최대 316,000원입니다."),
    ("b", "전액환불 되나요?", "수강 시작 전이면 전액환불됩니다."),
    ("c", "환불은 언제 되나요?", "5일 안에 처리됩니다."),
    ("d", "How do refunds work?", "Refunds take five days."),
    ("e", "장학금 있나요?", "없습니다."),
]


@pytest.fixture
def log(tmp_path):
    store = Store(tmp_path / "chat.db")
    for i, (rid, prompt, reply) in enumerate(ROWS):
        store.append("exchanges", {"id": rid, "created_at": f"2026-12-01T10:00:0{i}.000Z", "session_id": "s",
                                   "model": "gpt-4o-mini", "provider": "openai", "status": "ok", "prompt": prompt,
                                   "reply": reply})
    store.flush()
    return store


def _found(store, text):
    return sorted(r.id for r in logs.page(store, LogFilter(text=text), limit=100))


def test_runs_inside_words_are_found_and_words_still_by_prefix(log):
    assert _found(log, "장려금") == ["a"]  # inside 훈련장려금
    assert _found(log, "환불") == ["b", "c"]  # inside 전액환불, and at the start of 환불은
    assert _found(log, "액환") == ["b"]
    assert _found(log, "316") == ["a"]
    assert _found(log, "refund") == ["d"]  # English stays word-prefix: refunds, Refunds
    assert _found(log, "환불 refund") == []  # every word is required
    assert _found(log, "전액환불 수강") == ["b"]
    assert _found(log, "학금") == ["e"] and _found(log, "금") == []  # a single character: word prefix only


def test_the_index_follows_updates_and_deletes_from_any_program(log):
    conn = sqlite3.connect(log.path)
    conn.execute("UPDATE exchanges SET reply = '', prompt = '' WHERE id = 'a'")  # e.g. logs purge --content-only
    conn.execute("DELETE FROM exchanges WHERE id = 'b'")
    conn.commit()
    assert _found(log, "장려금") == [] and _found(log, "환불") == ["c"]
    assert conn.execute("SELECT count(*) FROM exchanges_grams").fetchone()[0] == 2  # c and e (d is English)
    log.upsert("exchanges", {"id": "a", "status": "ok", "prompt": "훈련장려금 다시", "reply": "네"})
    log.flush()
    assert _found(log, "장려금") == ["a"]


def test_the_cli_datasette_and_sqlite_utils_find_it(log):
    env = dict(os.environ, CHAT_DB=str(log.path))
    out = run_cli(["logs", "-q", "장려금", "--json"], cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr
    assert [r["id"] for r in json.loads(out.stdout)] == ["a"]
    # sqlite-utils, as the README says: the word's overlapping pairs, all required
    found = subprocess.run([sys.executable, "-m", "sqlite_utils", "search", str(log.path), "exchanges_grams",
                            " ".join(grams("장려금").split()), "--csv"], capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stderr
    assert found.stdout.count("\n") == 2  # the header and one row
    sqlite_utils_rowid = found.stdout.splitlines()[1].split(",")[0]
    conn = sqlite3.connect(log.path)
    assert conn.execute("SELECT id FROM exchanges WHERE rowid = ?", [sqlite_utils_rowid]).fetchone()[0] == "a"
    # Datasette's canned query turns the word into its pairs itself
    import yaml

    sql = yaml.safe_load((ROOT / "docs" / "datasette.yaml").read_text())["databases"]["chat"]["queries"][
        "search_inside_words"]["sql"]
    assert sorted(r[-1] for r in conn.execute(sql, {"q": "환불"})) == ["b", "c"]
    assert [r[-1] for r in conn.execute(sql, {"q": "장려금"})] == ["a"]


def test_a_search_matching_thousands_shows_the_newest_first_as_the_whole_search_would(tmp_path):
    """A word in a quarter of the log reads its newest matches only; the page must equal the full sort's."""
    store = Store(tmp_path / "many.db")
    rows = [{"id": f"r{i:05d}", "created_at": f"2026-11-{1 + i // 1000:02d}T{(i // 60) % 24:02d}:{i % 60:02d}:00.000Z",
             "session_id": "s", "model": "m", "provider": "openai", "status": "ok",
             "prompt": "훈련장려금 얼마?" if i % 2 else "수강료 환불?", "reply": "네"} for i in range(5000)]
    store.append_many("exchanges", rows)
    # imported later (a spill file replayed at start): old times, new rowids
    store.append_many("exchanges", [{**rows[1], "id": f"late{i}", "created_at": f"2026-10-0{i + 1}T00:00:00.000Z"}
                                    for i in range(3)])
    store.flush()
    conn = sqlite3.connect(store.path)
    expected = [r[0] for r in conn.execute(
        "SELECT id FROM exchanges WHERE prompt LIKE '%장려금%' OR reply LIKE '%장려금%' ORDER BY created_at DESC")]
    assert len(expected) == 2503
    for offset in (0, 50, 2450):
        got = [r.id for r in logs.page(store, LogFilter(text="장려금"), limit=50, offset=offset)]
        assert got == expected[offset:offset + 50]
    # the last, short page comes from the whole search
    assert [r.id for r in logs.page(store, LogFilter(text="장려금"), limit=50, offset=2500)] == expected[2500:]
