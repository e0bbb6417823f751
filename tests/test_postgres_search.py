"""Search on PostgreSQL uses its indexes: the Korean pairs' GIN index for a 2-syllable term, the words' GIN
expression index for English, with nothing beyond core PostgreSQL."""
from __future__ import annotations

from pathlib import Path

from chat.storage import logs
from chat.storage.logs import LogFilter
from chat.storage.store import Store
from tests.helpers import run_cli
from tests.test_storage_contract import _filled

ROOT = Path(__file__).resolve().parent.parent


def _plan(store: Store, text: str) -> str:
    where, params = logs._where(LogFilter(text=text), store.backend)
    with store.reader() as conn:
        conn.execute("SET enable_seqscan = off")  # a handful of rows would be scanned whole; the question is the shape
        try:
            rows = conn.execute(f"EXPLAIN SELECT id FROM exchanges{where}", params).fetchall()
        finally:
            conn.execute("RESET enable_seqscan")
    return "\n".join(r[0] for r in rows)


def test_a_two_syllable_korean_term_and_an_english_prefix_are_found_through_indexes(pg_url):
    store = Store(pg_url)
    _filled(store)
    assert "idx_exchanges_grams" in _plan(store, "수료")
    assert "idx_exchanges_words" in _plan(store, "refund")
    assert store.query("SELECT extname FROM pg_extension") == [{"extname": "plpgsql"}]  # core only
    # and the command line finds a word inside a Korean compound on the server
    found = run_cli(["logs", "--db", pg_url, "-q", "장려금"])
    assert found.returncode == 0 and "e001" in found.stdout and "e002" not in found.stdout, found.stderr


def test_the_psql_queries_in_the_docs_run_on_a_real_server(pg_url):
    """docs/log.md's psql versions of the canned Datasette queries, each run as psql would (its variables set)."""
    store = Store(pg_url)
    _filled(store)
    text = (ROOT / "docs" / "log.md").read_text()
    block = text.split("<!-- psql-queries -->", 1)[1].split("```sql", 1)[1].split("```", 1)[0]
    queries = [q.strip() for q in block.split(";") if q.strip().replace("\n", " ").split("--")[-1].strip()]
    assert len(queries) == 7
    results = []
    for query in queries:
        sql = query.replace(":'q'", "'장려금'").replace(":'run_id'", "'nothing'")
        results.append(store.query(sql))
    by_title = dict(zip(["day", "model", "errors", "slowest", "dearest", "korean", "run"], results))
    assert [r["id"] for r in by_title["korean"]] == ["e001"]  # 장려금 inside 훈련장려금
    assert [r["id"] for r in by_title["errors"]] == ["e003"] and by_title["run"] == []
    assert {r["model"] for r in by_title["model"]} == {"gpt-4o", "gpt-4o-mini", "m"}
