"""Compare and Runs tab handlers called directly, without a browser, on a SQLite log and a PostgreSQL one."""
from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

from chat.ui import compare_tab, rating_view, runs_tab
from chat.ui.access import Access
from tests.fake_servers import Scenario
from tests.helpers import shown

ROOT = Path(__file__).resolve().parent.parent



@pytest.fixture
def engine(db_target):
    """The tabs' handlers here run on a SQLite log and on a PostgreSQL one."""
    from chat.engine import Engine
    from chat.storage.store import Store

    return Engine(Store(db_target))

def test_compare_needs_two_to_four_models_and_a_prompt(fake, engine):
    with pytest.raises(gr.Error, match="choose 2 to 4 models"):
        list(compare_tab.compare(engine, "hi", ["gpt-4o-mini"], "", 50, False, compare_tab.new_compare()))
    with pytest.raises(gr.Error, match="type a prompt"):
        list(compare_tab.compare(engine, " ", ["gpt-4o-mini", "gpt-4o"], "", 50, False, compare_tab.new_compare()))


def test_compare_streams_each_model_into_its_column_and_blind_hides_names(fake, engine):
    fake.scenarios["gpt-4o-mini"] = Scenario(chunks=["small "] * 5, gap=0.02)
    fake.scenarios["gpt-4o"] = Scenario(chunks=["large "] * 5, gap=0.02)
    outs = list(compare_tab.compare(engine, "hi", ["gpt-4o-mini", "gpt-4o"], "Be brief.", 50, True,
                                    compare_tab.new_compare()))
    last = outs[-1]
    state = last[-1]
    heads, answers, meters = last[1:8:4], last[2:8:4], last[3:8:4]
    assert heads == ["### Model A", "### Model B"]
    by_model = dict(zip(state["models"], (shown(a) for a in answers)))
    assert by_model == {"gpt-4o-mini": ("small " * 5).strip(), "gpt-4o": ("large " * 5).strip()}
    # cost, tokens and speed would give the model away: hidden until a vote, a rating or Reveal
    assert all("hidden" in m and "TTFT" not in m and "$" not in m and " in · " not in m for m in meters)
    assert last[8]["visible"] is False and last[12]["visible"] is False  # columns C and D stay hidden
    engine.store.flush()
    rows = engine.store.query("SELECT model, compare_id, system FROM exchanges_full WHERE compare_id = ?", [state["compare_id"]])
    assert {r["model"] for r in rows} == {"gpt-4o-mini", "gpt-4o"} and {r["system"] for r in rows} == {"Be brief."}
    revealed = compare_tab.reveal(state)
    assert shown(revealed[1]) == f"### A: {state['models'][0]}"
    assert "TTFT" in revealed[3] and "TTFT" in revealed[7]


def test_vote_and_rating_need_a_rater_and_reveal(fake, engine):
    state = list(compare_tab.compare(engine, "hi", ["gpt-4o-mini", "gpt-4o"], "", 50, True, compare_tab.new_compare()))[-1][-1]
    with pytest.raises(gr.Error, match="type your name"):
        compare_tab.cast_vote(engine, 0, state, "  ")
    infos = []
    real_info = gr.Info
    gr.Info = lambda message, *a, **k: infos.append(message)
    try:
        out = compare_tab.cast_vote(engine, 1, state, "park")
    finally:
        gr.Info = real_info
    assert out[-1]["revealed"] and out[5].startswith("### B: ")
    # the vote shows the names, so its toast names the model, and the voted column keeps a mark
    assert infos == [f"Vote recorded for B ({state['models'][1]})"]
    assert out[5].endswith("· ✓ your vote") and "your vote" not in out[1]
    with pytest.raises(gr.Error, match="pick a score"):
        compare_tab.save_rating(engine, 0, state, "park", None, None, None, None)
    with pytest.raises(gr.Error, match="score every criterion before saving; not scored yet: Sounds natural, like a person"):
        compare_tab.save_rating(engine, 0, state, "park", None, 5, 4, None)  # a half rating would skew the means
    compare_tab.save_rating(engine, 0, state, "park", None, 5, 4, 3)
    engine.store.flush()
    votes = engine.store.query("SELECT exchange_id, rater, blind FROM votes")
    assert votes == [{"exchange_id": state["ids"][1], "rater": "park", "blind": 1}]
    ratings = engine.store.query("SELECT criterion, score FROM ratings WHERE exchange_id = ? ORDER BY criterion", [state["ids"][0]])
    assert [(r["criterion"], r["score"]) for r in ratings] == [("answers", 5.0), ("concise", 4.0), ("natural", 3.0)]


def test_runs_tab_runs_shows_rates_and_exports(fake, engine, tmp_path):
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=50, output_tokens=10)
    fake.scenarios["gpt-4o"] = Scenario(input_tokens=50, output_tokens=12)
    updates = list(runs_tab.start_run(engine, Access(), None, "examples/support_questions.csv", "", ["gpt-4o-mini", "gpt-4o"],
                                      2, 2, 100, "", progress=lambda *a, **k: None))
    status, picker = updates[-1]
    run_id = picker["value"]
    assert f"**Run `{run_id}`** · 8/8 answers · 0 failed" in status and "done" in status
    header, per_model, scatter, bars, latency, per_question, ratings, elsewhere = runs_tab.show_results(engine, Access(), run_id)
    assert "8 answers" in header
    assert list(per_model["Model"]) == ["gpt-4o", "gpt-4o-mini"] and list(per_model["Answers"]) == ["4", "4"]
    assert len(scatter["value"]) == 2 and len(latency["value"]) == 8 and len(per_question) == 4
    # the axes reach past the largest point, so no point sits half outside the chart
    assert scatter["x_lim"][1] > scatter["value"]["latency_ms"].max()
    assert scatter["y_lim"][1] > scatter["value"]["cost_usd"].max()
    assert elsewhere["Approx. cost of this run's text"].str.startswith("≈$").all()
    current, question, answer, who = rating_view.next_unrated(engine, Access(), run_id, "kim", True)
    assert "hidden (blind)" in who and shown(answer) == "Hello, this is a fake reply." and "8 left" in who
    saved = rating_view.save_answer_rating(engine, current, "kim", None, 4, 4, 5)
    # rating blind, saving does not name the model: every later rating would stop being blind
    assert current["model"] not in saved and "stays hidden while Blind is ticked" in saved
    assert "**Reference answer**:" in question  # 'contains the answer' needs the reference beside it
    ratings = runs_tab.show_results(engine, Access(), run_id)[6]
    assert list(ratings["Rated by"]) == ["human"] and list(ratings["Answers rated"]) == ["1"]
    projection, answers = runs_tab.show_answers(engine, Access(), run_id, "3000")
    assert list(projection["Model"]) == ["gpt-4o", "gpt-4o-mini"]
    # gpt-4o-mini: 50 in × $0.15 + 10 out × $0.60 per 1M = $0.0000135 a question; × 3,000 a day × 30 days
    assert projection.loc[1, "Per month at 3,000/day"] == "$1.22"
    assert answers.count("Hello, this is a fake reply.") == 8 and "all 2 repeats" in answers
    assert "people: " in answers  # the rating just saved shows on its answer
    with pytest.raises(gr.Error, match="questions a day must be a whole number"):
        runs_tab.show_answers(engine, Access(), run_id, "lots")
    files = runs_tab.export(engine, Access(), run_id, 1000)
    # the two reports people open come first, then the CSV and the key to the letters
    assert [Path(f).name.removeprefix("run-") for f in files] == [f"{run_id}.html", f"{run_id}-blind.html",
                                                                f"{run_id}.csv", f"{run_id}-blind-key.txt"]
    assert all(Path(f).stat().st_size > 0 for f in files)
    blind = Path(files[1]).read_text()
    assert "gpt-4o" not in blind and "Model A" in blind and "Model B" in blind


def test_runs_tab_explains_missing_input(engine):
    with pytest.raises(gr.Error, match="upload a question set"):
        list(runs_tab.start_run(engine, Access(), None, None, "", ["gpt-4o-mini"], 1, 1, 10, "", progress=lambda *a, **k: None))
    with pytest.raises(gr.Error, match="choose at least one model"):
        list(runs_tab.start_run(engine, Access(), None, "examples/quick_questions.txt", "", [], 1, 1, 10, "",
                                progress=lambda *a, **k: None))


class _Login:
    """A request as Gradio builds it for a logged-in visitor (the handlers read only these two fields)."""

    def __init__(self, username, session_hash="s"):
        self.username, self.session_hash = username, session_hash


def test_runs_are_scoped_to_who_started_them_and_another_login_reads_not_found(fake, engine):
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=50, output_tokens=10)
    auth = Access(auth=True, admins=frozenset({"carol"}))
    alice, bob, carol = _Login("alice", "a"), _Login("bob", "b"), _Login("carol", "c")
    *_, (status, picker) = runs_tab.start_run(engine, auth, None, "examples/quick_questions.txt", "", ["gpt-4o-mini"], 1,
                                              1, 20, "", request=alice, progress=lambda *a, **k: None)
    run_id = picker["value"]
    assert [v for _, v in runs_tab.run_choices(engine, auth, alice)] == [run_id]
    assert runs_tab.run_choices(engine, auth, bob) == []  # not even its name or models
    assert [v for _, v in runs_tab.run_choices(engine, auth, carol)] == [run_id]  # the admin sees all
    for read in (lambda r: runs_tab.show_results(engine, auth, run_id, request=r),
                 lambda r: runs_tab.show_answers(engine, auth, run_id, 1000, request=r),
                 lambda r: runs_tab.export(engine, auth, run_id, 1000, request=r),
                 lambda r: rating_view.next_unrated(engine, auth, run_id, "x", True, request=r),
                 lambda r: rating_view.judge_run(engine, auth, run_id, "gpt-4o-mini", request=r,
                                              progress=type("P", (), {"tqdm": staticmethod(lambda x, **k: x)})())):
        with pytest.raises(gr.Error, match=f"no run '{run_id}'"):
            read(bob)
    assert "answers" in runs_tab.show_results(engine, auth, run_id, request=alice)[0]
    # bob cannot resume (and so spend on, and read back) alice's run by its id either
    with pytest.raises(gr.Error, match=f"no run '{run_id}'"):
        list(runs_tab.start_run(engine, auth, None, "examples/quick_questions.txt", "", ["gpt-4o-mini"], 1, 1, 20, run_id,
                                request=bob, progress=lambda *a, **k: None))
    # a shared link without logins: each browser session sees its own runs
    shared = Access(shared=True)
    assert runs_tab.run_choices(engine, shared, _Login(None, "another browser")) == []
    assert [v for _, v in runs_tab.run_choices(engine, shared, _Login(None, "a"))] == [run_id]
    # locally, every run
    assert [v for _, v in runs_tab.run_choices(engine, Access(), None)] == [run_id]


def test_the_rater_is_the_login_whatever_name_is_typed(fake, engine):
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=50, output_tokens=10)
    auth = Access(auth=True)
    bob = _Login("bob", "b")
    *_, (status, picker) = runs_tab.start_run(engine, auth, None, "examples/quick_questions.txt", "", ["gpt-4o-mini"], 1,
                                              1, 20, "", request=bob, progress=lambda *a, **k: None)
    current, *_ = rating_view.next_unrated(engine, auth, picker["value"], "alice", True, request=bob)
    rating_view.save_answer_rating(engine, current, "alice", bob, 4, 4, 5)
    # Compare: the same, through its own handler
    state = list(compare_tab.compare(engine, "hi", ["gpt-4o-mini", "gpt-4o"], "", 20, True, compare_tab.new_compare(),
                                     request=bob))[-1][-1]
    compare_tab.save_rating(engine, 0, state, "alice", bob, 5, 5, 5)
    compare_tab.cast_vote(engine, 1, state, "alice", request=bob)
    engine.store.flush()
    assert {r["rater"] for r in engine.store.query("SELECT rater FROM ratings")} == {"bob"}
    assert {r["rater"] for r in engine.store.query("SELECT rater FROM votes")} == {"bob"}


def test_rating_an_answer_again_replaces_the_first_in_every_figure_and_keeps_it_on_record(fake, engine):
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=50, output_tokens=10)
    *_, (status, picker) = runs_tab.start_run(engine, Access(), None, "examples/quick_questions.txt", "", ["gpt-4o-mini"],
                                              1, 1, 20, "", progress=lambda *a, **k: None)
    run_id = picker["value"]
    current, *_ = rating_view.next_unrated(engine, Access(), run_id, "kim", False)
    rating_view.save_answer_rating(engine, current, "kim", None, 1, 1, 1)
    rating_view.save_answer_rating(engine, current, "kim", None, 5, 4, 3)  # kim changes her mind
    ratings = runs_tab.show_results(engine, Access(), run_id)[6]
    assert list(ratings["Answers rated"]) == ["1"]
    assert [ratings.iloc[0][c] for c in ("answers", "concise", "natural")] == ["5.00", "4.00", "3.00"]
    engine.store.flush()
    assert engine.store.query("SELECT count(*) AS n FROM ratings")[0]["n"] == 6  # both saves are on record


def test_every_column_of_a_blind_compare_can_be_rated_blind(fake, engine):
    models = ["gpt-4o-mini", "gpt-4o", "gpt-4.1"]
    state = list(compare_tab.compare(engine, "hi", models, "", 50, True, compare_tab.new_compare()))[-1][-1]
    for column in range(3):
        out = compare_tab.save_rating(engine, column, state, "park", None, 4, 4, 4)
        assert out[1:12:4] == ["### Model A", "### Model B", "### Model C"] and not out[-1]["revealed"]
    engine.store.flush()
    assert [r["blind"] for r in engine.store.query("SELECT blind FROM ratings")] == [1] * 9
    assert compare_tab.cast_vote(engine, 0, state, "park")[-1]["revealed"]  # a vote shows the names
