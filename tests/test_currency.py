"""Won beside dollars when the user sets a rate (never fetched); the log and exports stay in USD."""
from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

from chat.evaluation import report_files
from chat.wording import currency, format_money, format_won, rate_note
from tests.fake_servers import Scenario
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent
KRW = {"CHAT_CURRENCY": "KRW", "CHAT_USD_RATE": "1390", "CHAT_USD_RATE_DATE": "2026-12-01"}


def test_won_are_written_as_people_write_them():
    assert format_won(Decimal("13900")) == "₩13,900"
    assert format_won(Decimal("1.39")) == "₩1.4"  # one decimal under ₩100
    assert format_won(Decimal("0.0553")) == "₩55 per 1,000"  # a single answer is a fraction of a won
    assert format_money(Decimal("0.0000398"), KRW) == "$0.0000398 (₩55 per 1,000)"
    assert format_money(Decimal("12.50"), KRW) == "$12.50 (₩17,375)"
    assert format_money(Decimal("12.50"), {}) == "$12.50" and format_money(None, KRW) == "unpriced"
    assert rate_note(KRW) == ("Won at ₩1,390 per dollar, the rate you set on 2026-12-01; the log and exports stay "
                              "in USD.")


@pytest.mark.parametrize("env, message", [
    ({"CHAT_CURRENCY": "EUR"}, "CHAT_CURRENCY='EUR': use USD or KRW"),
    ({"CHAT_CURRENCY": "KRW"}, "CHAT_CURRENCY=KRW needs CHAT_USD_RATE"),
    ({"CHAT_CURRENCY": "KRW", "CHAT_USD_RATE": "lots"}, "got 'lots'"),
    ({"CHAT_CURRENCY": "KRW", "CHAT_USD_RATE": "1390", "CHAT_USD_RATE_DATE": "yesterday"}, "as YYYY-MM-DD"),
])
def test_a_bad_setting_is_one_line_at_start(env, message):
    with pytest.raises(ValueError, match=message):
        currency(env)
    out = run_cli(["models"], cwd=ROOT, env={**os.environ, **env})
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and message.split(":")[0] in out.stderr


def test_the_meter_panel_and_report_show_won_while_the_log_and_csv_stay_usd(fake, engine, tmp_path, monkeypatch):
    from chat.evaluation import questionsets
    from chat.evaluation.runs import create, execute
    from chat.evaluation.summary import summarize
    from chat.ui import app
    from chat.ui.session import new_session, panel

    for k, v in KRW.items():
        monkeypatch.setenv(k, v)
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=1000, output_tokens=200)
    *_, (chat, state, _) = app.respond(engine, "hi", new_session(), "gpt-4o-mini", None, None, None)
    engine.store.flush()
    row = engine.store.exchange(state["turns"][-1]["id"])
    # 1,000 in x $0.15 + 200 out x $0.60 per 1M = $0.00027 = ₩0.3753: ₩375 per 1,000 answers
    assert row.cost_usd == "0.00027" and "$0.00027 (₩375 per 1,000)" in chat[-1]["metadata"]["title"]
    shown = panel(state, 128_000)
    assert "$0.00027 (₩375 per 1,000)" in shown and "₩1,390 per dollar" in shown and "2026-12-01" in shown
    qs = questionsets.parse("questions:\n  - {id: a, question: 'First?'}\n", "one", "yaml")
    run_id = create(engine, qs, ["gpt-4o-mini"], 1, 1)
    list(execute(engine, run_id, qs, ["gpt-4o-mini"], 1, 1))
    csv_path, html_path = report_files.write_report(summarize(engine.store, run_id), tmp_path, engine.prices)
    page = html_path.read_text()
    assert "(₩375 per 1,000)" in page and "the log and exports stay in USD" in page
    assert "₩" not in csv_path.read_text()  # exports stay USD, as numbers
    logged = json.dumps(engine.store.query("SELECT * FROM exchanges"), ensure_ascii=False)
    assert "₩" not in logged


def test_a_cost_limit_in_won_and_a_miss_that_reads_as_one(store, monkeypatch):
    """'$0.00213 (₩3)' against a limit of '$0.002 (₩3)' read as no miss at all; won limits could not be typed."""
    import gradio as gr

    from chat.evaluation.decision import Constraints, decide
    from chat.evaluation.decision_words import check_text
    from chat.evaluation.ratings import DEFAULT_RUBRIC
    from chat.evaluation.summary import summarize
    from chat.ui.decision_view import constraints_from
    from tests.synthetic import Truth, write_run

    for key, value in KRW.items():
        monkeypatch.setenv(key, value)
    assert format_money(Decimal("0.00213")) == "$0.00213 (₩3.0)" and format_money(Decimal("0.002")) == "$0.002 (₩2.8)"
    typed = constraints_from(None, None, None, "₩2.78", 1000, "4,170원", [], DEFAULT_RUBRIC)
    assert typed.max_cost_per_question == Decimal("2.78") / Decimal("1390")  # $0.002
    assert typed.max_monthly == Decimal("4170") / Decimal("1390")  # $3 a month
    run_id = write_run(store, [Truth("gpt-4o-mini", cost_usd="0.00213")], questions=10, repeats=3, seed=1)

    d = decide(summarize(store, run_id), Constraints(max_cost_per_question=Decimal("0.002")))
    miss = next(k for k in d.candidates[0].checks if k.metric == "cost_per_question_usd")
    assert miss.verdict == "misses"
    assert check_text(miss) == "cost per question $0.00213 (₩3.0) is over $0.002 (₩2.8) by $0.00013 (₩181 per 1,000)"
    monkeypatch.setenv("CHAT_CURRENCY", "USD")
    with pytest.raises(gr.Error, match="in won needs CHAT_CURRENCY=KRW"):
        constraints_from(None, None, None, "₩3", 1000, None, [], DEFAULT_RUBRIC)
