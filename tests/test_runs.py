"""Question sets, runs, results, ratings, judge and reports against the fake servers, on a real SQLite log and a real
PostgreSQL one (the engine fixture here runs each test on both)."""
from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from chat.evaluation import questionsets
from chat.evaluation.judge import judge, parse_verdict
from chat.evaluation.ratings import DEFAULT_RUBRIC, RubricError, load_rubric, rate, rating_stats
from chat.evaluation.results import similarity
from chat.evaluation.runs import RunError, create, execute
from chat.evaluation.summary import summarize
from tests.conftest import need
from tests.fake_servers import Scenario
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent
FAQ = ROOT / "examples" / "training_faq.yaml"


@pytest.fixture
def engine(db_target):
    from chat.engine import Engine
    from chat.storage.store import Store

    return Engine(Store(db_target))


def test_the_faq_example_has_the_ten_korean_questions():
    qs = questionsets.load(FAQ)
    assert len(qs.questions) == 10
    assert qs.questions[1].text == "훈련장려금 얼마 받을 수 있나요?"
    assert qs.questions[9].text == "휴가 이틀 연속 써도 돼요?"
    assert all(q.reference and q.note for q in qs.questions)
    assert "FAQ" in qs.system


def test_csv_and_text_sets(tmp_path):
    csv_set = questionsets.load(ROOT / "examples" / "support_questions.csv")
    assert [q.id for q in csv_set.questions] == ["refund", "hours"] and csv_set.questions[0].reference
    txt = questionsets.load(ROOT / "examples" / "quick_questions.txt", system="Be brief.")
    assert len(txt.questions) == 3 and txt.system == "Be brief." and txt.questions[0].id == "q1"


@pytest.mark.parametrize("name, body, message", [
    ("a.csv", "prompt\nhi\n", "needs a header row with a 'question' column"),
    ("b.yaml", "questions:\n  - id: x\n    question: a\n  - id: x\n    question: b\n", "repeated: x"),
    ("c.txt", "# only a comment\n", "no questions found"),
    ("d.yaml", "questions: 3\n", "expected a list of questions"),
])
def test_bad_sets_say_what_to_fix(tmp_path, name, body, message):
    path = tmp_path / name
    path.write_text(body)
    with pytest.raises(questionsets.QuestionSetError, match=re.escape(message)) as err:
        questionsets.load(path)
    assert str(path) in str(err.value)


def _small_set():
    return questionsets.parse("questions:\n  - {id: a, question: \"First?\"}\n  - {id: b, question: \"Second?\"}\n", "mini", "yaml")


def test_run_aggregates_are_exact(fake, engine):
    # deterministic usage: gpt-4o-mini 100 in / 20 out, claude-haiku-4-5 200 in (50 cached) / 40 out
    fake.scenarios["gpt-4o-mini"] = Scenario(ttft=0.05, input_tokens=100, output_tokens=20,
                                             variants=[["The answer ", "is yes."], ["The answer ", "is no."]])
    fake.scenarios["claude-haiku-4-5"] = Scenario(ttft=0.15, input_tokens=200, cached_tokens=50, output_tokens=40)
    qs = _small_set()
    models = ["gpt-4o-mini", "claude-haiku-4-5"]
    run_id = create(engine, qs, models, repeats=2, concurrency=3)
    progress = list(execute(engine, run_id, qs, models, repeats=2, concurrency=3))
    assert progress[-1].done == progress[-1].total == 8 and progress[-1].failed == 0
    s = summarize(engine.store, run_id)
    stats = {m.model: m for m in s.models}
    mini, haiku = stats["gpt-4o-mini"], stats["claude-haiku-4-5"]
    assert (mini.cells, mini.ok, mini.error_rate, mini.mean_output_tokens) == (4, 4, 0.0, 20)
    assert mini.cost_per_question == (100 * Decimal("0.15") + 20 * Decimal("0.60")) / 1_000_000
    assert mini.cost_per_1000 == mini.cost_per_question * 1000
    assert haiku.cost_per_question == (150 * Decimal("1") + 50 * Decimal("0.10") + 40 * Decimal("5")) / 1_000_000
    # the fake waits 50 ms / 150 ms before its first token: no measurement can come in under that
    assert mini.ttft_p50_ms >= 50 and haiku.ttft_p50_ms >= 150
    assert mini.ttft_p50_ms <= mini.ttft_p95_ms and mini.latency_p50_ms >= mini.ttft_p50_ms
    per_q = {(q.model, q.question_id): q for q in s.questions}
    # replies alternate between the two variants across the 4 gpt-4o-mini answers
    texts = sorted(r["reply"] for r in s.rows if r["model"] == "gpt-4o-mini" and r["question_id"] == "a")
    assert per_q["gpt-4o-mini", "a"].similarity == pytest.approx(similarity(*texts))
    assert per_q["claude-haiku-4-5", "a"].similarity == 1.0 and per_q["claude-haiku-4-5", "a"].chars_cv == 0.0
    rows = engine.store.query("SELECT DISTINCT run_id, session_id FROM exchanges")
    assert rows == [{"run_id": run_id, "session_id": f"run:{run_id}"}]


def test_failed_cells_count_as_errors_and_resume_reruns_only_them(fake, engine):
    fake.scenarios["gpt-4o-mini"] = Scenario(fail_first=[500, 500, 500])  # with 2 SDK retries: the first cell fails
    qs = _small_set()
    run_id = create(engine, qs, ["gpt-4o-mini"], repeats=2, concurrency=1)
    last = list(execute(engine, run_id, qs, ["gpt-4o-mini"], 2, 1))[-1]
    assert last.failed == 1 and last.done == 4
    assert summarize(engine.store, run_id).models[0].error_rate == 0.25
    before = len(fake.requests)
    resumed = list(execute(engine, run_id, qs, ["gpt-4o-mini"], 2, 1))
    assert resumed[0].skipped == 3 and len(fake.requests) - before == 1
    assert summarize(engine.store, run_id).models[0].error_rate == 0.0  # the retry replaced the failure


def test_cancel_stops_the_run_and_logs_cells_in_flight(fake, engine):
    fake.scenarios["gpt-4o-mini"] = Scenario(chunks=["x "] * 50, gap=0.02)  # about a second per answer
    qs = _small_set()
    cancel = threading.Event()
    run_id = create(engine, qs, ["gpt-4o-mini"], repeats=5, concurrency=2)

    def press_cancel():  # the user presses Cancel while the first two answers stream
        while len([r for r in fake.requests if r["first"]]) < 2:
            time.sleep(0.01)
        time.sleep(0.3)
        cancel.set()

    threading.Thread(target=press_cancel, daemon=True).start()
    seen = list(execute(engine, run_id, qs, ["gpt-4o-mini"], 5, 2, cancel=cancel))
    assert seen[-1].cancelled and seen[-1].done < 10
    rows = engine.store.query("SELECT status, reply FROM exchanges WHERE run_id = ?", [run_id])
    assert len(rows) == 2 and {r["status"] for r in rows} == {"aborted"}
    assert all(r["reply"].startswith("x x") for r in rows), rows  # the partial answers are kept


def test_resume_refuses_a_different_set(fake, engine):
    run_id = create(engine, _small_set(), ["gpt-4o-mini"], 1, 1)
    other = questionsets.parse("- Something else?\n", "other", "yaml")
    with pytest.raises(RunError, match="different question set"):
        create(engine, other, ["gpt-4o-mini"], 1, 1, run_id=run_id)
    with pytest.raises(RunError, match="unavailable: set ANTHROPIC_API_KEY"):
        os.environ.pop("ANTHROPIC_API_KEY")
        create(engine, _small_set(), ["claude-haiku-4-5"], 1, 1)


def test_ratings_round_trip_and_cost_per_acceptable_answer(fake, engine):
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=100, output_tokens=20)
    qs = _small_set()
    run_id = create(engine, qs, ["gpt-4o-mini"], 1, 1)
    list(execute(engine, run_id, qs, ["gpt-4o-mini"], 1, 1))
    rows = summarize(engine.store, run_id).rows
    rate(engine.store, rows[0]["id"], {"answers": 5, "concise": 4, "natural": 5}, DEFAULT_RUBRIC, "kim", blind=True)
    rate(engine.store, rows[1]["id"], {"answers": 2, "concise": 3, "natural": 3}, DEFAULT_RUBRIC, "kim", blind=True)
    with pytest.raises(RubricError, match="must be one of"):
        rate(engine.store, rows[1]["id"], {"answers": 7}, DEFAULT_RUBRIC, "kim")
    stats = summarize(engine.store, run_id).ratings
    assert len(stats) == 1 and stats[0].kind == "human" and stats[0].rated == 2
    assert stats[0].means == {"answers": 3.5, "concise": 3.5, "natural": 4.0}
    assert stats[0].acceptable == 1  # (5+4+5)/3 passes the 4.0 bar; (2+3+3)/3 does not
    one = (100 * Decimal("0.15") + 20 * Decimal("0.60")) / 1_000_000
    assert stats[0].cost_per_acceptable == one * 2  # both rated answers' cost, over one acceptable answer
    stored = engine.store.query("SELECT rater, rater_kind, blind FROM ratings WHERE exchange_id = ?", [rows[0]["id"]])
    assert {(r["rater"], r["rater_kind"], r["blind"]) for r in stored} == {("kim", "human", 1)}


def test_judge_ratings_are_stored_apart(fake, engine):
    fake.scenarios["gpt-4o-mini"] = Scenario()
    verdict = '{"scores": {"answers": 4, "concise": 5, "natural": 3}, "rationale": "Correct and short."}'
    fake.scenarios["gpt-4.1"] = Scenario(chunks=["Here you go: ", verdict])
    qs = _small_set()
    run_id = create(engine, qs, ["gpt-4o-mini"], 1, 1)
    list(execute(engine, run_id, qs, ["gpt-4o-mini"], 1, 1))
    row = summarize(engine.store, run_id).rows[0]
    rate(engine.store, row["id"], {"answers": 2, "concise": 2, "natural": 2}, DEFAULT_RUBRIC, "lee")
    scores, rationale = judge(engine, "gpt-4.1", row, "reference text", DEFAULT_RUBRIC)
    assert scores == {"answers": 4.0, "concise": 5.0, "natural": 3.0} and rationale == "Correct and short."
    assert "reference text" in fake.requests[-1]["body"]["messages"][-1]["content"]
    by_kind = {s.kind: s for s in rating_stats(engine.store, [row], DEFAULT_RUBRIC)}
    assert by_kind["human"].means["answers"] == 2.0 and by_kind["judge"].means["answers"] == 4.0
    with pytest.raises(ValueError, match="no score for 'natural'"):
        parse_verdict('{"scores": {"answers": 4, "concise": 5}}', DEFAULT_RUBRIC)


def test_rubric_file(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("scale: pass/fail\ncriteria:\n  - {id: correct, label: Is correct}\n")
    rubric = load_rubric(path)
    assert rubric.scale == "pass/fail" and rubric.acceptable == 1.0 and rubric.criteria[0].id == "correct"
    path.write_text("scale: 1-10\ncriteria: []\n")
    with pytest.raises(RubricError, match="'scale' must be one of"):
        load_rubric(path)


def _cli(args, env):
    return run_cli(args, env=env, cwd=ROOT)


def test_cli_eval_resume_and_offline_report(fake, tmp_path):
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=300, output_tokens=30, fail_first=[500] * 3)
    fake.scenarios["claude-haiku-4-5"] = Scenario(input_tokens=320, output_tokens=45)
    env = dict(os.environ, CHAT_DB=str(tmp_path / "eval.db"))
    args = ["eval", str(FAQ), "-m", "gpt-4o-mini", "-m", "claude-haiku-4-5", "--repeats", "2", "--concurrency", "1",
            "--out", str(tmp_path / "out")]
    first = _cli(args, env)
    assert first.returncode == 1, first.stderr
    run_id = re.search(r"run (\S+):", first.stderr).group(1)
    assert "1 answers failed (first: openai failed (HTTP 500)" in first.stderr and "rerun with --resume" in first.stderr
    assert "40/40" in first.stderr  # the terminal progress bar reached the end
    second = _cli([*args, "--resume", run_id], env)
    assert second.returncode == 0, second.stderr
    assert "39/40" in second.stderr or "40/40" in second.stderr
    conn = sqlite3.connect(tmp_path / "eval.db")
    assert conn.execute("SELECT count(*) FROM exchanges WHERE run_id = ?", [run_id]).fetchone()[0] == 41
    lines = second.stdout.splitlines()
    assert lines[0].split()[0] == "Model" and any(line.startswith("gpt-4o-mini ") for line in lines)
    html = (tmp_path / "out" / f"run-{run_id}.html").read_text()
    assert "<svg" in html and "Latency against cost" in html and "training-programme-faq" in html
    assert not re.search(r"(src|href)=[\"']?https?:", html)  # opens offline: nothing fetched
    csv_text = (tmp_path / "out" / f"run-{run_id}.csv").read_text().splitlines()
    assert csv_text[0].startswith("model,variant,cells,error_rate") and len(csv_text) == 3


def test_embedded_model_small_real_run(engine):
    need("llama_cpp", "the embedded model")
    qs = questionsets.parse("- What is 2 + 2?\n- Name a colour.\n", "tiny", "yaml")
    run_id = create(engine, qs, ["smollm2-135m-instruct"], repeats=1, concurrency=2, max_tokens=16)
    last = list(execute(engine, run_id, qs, ["smollm2-135m-instruct"], 1, 2, max_tokens=16))[-1]
    assert last.done == 2 and last.failed == 0
    stats = summarize(engine.store, run_id).models[0]
    assert stats.cost_per_question == 0 and stats.mean_output_tokens > 0 and stats.estimated_share == 0


def test_a_run_reads_its_question_set_back_as_the_set_it_asked(fake, engine):
    """The frozen set was read back as a dict; it is the QuestionSet, variants, references and cache included."""
    from chat.evaluation import questionsets, runs
    from chat.evaluation.summary import summarize

    qs = questionsets.QuestionSet(
        "faq", (questionsets.Question("q1", "수강 신청은 언제까지 하나요?", "개강 3일 전", "When to enrol?"),
                questionsets.Question("q2", "환불 규정은?")), "FAQ에 있는 내용만 답하세요.",
        variants=(questionsets.Variant("terse", "한 문장으로", 0.2, 64, "off"), questionsets.Variant("plain")),
        cache="off")
    run_id = runs.create(engine, qs, ["gpt-4o-mini"], 1, 1)
    engine.store.flush()
    back = summarize(engine.store, run_id).question_set
    assert isinstance(back, questionsets.QuestionSet)
    assert (back.name, back.questions, back.system, back.variants, back.cache) == \
        (qs.name, qs.questions, qs.system, qs.variants, qs.cache)
    assert back.digest == qs.digest
