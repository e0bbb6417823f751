"""The estimate before a run: counted from the real prompts, bounded low to high, and no call until it is accepted."""
from __future__ import annotations

import json
import os
import pty
import select
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import tiktoken

from chat.evaluation import questionsets
from chat.evaluation.estimate import estimate
from chat.evaluation.runs import create, execute
from chat.evaluation.summary import summarize
from tests.fake_servers import Scenario
from tests.helpers import run_cli
from tests.helpers import shown as text_of

ROOT = Path(__file__).resolve().parent.parent
FAQ = ROOT / "examples" / "training_faq.yaml"


def _cli(args, env):
    return run_cli(args, env=env, cwd=ROOT)


def _prompt_tokens(system: str, question: str) -> int:
    enc = tiktoken.get_encoding("o200k_base")  # what OpenAI counts gpt-4o-mini's prompt with
    return 3 + 4 + len(enc.encode(system)) + 4 + len(enc.encode(question))


def test_dry_run_prints_the_estimate_and_sends_no_request(fake, tmp_path):
    db = tmp_path / "log.db"
    env = dict(os.environ, CHAT_DB=str(db))
    done = _cli(["eval", str(FAQ), "-m", "gpt-4o-mini", "-m", "claude-haiku-4-5", "--repeats", "3", "--dry-run"], env)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[1:]}
    assert rows["gpt-4o-mini"].split()[1] == "30" and rows["claude-haiku-4-5"].split()[1] == "30"
    assert rows["All"].split()[1] == "60" and "$" in rows["All"]
    assert "no call was made" in done.stderr
    assert fake.requests == []
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM exchanges").fetchone()[0] == 0


def test_json_estimate_counts_the_real_prompts(fake, tmp_path):
    env = dict(os.environ, CHAT_DB=str(tmp_path / "log.db"))
    done = _cli(["eval", str(FAQ), "-m", "gpt-4o-mini", "-m", "claude-haiku-4-5", "--repeats", "3", "--max-tokens",
                 "200", "--dry-run", "--json"], env)
    assert done.returncode == 0, done.stderr
    est = json.loads(done.stdout)
    assert est["calls"] == 60 and fake.requests == []
    by_model = {m["model"]: m for m in est["models"]}
    assert set(by_model) == {"gpt-4o-mini", "claude-haiku-4-5"}
    mini = by_model["gpt-4o-mini"]
    qs = questionsets.load(FAQ)
    assert mini["input_tokens"] == 3 * sum(_prompt_tokens(qs.system, q.text) for q in qs.questions)
    assert mini["variant"] is None and mini["calls"] == 30 and mini["output_tokens_high"] == 30 * 200
    # gpt-4o-mini: $0.15 in, $0.60 out per 1M; no past answers, so the low is the input alone
    assert Decimal(str(mini["cost_low_usd"])) == Decimal(mini["input_tokens"]) * Decimal("0.15") / 1_000_000
    assert mini["cost_high_usd"] >= mini["cost_low_usd"] + 30 * 200 * 0.60 / 1_000_000 * 0.999
    for side in ("cost_low_usd", "cost_high_usd"):
        total = sum(Decimal(str(m[side])) for m in est["models"])
        assert abs(Decimal(str(est[side])) - total) < Decimal("1e-12")


def test_an_unpriced_model_has_null_costs_and_no_total(fake, tmp_path):
    env = dict(os.environ, CHAT_DB=str(tmp_path / "log.db"))
    done = _cli(["eval", str(FAQ), "-m", "gpt-4o-mini", "-m", "openai:some-new-model", "--dry-run", "--json"], env)
    est = json.loads(done.stdout)
    new = next(m for m in est["models"] if m["model"] == "openai:some-new-model")
    assert new["cost_low_usd"] is None and new["cost_high_usd"] is None
    assert est["cost_low_usd"] is None and est["cost_high_usd"] is None


def test_the_estimate_contains_what_the_same_run_then_costs(fake, engine):
    fake.scenarios["gpt-4o-mini"] = Scenario(count_input=True, output_tokens=20)
    qs = questionsets.load(FAQ)
    models = ["gpt-4o-mini"]
    cold = estimate(engine, qs, models, repeats=1, concurrency=2, max_tokens=100)
    first = create(engine, qs, models, 1, 2, 100)
    list(execute(engine, first, qs, models, 1, 2, 100))
    spent = sum(Decimal(r.cost_usd) for r in summarize(engine.store, first).rows)
    # no past answers: the low counts the prompts alone, the high every call running to max tokens
    assert cold.cost_low < spent <= cold.cost_high and cold.wall_seconds is None

    warm = estimate(engine, qs, models, repeats=2, concurrency=2, max_tokens=100)
    assert warm.lines[0].past_answers == 10 and warm.lines[0].output_low == 2 * 10 * 20
    second = create(engine, qs, models, 2, 2, 100, estimate=warm.as_json())
    list(execute(engine, second, qs, models, 2, 2, 100))
    s = summarize(engine.store, second)
    actual = sum(Decimal(r.cost_usd) for r in s.rows)
    assert warm.cost_low <= actual <= warm.cost_high
    assert warm.cost_low == actual  # the same prompts, the same tokenizer, the model's usual 20 tokens out
    assert warm.wall_seconds is not None and warm.wall_seconds > 0
    assert s.run.params["estimate"]["calls"] == 20


def test_a_resumed_run_estimates_only_what_is_left(fake, engine):
    qs = questionsets.load(FAQ)
    models = ["gpt-4o-mini"]
    run_id = create(engine, qs, models, 1, 1)
    stream = execute(engine, run_id, qs, models, 1, 1)
    for p in stream:
        if p.done == 4:
            break
    stream.close()
    from chat.evaluation.runs import finished_keys

    left = estimate(engine, qs, models, 1, 1, done=finished_keys(engine, run_id))
    assert left.calls == 10 - len(finished_keys(engine, run_id)) and left.calls <= 6


def test_max_cost_refuses_a_run_before_any_call(fake, tmp_path):
    env = dict(os.environ, CHAT_DB=str(tmp_path / "log.db"))
    done = _cli(["eval", str(FAQ), "-m", "gpt-4o-mini", "--repeats", "3", "--max-tokens", "1000",
                 "--max-cost", "0.001"], env)
    assert done.returncode == 2
    assert "above --max-cost $0.001" in done.stderr and "Traceback" not in done.stderr
    assert fake.requests == []
    unbounded = _cli(["eval", str(FAQ), "-m", "openai:some-new-model", "--max-cost", "5"], env)
    assert unbounded.returncode == 2 and "has no upper bound" in unbounded.stderr and fake.requests == []
    bad = _cli(["eval", str(FAQ), "-m", "gpt-4o-mini", "--max-cost", "lots"], env)
    assert bad.returncode == 2 and "'lots' is not an amount in USD" in bad.stderr


def _on_a_terminal(args, env, answer: str | None) -> tuple[int, str]:
    """Run the CLI with a real terminal on stdin and stderr; answer its question if it asks one."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "chat", *args], cwd=ROOT, env=env, stdin=secondary,
                            stdout=subprocess.PIPE, stderr=secondary)
    os.close(secondary)
    seen, asked = b"", False
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 0.2)
        if ready:
            try:
                seen += os.read(primary, 4096)
            except OSError:
                break
        if not asked and b"Go ahead? [y/N]" in seen and answer is not None:
            os.write(primary, answer.encode() + b"\n")
            asked = True
    proc.wait(timeout=120)
    try:
        while select.select([primary], [], [], 0.1)[0]:
            seen += os.read(primary, 4096)
    except OSError:
        pass
    os.close(primary)
    return proc.returncode, seen.decode(errors="replace")


def test_a_terminal_is_asked_before_a_run_over_confirm_over(fake, tmp_path):
    env = dict(os.environ, CHAT_DB=str(tmp_path / "log.db"))
    args = ["eval", str(FAQ), "-m", "gpt-4o-mini", "--max-tokens", "1000", "--confirm-over", "0.001"]
    code, text = _on_a_terminal(args, env, "n")
    assert "This run may spend up to $" in text and "not started; nothing was spent" in text
    assert code == 1 and fake.requests == []
    code, text = _on_a_terminal([*args, "--yes"], env, None)
    assert code == 0, text
    assert "Go ahead?" not in text and len(fake.requests) == 10


def test_the_runs_tab_shows_the_estimate_then_spend_against_it_and_runs_each_prompt(fake, engine):
    from chat.ui import runs_tab
    from chat.ui.access import Access

    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=50, output_tokens=10)
    form = (None, "examples/support_questions.csv", "", ["gpt-4o-mini", "openai:new-model"], 2, 2, 100, "",
            "Answer in English.", "")
    shown = text_of(runs_tab.show_estimate(engine, Access(), *form))
    assert "**Estimate before any call** · 16 calls" in shown
    assert "| gpt-4o-mini · prompt-1 | 4 |" in shown and "| gpt-4o-mini · prompt-2 | 4 |" in shown
    assert "| openai:new-model · prompt-2 | 4 |" in shown and "unpriced" in shown
    assert fake.requests == []  # an estimate asks nothing of any model
    assert "Pick a question set" in runs_tab.show_estimate(engine, Access(), None, None, "", [], 1, 1, 10, "")
    assert "unknown endpoint 'nowhere'" in text_of(runs_tab.show_estimate(
        engine, Access(), None, "examples/support_questions.csv", "", ["nowhere:x"], 1, 1, 10, ""))

    priced = (None, "examples/support_questions.csv", "", ["gpt-4o-mini"], 2, 2, 100, "", "Answer in English.", "")
    *_, (status, picker) = runs_tab.start_run(engine, Access(), *priced, progress=lambda *a, **k: None)
    assert "8/8 answers" in status and " spent of $" in status and "at most" in status
    run_id = picker["value"]
    systems = {r["body"]["messages"][0]["content"] for r in fake.requests if r["body"]["messages"][0]["role"] == "system"}
    assert systems == {"Answer in English."}  # prompt-1 is the set's own (none for this CSV): no system message
    assert sum(1 for r in fake.requests if r["body"]["messages"][0]["role"] != "system") == 4
    header = runs_tab.show_results(engine, Access(), run_id)[0]
    assert "Estimated before the run: 8 calls" in header and "Actual: 8 calls, $" in header


def test_a_runs_tab_run_outlives_the_page_and_stops_only_when_cancelled(fake, engine):
    """Closing the page (the generator Gradio follows the run with) leaves the run going on the server; a
    reopened page finds it running and follows it; Cancel stops it and its answers in flight are logged."""
    import threading

    from chat.evaluation.background import Runner
    from chat.ui import runs_tab
    from chat.ui.access import Access

    hold = threading.Event()
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=50, output_tokens=10, hold=hold)
    runner = Runner()
    form = (None, "examples/support_questions.csv", "", ["gpt-4o-mini"], 3, 2, 100, "")
    page = runs_tab.start_run(engine, Access(), *form, progress=lambda *a, **k: None, runner=runner)
    next(page)  # reading the question set
    status, picker = next(page)
    run_id = picker["value"]
    assert f"**Run `{run_id}`**" in status
    # a page's timer asks after the picked run only while it runs: an idle page asks nothing
    assert runs_tab.watch(run_id, runner=runner).active is True
    assert runs_tab.watch(None, runner=runner).active is False and runs_tab.watch("gone", runner=runner).active is False
    page.close()  # the tab is closed
    hold.set()  # the model answers
    deadline = time.monotonic() + 60
    while runner.get(run_id).running and time.monotonic() < deadline:
        time.sleep(0.05)
    live = runner.get(run_id)
    assert live.state == "done" and live.done == live.total == 6
    rows = summarize(engine.store, run_id).rows
    assert len(rows) == 6 and {r.status for r in rows} == {"ok"}  # nothing was aborted with the page
    # a page opened later picks the run and shows its end once
    assert runs_tab.refresh_runs(engine, Access(), None, runner=runner)["value"] == run_id
    status, seen, fresh, timer, *results = runs_tab.follow(engine, Access(), run_id, None, runner=runner)
    assert "6/6 answers" in status and "done" in status and fresh and "6 answers" in results[0]
    assert timer.active is False  # the run's end shown once, the timer stops
    assert runs_tab.watch(run_id, runner=runner).active is False  # and picking an ended run starts none
    assert runs_tab.follow(engine, Access(), run_id, seen, runner=runner)[2] is False  # then the timer rests

    # Cancel stops a run: the answers in flight end and are logged, the rest stay unasked for a resume
    stall = threading.Event()
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=50, output_tokens=10, hold=stall)
    page = runs_tab.start_run(engine, Access(), *form, progress=lambda *a, **k: None, runner=runner)
    next(page)
    _, picker = next(page)
    second = picker["value"]
    while len([r for r in fake.requests if r["ended"] is None]) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # two answers are streaming, held after their first chunk
    page.close()
    assert "cancelling" in runs_tab.cancel_run(engine, Access(), second, runner=runner)
    stall.set()
    while runner.get(second).running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runner.get(second).state == "cancelled"
    engine.store.flush()
    statuses = [r.status for r in summarize(engine.store, second).rows]
    assert len(statuses) < 6 and "aborted" in statuses


def test_a_korean_reader_gets_the_estimate_and_progress_in_korean(fake, engine):
    import gradio as gr

    from chat.ui import runs_tab
    from chat.ui.access import Access

    class Korean(gr.Request):
        headers = {"accept-language": "ko-KR,ko;q=0.9"}

    form = (None, "examples/support_questions.csv", "", ["gpt-4o-mini"], 2, 2, 100, "")
    shown = text_of(runs_tab.show_estimate(engine, Access(), *form, request=Korean()))
    assert shown.startswith("**호출 전 예상** · 호출 4회") and "| 모델 | 호출 |" in shown and "낮음:" in shown
    *_, (status, _) = runs_tab.start_run(engine, Access(), *form, request=Korean(), progress=lambda *a, **k: None)
    assert "답변 4/4" in status and "완료" in status and "answers" not in status


def test_the_estimate_brackets_runs_whose_answers_are_shorter_longer_or_fail(fake, engine):
    """low is a floor no run goes under, high a ceiling none goes over, with no max tokens set: the audit found the
    actual cost under the old 'low' (the mean answer) in 3 of 3 runs, and a 'high' of the whole context window."""
    qs = questionsets.load(FAQ)
    models = ["gpt-4o-mini"]
    words = lambda n: [f" w{i}" for i in range(n)]  # noqa: E731 (one token a chunk, as the fake counts them)
    # a past run that answered at 3 to 60 tokens, one of them failing after a token
    fake.scenarios["gpt-4o-mini"] = Scenario(count_input=True, variants=[words(n) for n in (3, 20, 60, 8, 12)] * 2)
    pilot = create(engine, qs, models, 1, 2)
    list(execute(engine, pilot, qs, models, 1, 2))
    runs = {"shorter than the mean": Scenario(count_input=True, variants=[words(3)]),
            "longer than any before": Scenario(count_input=True, variants=[words(300)]),
            "failing part-way": Scenario(count_input=True, variants=[words(30)], error_after=2)}
    for name, scenario in runs.items():
        est = estimate(engine, qs, models, repeats=1, concurrency=2)
        assert est.lines[0].capped_output and est.cost_expected is not None
        assert est.cost_low < est.cost_expected < est.cost_high, name
        # never the context window: 4,096 tokens an answer at most, what caps reserve (128k would be 30x more)
        assert est.lines[0].output_high == 10 * 4096, name
        fake.scenarios["gpt-4o-mini"] = scenario
        run_id = create(engine, qs, models, 1, 2, estimate=est.as_json())
        list(execute(engine, run_id, qs, models, 1, 2))
        rows = summarize(engine.store, run_id).rows
        actual = sum(Decimal(r.cost_usd) for r in rows)
        assert est.cost_low <= actual <= est.cost_high, (name, est.cost_low, actual, est.cost_high)
        if name == "failing part-way":
            assert all(r.status != "ok" for r in rows)
    as_json = est.as_json()
    assert as_json["cost_expected_usd"] == as_json["models"][0]["cost_expected_usd"] > 0


def test_an_unknown_time_says_why_and_never_about_unknown(fake, engine):
    from chat.evaluation.estimate import summary_line
    from chat.ui.i18n import words

    est = estimate(engine, questionsets.load(FAQ), ["gpt-4o-mini"], repeats=1, concurrency=2, max_tokens=100)
    assert est.wall_seconds is None
    en, ko = summary_line(est), summary_line(est, words("ko"))
    assert "time unknown: none of these models has answered in this log yet" in en and "about unknown" not in en
    assert "시간 알 수 없음" in ko and "약 알 수 없음" not in ko
