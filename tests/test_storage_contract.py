"""Every storage behaviour, once per engine: a SQLite file and a real PostgreSQL server (db_target in conftest).

Nothing here knows which engine it talks to: what holds on one must hold on the other.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from chat.engine import Engine
from chat.engine.budget import Budget
from chat.storage import logs
from chat.storage.logs import LogFilter
from chat.storage.migrations import SchemaTooNew
from chat.storage.store import Store
from tests.fake_servers import Scenario
from tests.helpers import run, run_cli

ROOT = Path(__file__).resolve().parent.parent
FAQ = ROOT / "examples" / "training_faq.yaml"


def _row(i: int, **values) -> dict:
    row = {"id": f"e{i:03d}", "created_at": f"2026-11-{1 + i % 20:02d}T10:{i % 60:02d}:00.000Z", "model": "m",
           "provider": "openai", "status": "ok", "prompt": f"p{i}", "reply": "r", "input_tokens": 10, "output_tokens": 5,
           "cost_usd": 0.001, "latency_ms": 100.0 + i, "ttft_ms": 10.0 + i, "usage_source": "provider"}
    row.update(values)
    return row


def spent(target: str) -> Decimal:
    """The exact dollars logged, summed from each row's Decimal (never from a float column)."""
    store = Store(target)
    rows = store.query("SELECT cost_exact FROM exchanges WHERE cost_usd IS NOT NULL")
    return sum((Decimal(json.loads(r["cost_exact"])["cost_usd"]) for r in rows), Decimal(0))


def test_an_exchange_reads_back_as_it_was_logged(fake, db_target):
    store = Store(db_target)
    engine = Engine(store)
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=21, output_tokens=8)
    _, first = run(engine, model="gpt-4o-mini", prompt="환불은 언제 되나요?", system="Be brief.", session_id="s1")
    _, second = run(engine, model="gpt-4o-mini", prompt="and the fee?", system="Be brief.", session_id="s1",
                    history=({"role": "user", "content": "환불은 언제 되나요?"},
                             {"role": "assistant", "content": first.record.reply}))
    row = store.exchange(second.record["id"])
    assert row.status == "ok" and row.prompt == "and the fee?" and row.system == "Be brief."
    assert row.cost_usd == "0.00000795" == second.record.cost_usd  # money exact, as a Decimal string
    sent = json.loads(row.messages_json)
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[1]["content"] == "환불은 언제 되나요?"
    # each message text is kept once, however many exchanges send it
    assert store.query("SELECT count(*) AS n FROM messages")[0]["n"] == 4


def test_a_late_streaming_row_never_overwrites_the_finished_one(db_target):
    store = Store(db_target)
    store.upsert("exchanges", _row(1, status="ok", reply="the whole answer"))
    store.upsert("exchanges", _row(1, status="streaming", reply=""))  # replayed from a spill file, say
    store.flush()
    assert store.exchange("e001").status == "ok" and store.exchange("e001").reply == "the whole answer"


def test_a_read_after_the_log_closes_is_answered_and_leaves_no_threads_behind(db_target):
    """A background reader that finishes after close (the token-ratio learner does) still gets its rows, and nothing
    of the log outlives it: on PostgreSQL a pool opened then would keep reconnecting to a database long gone."""
    readers = lambda: {t for t in threading.enumerate() if t.name.startswith("chat-log-readers")}  # noqa: E731
    others = readers()  # another test's log, still open in this worker, is not this one's to judge
    store = Store(db_target)
    store.append("exchanges", _row(1))
    store.flush()
    assert store.query("SELECT count(*) AS n FROM exchanges")[0]["n"] == 1
    store.close()
    assert store.query("SELECT count(*) AS n FROM exchanges")[0]["n"] == 1
    assert not [t.name for t in readers() - others]


def test_a_row_the_schema_refuses_is_kept_and_its_batch_mates_written(db_target):
    store = Store(db_target)
    store.append("exchanges", _row(1))
    store.append("exchanges", _row(1, prompt="a duplicate id"))
    store.append("exchanges", _row(2))
    store.flush()
    assert [r["id"] for r in store.query("SELECT id FROM exchanges ORDER BY id")] == ["e001", "e002"]
    assert "a duplicate id" in store.rejected_path.read_text()  # not written over the first, not lost
    assert store.exchange("e001").prompt == "p1"


def test_a_database_migrated_by_newer_code_is_refused_in_one_line(db_target):
    store = Store(db_target)
    store.call(lambda conn: conn.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                                         ["m999_from_the_future", "2027-01-01T00:00:00.000Z"]))
    store.close()
    with pytest.raises(SchemaTooNew) as refused:
        Store(db_target)
    said = str(refused.value)
    assert "\n" not in said and "m999_from_the_future" in said and "update this app" in said


def test_two_processes_opening_a_new_log_at_once_migrate_it_once(db_target):
    script = "import sys; from chat.storage.store import Store; Store(sys.argv[1]).close()"
    procs = [subprocess.Popen([sys.executable, "-c", script, db_target], cwd=ROOT, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    names = [r["name"] for r in Store(db_target).query("SELECT name FROM _migrations")]
    assert len(names) == len(set(names)) and names


def test_a_daily_cap_holds_for_sixteen_threads(fake, db_target):
    cap = Decimal("0.002")
    store = Store(db_target)
    engine = Engine(store, budget=Budget(daily_cap=cap))
    fake.scenarios["gpt-4o"] = Scenario(input_tokens=20, output_tokens=50)
    results = []
    threads = [threading.Thread(target=lambda i=i: results.append(run(engine, model="gpt-4o", prompt=f"hi {i}",
                                                                      max_tokens=50)[1]))
               for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.flush()
    assert 0 < spent(db_target) <= cap
    refused = [r for r in results if not r.ok]
    assert refused and all("daily spend cap reached" in r.error for r in refused)
    assert store.query("SELECT count(*) AS n FROM exchanges")[0]["n"] == 16  # each logged, answered or refused


def test_two_hosts_with_eight_threads_each_never_pass_a_shared_daily_cap(fake, db_target, tmp_path):
    """Two app processes in folders of their own, sharing only the database, against a $0.01 daily cap."""
    hold = threading.Event()
    fake.scenarios["gpt-4o"] = Scenario(input_tokens=400, output_tokens=300, hold=hold)
    env = {**_env(fake, db_target), "CHAT_DAILY_CAP_USD": "0.01", "PYTHONPATH": str(ROOT)}
    procs = []
    for host in ("one", "two"):
        folder = tmp_path / host
        folder.mkdir()
        procs.append(subprocess.Popen([sys.executable, "-m", "chat", "eval", str(FAQ), "-m", "gpt-4o", "--repeats", "2",
                                       "--max-tokens", "300", "--concurrency", "8"], cwd=folder,
                                      env={**env, "CHAT_SPILL_DIR": str(folder / "logs")},
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    import time

    deadline = time.monotonic() + 120
    while sum(1 for r in fake.requests if r["first"]) < 2:  # both hosts have reserved and are streaming
        assert time.monotonic() < deadline, "no answers in flight"
        time.sleep(0.05)
    hold.set()
    outs = [p.communicate(timeout=300) for p in procs]
    assert 0 < spent(db_target) <= Decimal("0.01"), outs
    rows = Store(db_target).query("SELECT status, error FROM exchanges")
    assert len(rows) == 2 * 10 * 2  # every request logged: answered, or refused by the cap
    assert all(r["status"] == "ok" or "daily spend cap reached" in (r["error"] or "") for r in rows), rows


def _env(fake, target: str) -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env.update(OPENAI_BASE_URL=f"{fake.url}/v1", OPENAI_API_KEY="sk-test-abcdef123456", CHAT_DB=target,
               CHAT_MAX_RETRIES="0")
    return env


def _filled(store: Store) -> None:
    store.append_many("exchanges", [
        _row(1, prompt="훈련장려금은 언제 들어오나요?", reply="매달 10일에 지급됩니다.", user="alice", model="gpt-4o"),
        _row(2, prompt="수료 기준이 뭔가요?", reply="출석률 80% 이상이면 수료입니다.", user="bob", model="gpt-4o-mini"),
        _row(3, prompt="How are refunds handled?", reply="Refunds take five days.", user="alice", model="gpt-4o-mini",
             status="error", error="overloaded", cost_usd=None, input_tokens=0, output_tokens=0),
        _row(4, prompt="still typing", reply="", status="streaming", user="bob"),
    ])
    store.flush()


def _ids(rows) -> list[str]:
    return sorted(r.id for r in rows)


def test_search_finds_words_by_prefix_and_korean_inside_words(db_target):
    store = Store(db_target)
    _filled(store)
    search = lambda text, **f: _ids(logs.page(store, LogFilter(text=text, **f)))  # noqa: E731
    assert search("장려금") == ["e001"]  # inside 훈련장려금
    assert search("수료") == ["e002"]  # two syllables
    assert search("refund") == ["e003"] and search("REFUNDS five") == ["e003"]  # prefix, case, all words
    assert search("refund 장려금") == []
    assert search("장려금", user="bob") == []  # a search never widens a scope
    assert search("typing") == []  # a reply still streaming is not searchable yet


def test_a_login_scope_sees_only_its_own_rows(db_target):
    store = Store(db_target)
    _filled(store)
    assert _ids(logs.page(store, LogFilter(user="alice"))) == ["e001", "e003"]
    assert logs.choices(store, "user") == ["alice", "bob"]
    by_user = {r["user"]: r["exchanges"] for r in logs.stats(store, LogFilter(), by="user")}
    assert by_user == {"alice": 2, "bob": 2}
    assert logs.exchange(store, LogFilter(user="bob"), "e001") is None


def test_stats_count_failures_spend_and_percentiles_from_the_rows(db_target):
    store = Store(db_target)
    _filled(store)
    by_model = {r["model"]: r for r in logs.stats(store, LogFilter(), by="model")}
    assert by_model["gpt-4o-mini"]["exchanges"] == 2 and by_model["gpt-4o-mini"]["failed"] == 1
    assert by_model["gpt-4o"]["cost_usd"] == pytest.approx(0.001)
    whole = logs.summary(store, LogFilter())
    assert whole["exchanges"] == 4 and whole["latency_p50_ms"] == pytest.approx(102.5)
    narrowed = logs.summary(store, LogFilter(since="2026-11-03T10:01:30.000Z"))  # a part-hour from the rows
    assert narrowed["exchanges"] == 3 and narrowed["input_tokens"] == 20
    assert [r["status"] for r in logs.failures_per_day(store, LogFilter())] == ["error"]


def test_export_rebuilds_what_was_sent_and_purge_forgets_it(fake, db_target):
    store = Store(db_target)
    engine = Engine(store)
    run(engine, model="gpt-4o-mini", prompt="a question", system="Be brief.")
    store.flush()
    exported = list(logs.export(store, LogFilter()))
    assert len(exported) == 1 and "rowid" not in exported[0]
    assert json.loads(exported[0]["messages_json"]) == [{"role": "system", "content": "Be brief."},
                                                        {"role": "user", "content": "a question"}]
    assert logs.purge(store, "2999-01-01T00:00:00.000Z") == 1
    assert store.query("SELECT count(*) AS n FROM messages")[0]["n"] == 0  # no text left behind


def test_a_host_silent_past_its_lease_has_its_replies_cut_off_and_their_reservations_kept(db_target):
    store = Store(db_target)
    gone, alive, unknown = "far-host:101:5", "near-host:202:6", "old-host:303:7"  # other machines' processes
    store.append_many("exchanges", [_row(1, status="streaming", process=gone, reply="half an"),
                                    _row(2, status="streaming", process=alive), _row(3, status="streaming", process=unknown)])
    store.append_many("spend", [{"exchange_id": f"e00{i}", "day": "2026-11-02", "amount_pusd": 5_000_000, "state": "reserved"}
                                for i in (1, 2, 3)])
    store.append_many("hosts", [{"process": gone, "started_at": "2026-11-02T00:00:00.000Z",
                                 "lease_until": "2026-11-02T00:00:30.000Z"},
                                {"process": alive, "started_at": "2026-11-02T00:00:00.000Z",
                                 "lease_until": "2999-01-01T00:00:00.000Z"}])
    store.close()
    store = Store(db_target)  # a start settles what it finds; on PostgreSQL every host's heartbeat does too
    store.flush()
    rows = {r["id"]: r for r in store.query("SELECT id, status, error, reply FROM exchanges")}
    assert rows["e001"]["status"] == "interrupted" and "killed or crashed" in rows["e001"]["error"]
    assert rows["e001"]["reply"] == "half an"  # what it had written stays
    assert rows["e002"]["status"] == rows["e003"]["status"] == "streaming"  # a live lease; one that cannot be judged
    spend = {r["exchange_id"]: (r["state"], r["amount_pusd"]) for r in store.query("SELECT * FROM spend")}
    assert spend == {"e001": ("interrupted", 5_000_000), "e002": ("reserved", 5_000_000),
                     "e003": ("reserved", 5_000_000)}  # the worst case still counts against the caps


def _new_run(db_target: str, repeats: int) -> str:
    from chat.evaluation import questionsets
    from chat.evaluation.runs import create

    qs = questionsets.load(FAQ)
    return create(Engine(Store(db_target)), qs, ["gpt-4o-mini"], repeats=repeats, concurrency=4)


def test_two_processes_resuming_one_run_never_ask_a_cell_twice(fake, db_target, tmp_path):
    fake.scenarios["gpt-4o-mini"] = Scenario(chunks=["x "] * 5, gap=0.01, input_tokens=20, output_tokens=5)
    run_id = _new_run(db_target, repeats=3)
    procs = []
    for host in ("one", "two"):
        folder = tmp_path / host
        folder.mkdir()
        procs.append(subprocess.Popen([sys.executable, "-m", "chat", "eval", str(FAQ), "-m", "gpt-4o-mini", "--repeats",
                                       "3", "--concurrency", "4", "--resume", run_id], cwd=folder,
                                      env={**_env(fake, db_target), "PYTHONPATH": str(ROOT),
                                           "CHAT_SPILL_DIR": str(folder / "logs")},
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=300) for p in procs]
    rows = Store(db_target).query("SELECT question_id, repeat_index, status FROM exchanges WHERE run_id = ?", [run_id])
    cells = [(r["question_id"], r["repeat_index"]) for r in rows]
    assert len(cells) == len(set(cells)) == 30, outs  # every cell once: none twice, none left out
    assert len(fake.requests) == 30 and {r["status"] for r in rows} == {"ok"}


def test_a_whole_log_copies_either_way_once_and_searchable(fake, db_target, pg_url, tmp_path):
    """SQLite -> PostgreSQL -> SQLite (or PostgreSQL -> a second PostgreSQL -> SQLite): every row, each once."""
    from chat.evaluation import questionsets
    from chat.evaluation.ratings import DEFAULT_RUBRIC, rate
    from chat.evaluation.runs import create, execute

    fake.scenarios["gpt-4o-mini"] = Scenario(chunks=["훈련장려금은 ", "매달 지급됩니다."], input_tokens=30, output_tokens=9)
    source = Store(db_target)
    engine = Engine(source, budget=Budget(daily_cap=Decimal("1")))
    qs = questionsets.parse("- 장려금은 언제 들어오나요?\n- 수료 기준은?\n", "set", "yaml")
    run_id = create(engine, qs, ["gpt-4o-mini"], 2, 2)
    list(execute(engine, run_id, qs, ["gpt-4o-mini"], 2, 2))
    answer = logs.page(source, LogFilter())[0]
    rate(source, answer.id, {"answers": 5, "concise": 4, "natural": 4}, DEFAULT_RUBRIC, "kim")
    second = db_target.startswith("postgresql")
    middle_target = _second_pg(pg_url) if second else pg_url
    try:
        _copied_both_ways(source, middle_target, tmp_path, answer)
    finally:
        if second:
            _drop(middle_target)


def _copied_both_ways(source: Store, middle_target: str, tmp_path, answer) -> None:
    from chat.storage.copy import copy, tally

    middle, last = Store(middle_target), Store(str(tmp_path / "back.db"))
    first = copy(source, middle)
    assert first["exchanges"] == 4 and first["runs"] == 1 and first["ratings"] == 3 and first["spend"] == 4
    assert copy(source, middle) == dict.fromkeys(first, 0)  # again: nothing twice
    copy(middle, last)
    want = tally(source)
    assert want.dollars > 0 and tally(middle) == want == tally(last)  # every count, the money to the last digit
    for store in (middle, last):
        assert len(logs.page(store, LogFilter(text="장려금"))) == 4  # Korean inside words, indexed on arrival
        assert logs.summary(store, LogFilter())["cost_usd"] == pytest.approx(logs.summary(source, LogFilter())["cost_usd"])
        assert store.exchange(answer.id).messages_json == source.exchange(answer.id).messages_json


def _second_pg(url: str) -> str:
    from tests import pg

    return pg.fresh_database(url.rsplit("/", 1)[0] + "/postgres")


def _drop(url: str) -> None:
    from chat.storage import store
    from tests import pg

    for opened in list(store._stores):
        if opened.where == url:
            opened.close(timeout=5)
    pg.drop_database(url.rsplit("/", 1)[0] + "/postgres", url)


def test_db_check_reads_a_log_without_changing_it_and_db_copy_says_what_it_moved(db_target, tmp_path):
    store = Store(db_target)
    _filled(store)
    store.close()
    checked = run_cli(["db", "check", db_target])
    assert checked.returncode == 0, checked.stderr
    assert "exchanges           4 rows" in checked.stdout and "1 replies marked streaming" in checked.stdout
    copied = run_cli(["db", "copy", db_target, str(tmp_path / "copy.db")])
    assert copied.returncode == 0, copied.stderr
    assert [line.split()[:4] for line in copied.stdout.splitlines() if line.startswith("exchanges")] == \
        [["exchanges", "4", "4", "4"]]
    assert "cost of the exchanges: $0.003 in the source, $0.003 in the target" in copied.stdout
    missing = run_cli(["db", "copy", str(tmp_path / "nothing.db"), db_target])
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no log at" in missing.stderr
