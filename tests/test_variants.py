"""Prompt variants: a run is model x variant x question x repeat, each answer says its variant, results group by both."""
from __future__ import annotations

import re
import sqlite3

import pytest

from chat.evaluation import questionsets, report_files
from chat.evaluation.runs import create, execute
from chat.evaluation.summary import summarize
from tests.fake_servers import Scenario

STUDY = """name: faq-variants
set: questions.yaml
models: [gpt-4o-mini, claude-haiku-4-5]
repeats: 2
variants:
  - name: terse
    system: Answer in one sentence.
    temperature: 0
  - name: warm
    max_tokens: 64
"""
QUESTIONS = """system: You answer questions about the training programme.
questions:
  - {id: a, question: "First?"}
  - {id: b, question: "Second?"}
"""


def _study(tmp_path, text=STUDY):
    (tmp_path / "questions.yaml").write_text(QUESTIONS)
    path = tmp_path / "study.yaml"
    path.write_text(text)
    return path


def _system_of(request: dict) -> str | None:
    body = request["body"]
    if "system" in body:  # Anthropic: a top-level system
        system = body["system"]
        return system if isinstance(system, str) else "".join(block["text"] for block in system)
    first = body["messages"][0]
    return first["content"] if first["role"] == "system" else None


def test_a_study_runs_every_model_with_every_variant_and_each_answer_says_its_way(fake, engine, tmp_path):
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=100, output_tokens=20)
    fake.scenarios["claude-haiku-4-5"] = Scenario(input_tokens=200, output_tokens=40)
    qs = questionsets.load(_study(tmp_path))
    assert [v.name for v in qs.variants] == ["terse", "warm"]
    models = qs.meta["models"]
    run_id = create(engine, qs, models, repeats=2, concurrency=2)
    last = list(execute(engine, run_id, qs, models, repeats=2, concurrency=2))[-1]
    assert last.done == last.total == 2 * 2 * 2 * 2 and last.failed == 0

    # what each variant sent: its own system prompt, or the set's; its own parameters, else none
    sent = {}
    for request in fake.requests:
        body = request["body"]
        sent.setdefault((request["model"], _system_of(request)), set()).add(
            (body.get("temperature"), body.get("max_tokens") or body.get("max_completion_tokens")))
    assert set(sent) == {("gpt-4o-mini", "Answer in one sentence."), ("claude-haiku-4-5", "Answer in one sentence."),
                         ("gpt-4o-mini", "You answer questions about the training programme."),
                         ("claude-haiku-4-5", "You answer questions about the training programme.")}
    assert {t for (_, system), params in sent.items() if system.startswith("Answer") for t, _ in params} == {0}
    assert {m for (_, system), params in sent.items() if system.startswith("You") for _, m in params} == {64}

    conn = sqlite3.connect(engine.store.path)
    counts = dict(conn.execute("SELECT model || '/' || variant, count(*) FROM exchanges WHERE run_id = ? "
                               "GROUP BY 1", [run_id]).fetchall())
    assert counts == {f"{m}/{v}": 4 for m in models for v in ("terse", "warm")}

    s = summarize(engine.store, run_id)
    assert sorted((m.model, m.variant, m.cells) for m in s.models) == sorted(
        (m, v, 4) for m in models for v in ("terse", "warm"))
    assert {m.label for m in s.models} == {"gpt-4o-mini · terse", "gpt-4o-mini · warm",
                                            "claude-haiku-4-5 · terse", "claude-haiku-4-5 · warm"}
    csv_path, html_path = report_files.write_report(s, tmp_path / "out", engine.prices)
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("model,variant,") and len(lines) == 5
    assert {tuple(line.split(",")[:2]) for line in lines[1:]} == {(m, v) for m in models for v in ("terse", "warm")}
    page = html_path.read_text()
    assert page.count("<h4>gpt-4o-mini · terse</h4>") == 2  # a card per question for each candidate


def test_a_resumed_run_asks_only_the_variants_cells_left(fake, engine, tmp_path):
    qs = questionsets.load(_study(tmp_path))
    models = ["gpt-4o-mini"]
    run_id = create(engine, qs, models, repeats=1, concurrency=1)
    stream = execute(engine, run_id, qs, models, repeats=1, concurrency=1)
    for p in stream:
        if p.done == 2:
            break
    stream.close()
    asked = len(fake.requests)
    last = list(execute(engine, run_id, qs, models, repeats=1, concurrency=1))[-1]
    assert last.total == 4 and last.skipped >= 2 and last.done == 4
    assert len(fake.requests) - asked == 4 - last.skipped  # only the cells not yet answered well


@pytest.mark.parametrize("variants, message", [
    ("  - {name: a}\n  - {name: a}\n", "variant name 'a' appears twice"),
    ("  - {name: a, tone: warm}\n", "variant 1: unknown field(s) tone"),
    ("  - {name: a, temperature: 9}\n", "variant 'a': temperature must be a number from 0 to 2"),
    ("  - {system: hi}\n", "variant 1 needs a 'name'"),
])
def test_bad_variants_say_what_to_fix_in_one_line(tmp_path, variants, message):
    path = _study(tmp_path, "set: questions.yaml\nmodels: [gpt-4o-mini]\nvariants:\n" + variants)
    with pytest.raises(questionsets.QuestionSetError, match=re.escape(message)) as err:
        questionsets.load(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_a_set_without_variants_keeps_its_digest_so_old_runs_resume(tmp_path):
    (tmp_path / "q.yaml").write_text(QUESTIONS)
    plain = questionsets.load(tmp_path / "q.yaml")
    import hashlib

    # the digest every run before variants recorded: question ids and texts, then the system prompt
    before = "a\tFirst?\nb\tSecond?\nYou answer questions about the training programme."
    assert plain.variants == () and plain.digest == hashlib.sha256(before.encode()).hexdigest()[:12]
    with_variants = questionsets.load(_study(tmp_path))
    assert with_variants.digest != plain.digest  # adding a way of asking is another set: it cannot resume the old run
