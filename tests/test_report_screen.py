"""The report a manager reads in one minute, in a real Chromium: the first screen, at 1280 x 800 and on a 390 px
phone, holds the recommendation, the constraints with their verdicts and every candidate; no model name breaks
inside a word. The screenshots are the README's."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from chat.engine.pricing import load_prices
from chat.evaluation import report_files
from chat.evaluation.decision import Constraints
from chat.evaluation.summary import summarize
from chat.ui.i18n import words
from tests.synthetic import Truth, write_run

SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
TRUTHS = [Truth("gpt-4o-mini", 1.4, cost_usd="0.0001", score=4.4),
          Truth("claude-haiku-4-5", 0.6, cost_usd="0.0004", score=4.5),
          Truth("llama-3.3-70b-instruct", 0.9, cost_usd="0.0003", score=3.2),
          Truth("mistral-large-2411", 0.8, cost_usd="0.0012", score=4.0)]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_first_screen_holds_the_decision_at_1280_and_on_a_phone(browser, store, tmp_path, lang):
    run_id = write_run(store, TRUTHS, questions=10, repeats=3, seed=5)
    summary = summarize(store, run_id)
    constraints = Constraints(max_latency_p95_s=6.0, min_score={"answers": 3.5})
    _, html_path = report_files.write_report(summary, tmp_path, load_prices(), 1000, constraints, word=words(lang))
    for width, height in ((1280, 800), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.goto(html_path.as_uri())
        # the README's screenshots when asked for, else beside the report
        folder = SHOTS if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path
        page.screenshot(path=str(folder / f"report-{lang}-{width}.png"))
        on_first_screen = lambda selector: page.eval_on_selector_all(  # noqa: E731
            selector, f"els => els.map(e => {{ const r = e.getBoundingClientRect(); "
                      f"return r.height > 0 && r.top >= 0 && r.bottom <= {height}; }})")
        assert on_first_screen(".verdict") == [True], (lang, width)
        verdicts = on_first_screen("ul.constraints li")
        assert len(verdicts) == 3 and all(verdicts), (lang, width, verdicts)  # latency, answers score, failures
        names = page.eval_on_selector_all("table.shortlist .name", "els => els.map(e => e.textContent)")
        assert sorted(n.removesuffix(" ◆") for n in names) == sorted(t.model for t in TRUTHS)
        assert all(on_first_screen("table.shortlist .name")), (lang, width)
        # one line box per name: a name broken inside a word ('claud / e-haiku') has two or more
        lines = page.eval_on_selector_all("table.shortlist .name", "els => els.map(e => e.getClientRects().length)")
        assert lines == [1] * len(TRUTHS), (lang, width, lines)
        said = page.eval_on_selector_all(".verdict .name", "els => els.map(e => e.getClientRects().length)")
        assert said and said == [1] * len(said), (lang, width, said)  # the sentence's names too
        columns = page.eval_on_selector_all("table.shortlist thead th", "els => els.length")
        assert columns == 7
        context.close()
