"""The decision: intervals that cover the truth, constraints that pick the model a run was built to favour, the CLI."""
from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

from chat.evaluation import questionsets
from chat.evaluation.decision import ConstraintError, Constraints, decide
from chat.evaluation.decision_words import reason, shortlist_table
from chat.evaluation.ratings import DEFAULT_RUBRIC, rate
from chat.evaluation.runs import create, execute
from chat.evaluation.summary import summarize
from tests.fake_servers import Scenario
from tests.helpers import run_cli, shown
from tests.synthetic import Truth, write_run

ROOT = Path(__file__).resolve().parent.parent


def _cli(args, env):
    return run_cli(args, env=env, cwd=ROOT)


def _three(store, seed=7, **changes):
    truths = [Truth("gpt-4o-mini", 1.2, cost_usd="0.0001", score=4.4),
              Truth("claude-haiku-4-5", 0.5, cost_usd="0.0004", score=4.5),
              Truth("gpt-4o", 0.8, cost_usd="0.0020", score=3.0)]
    return write_run(store, truths, questions=10, repeats=10, seed=seed, **changes)


def test_the_decision_picks_the_cheapest_good_enough_model_and_follows_its_constraints(store):
    s = summarize(store, _three(store))
    d = decide(s, Constraints(min_score={"answers": 4}))
    assert (d.recommended.model, d.recommended.variant) == ("gpt-4o-mini", None)
    assert d.scores_from == "human"
    gpt4o = next(c for c in d.candidates if c.model == "gpt-4o")
    assert not gpt4o.meets and gpt4o.misses[0].metric == "score_answers" and gpt4o.misses[0].by > 0.5
    assert reason(d).startswith("gpt-4o-mini: meets all constraints; 75% cheaper than claude-haiku-4-5")
    # gpt-4o-mini's answers take 1.2 s at the median (p95 2.3 s): a p95 under 1.5 s rules it out; haiku is next
    d = decide(s, Constraints(min_score={"answers": 3.5}, max_latency_p95_s=1.5))
    assert d.recommended.model == "claude-haiku-4-5"
    mini = next(c for c in d.candidates if c.model == "gpt-4o-mini")
    assert [m.metric for m in mini.misses] == ["latency_p95_s"] and not mini.uncertain
    # the cheaper runner-up is named with what rules it out
    assert reason(d).startswith("claude-haiku-4-5: meets all constraints; 300% dearer than gpt-4o-mini, which misses "
                                "latency p95 ")
    # and nobody meets a cost none can reach
    d = decide(s, Constraints(max_cost_per_question=Decimal("0.00001")))
    assert d.recommended is None and reason(d).startswith("No candidate meets every constraint; the closest is "
                                                          "gpt-4o-mini")
    # a monthly limit at a volume: 0.0004 x 1,000 x 30 = $12 a month for haiku, $3 for mini
    d = decide(s, Constraints(per_day=1000, max_monthly=Decimal("5"), max_latency_p95_s=1.5))
    assert d.recommended is None
    haiku = next(c for c in d.candidates if c.model == "claude-haiku-4-5")
    assert haiku.metrics["monthly_usd"].value == pytest.approx(12.0)
    assert [m.metric for m in haiku.misses] == ["monthly_usd"] and haiku.misses[0].by == pytest.approx(7.0)


def test_the_frontier_and_the_pairs(store):
    d = decide(summarize(store, _three(store)))
    frontier = {c.model for c in d.candidates if c.frontier}
    scores = {c.model: c.metrics["score_mean"].value for c in d.candidates}
    # gpt-4o costs most and scores least; haiku, dearer than mini, is on the frontier only if it scored higher
    assert frontier == {"gpt-4o-mini"} | ({"claude-haiku-4-5"} if scores["claude-haiku-4-5"] > scores["gpt-4o-mini"]
                                          else set())
    pair = next(p for p in d.pairs if {p.a, p.b} == {"gpt-4o-mini", "claude-haiku-4-5"})
    faster = pair.p_a_better["latency_p95_s"] if pair.a == "claude-haiku-4-5" else 1 - pair.p_a_better["latency_p95_s"]
    assert faster > 0.99  # haiku's median is 0.5 s against 1.2 s
    # these models' question effects are drawn apart, so the questions, not the repeats, decide: only more of them help
    assert pair.power.more_questions and pair.repeats_to_separate is None


def test_judge_scores_are_used_when_no_person_rated_and_the_view_says_so(store):
    d = decide(summarize(store, _three(store, kind="judge")), Constraints(min_score={"answers": 4}))
    assert d.scores_from == "judge" and d.recommended.model == "gpt-4o-mini"


def test_few_answers_give_no_interval_and_say_so(store):
    run_id = write_run(store, [Truth("gpt-4o-mini")], questions=2, repeats=2, seed=3)
    d = decide(summarize(store, run_id))
    f = d.candidates[0].metrics["latency_p95_s"]
    assert f.n == 4 and f.low is None and f.high is None
    assert "only 4 answers: no interval" in shortlist_table(d)[1][0][4]


def test_constraints_that_cannot_apply_say_why(store):
    s = summarize(store, _three(store))
    with pytest.raises(ConstraintError, match="no criterion 'tone' in the rubric; it has answers, concise, natural"):
        decide(s, Constraints(min_score={"tone": 4}))
    with pytest.raises(ConstraintError, match="needs the volume"):
        decide(s, Constraints(max_monthly=Decimal(50)))


def test_decide_names_the_model_a_real_run_was_built_to_favour(fake, engine, tmp_path, monkeypatch):
    """Through the fake server: gpt-4o-mini is slow to start, claude-haiku-4-5 quick; people rated both well."""
    fake.scenarios["gpt-4o-mini"] = Scenario(ttft=0.8, input_tokens=100, output_tokens=20)
    fake.scenarios["claude-haiku-4-5"] = Scenario(ttft=0.0, input_tokens=100, output_tokens=20)
    fake.scenarios["gpt-4o"] = Scenario(ttft=0.0, input_tokens=100, output_tokens=20)
    qs = questionsets.parse("questions:\n" + "".join(f"  - {{id: q{i}, question: 'Question {i}?'}}\n" for i in range(5)),
                            "five", "yaml")
    models = ["gpt-4o-mini", "claude-haiku-4-5", "gpt-4o"]
    run_id = create(engine, qs, models, repeats=2, concurrency=6)
    list(execute(engine, run_id, qs, models, repeats=2, concurrency=6))
    for row in summarize(engine.store, run_id).rows:
        score = 2 if row.model == "gpt-4o" else 5
        rate(engine.store, row.id, {c.id: score for c in DEFAULT_RUBRIC.criteria}, DEFAULT_RUBRIC, "kim")
    engine.store.flush()
    env = dict(os.environ, CHAT_DB=str(engine.store.path))
    plain = _cli(["decide", run_id, "--min-score", "answers=4", "--json"], env)
    assert plain.returncode == 0, plain.stderr
    got = json.loads(plain.stdout)
    assert got["recommended"] == {"model": "gpt-4o-mini", "variant": None}
    assert {c["model"] for c in got["candidates"]} == set(models)
    first = got["candidates"][0]
    assert first["meets"] and first["reasons"] == []
    assert {"value", "low", "high"} <= set(first["metrics"]["latency_p95_s"])
    assert got["candidates"][-1]["model"] == "gpt-4o" and not got["candidates"][-1]["meets"]
    # mini's first token takes at least 0.8 s, every time: a TTFT p95 of half a second rules it out. Haiku's is
    # quick, but 10 answers cannot bound a p95 from above, so it is the most likely choice, not a met one
    fast = json.loads(_cli(["decide", run_id, "--min-score", "answers=4", "--max-ttft-p95", "0.5", "--json"], env).stdout)
    assert fast["recommended"] is None
    checks = {c["model"]: {k["figure"]: k for k in c["checks"]} for c in fast["candidates"]}
    assert checks["gpt-4o-mini"]["ttft_p95_s"]["verdict"] == "misses" and checks["gpt-4o-mini"]["ttft_p95_s"]["low"] > 0.5
    haiku = checks["claude-haiku-4-5"]["ttft_p95_s"]
    assert haiku["verdict"] == "uncertain" and haiku["high"] is None and haiku["bound"] == "max" and haiku["limit"] == 0.5
    assert checks["claude-haiku-4-5"]["failure_rate"] == {
        "figure": "failure_rate", "bound": "max", "limit": 0.05, "value": 0.0, "low": 0.0,
        "high": checks["claude-haiku-4-5"]["failure_rate"]["high"], "n": 10, "verdict": "meets", "default": True}
    assert fast["candidates"][0]["model"] == "claude-haiku-4-5" and fast["candidates"][0]["verdict"] == "uncertain"
    words = _cli(["decide", run_id, "--min-score", "answers=4", "--max-ttft-p95", "0.5"], env)
    assert words.stdout.startswith("No candidate is shown to meet every constraint; the most likely is "
                                   "claude-haiku-4-5, uncertain on 1: TTFT p95 ")
    assert "too few answers for an upper bound" in words.stdout and "more repeats, or more questions" in words.stdout
    assert "✗ misses" in words.stdout and "? uncertain" in words.stdout
    bad = _cli(["decide", run_id, "--min-score", "answers"], env)
    assert bad.returncode == 2 and "should be CRITERION=SCORE" in bad.stderr
    monthly = _cli(["decide", run_id, "--max-monthly", "50"], env)
    assert monthly.returncode == 2 and "--max-monthly needs --per-day" in monthly.stderr
    missing = _cli(["decide", "no-such-run"], env)
    assert missing.returncode == 2 and "no run 'no-such-run'" in missing.stderr


def test_the_runs_tab_decision_view_follows_its_constraints_and_keeps_its_measurements(store):
    import gradio as gr

    from chat.engine import Engine
    from chat.ui.access import Access
    from chat.ui.decision_view import show_decision

    engine = Engine(store)
    run_id = _three(store)
    text, shortlist, checks, plot, pairs, cached = show_decision(engine, Access(), run_id, None, None, None, None, None,
                                                                 1000, None, None, None, 4, None, None)
    text = shown(text)  # as the reader sees its characters
    assert text.startswith("### gpt-4o-mini: meets all constraints; 75% cheaper than claude-haiku-4-5")
    assert "Scores are people's ratings." in text and "◆ marks the cost–quality frontier" in text
    assert list(shortlist.columns) == ["Candidate", "Verdict", "Cost per 1,000 questions", "Latency p95",
                                       "Failure rate", "Mean score", "Acceptable rate"]
    assert list(shortlist["Candidate"])[0] == "gpt-4o-mini ◆" and list(shortlist["Verdict"])[0] == "meets every constraint"
    assert list(shortlist["Verdict"])[-1] == "misses: answers score"
    assert "- ✓ answers score ≥ 4.00: **meets** · " in text and "- ✓ failure rate ≤ 5.0% (default): **meets**" in text
    assert list(checks.columns) == ["Candidate", "answers score ≥ 4.00", "failure rate ≤ 5.0% (default)"]
    assert list(checks["answers score ≥ 4.00"])[-1].startswith("✗ misses · ")
    drawn = plot["value"][plot["value"]["model"] != ""]  # the rest hold every verdict in the colour scale, off the chart
    assert list(drawn["model"]) == ["gpt-4o-mini", "claude-haiku-4-5", "gpt-4o"]  # every candidate, rated or not
    assert list(drawn["verdict"]) == ["recommended", "meets", "misses"] or list(drawn["verdict"])[0] == "recommended"
    assert (plot["value"][plot["value"]["model"] == ""]["cost_usd"] < plot["x_lim"][0]).all()
    assert "gpt-4o" not in set(drawn[drawn["frontier"] == "yes"]["model"])
    assert len(pairs) == 3
    # a tighter latency limit: the same measurements, a different answer
    text2, *_, cached2 = show_decision(engine, Access(), run_id, cached, None, 1.5, None, None, 1000, None, None, None,
                                       3.5, None, None)
    assert cached2 is cached and shown(text2).startswith("### claude-haiku-4-5: meets all constraints")
    with pytest.raises(gr.Error, match="slowest latency p95 \\(s\\) must be a number"):
        show_decision(engine, Access(), run_id, cached, None, "soon", None, None, 1000, None, None, None)
    # under --auth, another login's run reads as no run
    auth = Access(auth=True)
    bob = gr.Request(username="bob")
    with pytest.raises(gr.Error, match="no run"):
        show_decision(engine, auth, run_id, None, None, None, None, None, 1000, None, None, bob)


def test_an_older_decision_still_working_never_puts_its_verdict_over_a_newer_one(store, monkeypatch):
    """The picked run's decision, slow on a busy server, used to arrive after the reader had set a latency limit
    and showed the verdict without it (the CI caught it); each session now sees its newest request's answer."""
    import threading

    import gradio as gr

    from chat.engine import Engine
    from chat.ui import decision_view
    from chat.ui.access import Access

    engine = Engine(store)
    run_id = _three(store)
    reader, other = gr.Request(session_hash="reader"), gr.Request(session_hash="other")
    held, release = threading.Event(), threading.Event()
    summarize_now = decision_view.summarize

    def slow_first(*args, **kwargs):
        if not held.is_set():  # the first request waits, as under load
            held.set()
            release.wait(30)
        return summarize_now(*args, **kwargs)

    monkeypatch.setattr(decision_view, "summarize", slow_first)
    args = (engine, Access(), run_id, None, None)
    older = {}
    thread = threading.Thread(target=lambda: older.update(out=decision_view.show_decision(
        *args, None, None, None, 1000, None, None, reader)))
    thread.start()
    held.wait(30)
    newer = decision_view.show_decision(*args, 0.01, None, None, 1000, None, None, reader)  # a limit no one meets
    elsewhere = decision_view.show_decision(*args, None, None, None, 1000, None, None, other)
    release.set()
    thread.join(30)
    assert "No candidate meets every constraint" in shown(newer[0])
    assert all(isinstance(part, type(gr.skip())) for part in older["out"])  # the stale verdict is not shown
    assert "meets all constraints" in shown(elsewhere[0])  # another session's own answers are its own


def test_the_run_picked_before_never_shows_its_tables_under_the_run_picked_now(store, monkeypatch):
    import threading

    import gradio as gr

    from chat.engine import Engine
    from chat.ui import runs_tab
    from chat.ui.access import Access

    engine = Engine(store)
    first, second = _three(store), _three(store, seed=11)
    reader = gr.Request(session_hash="picker")
    held, release = threading.Event(), threading.Event()
    summary_now = runs_tab.visible_summary

    def slow_first(engine, access, request, run_id, rubric):
        if run_id == first:  # the run picked first is read slowly, as under load
            held.set()
            release.wait(30)
        return summary_now(engine, access, request, run_id, rubric)

    monkeypatch.setattr(runs_tab, "visible_summary", slow_first)
    late = {}
    thread = threading.Thread(target=lambda: late.update(out=runs_tab.show_results(engine, Access(), first, reader)))
    thread.start()
    held.wait(30)
    now = runs_tab.show_results(engine, Access(), second, reader)
    release.set()
    thread.join(30)
    assert second in shown(now[0])
    assert all(isinstance(part, type(gr.skip())) for part in late["out"])  # the first run's tables stay away


def test_the_decision_reads_in_korean_for_a_korean_reader(store):
    from chat.ui.i18n import words

    d = decide(summarize(store, _three(store)), Constraints(min_score={"answers": 3.5}, max_latency_p95_s=1.5))
    ko = reason(d, words("ko"))
    assert ko.startswith("claude-haiku-4-5: 모든 제약 충족; gpt-4o-mini보다 300% 비쌈") and "95% 수준에서" in ko
    head, rows = shortlist_table(d, words("ko"))
    assert head[:2] == ["후보", "판정"] and rows[0][1] == "모든 제약 충족" and rows[-1][1].startswith("미달: 지연 p95")
    assert reason(d).startswith("claude-haiku-4-5: meets all constraints")  # the CLI and the report stay English
