"""Each vendor's tokens per token of our count, learned from the log: the estimate, the caps and the meter use them.

The fakes bill `input_ratio` times our own count of each request (o200k_base with OpenAI's framing), as a vendor
whose tokenizer splits Korean into more pieces would; the real SDKs read that usage back over HTTP.
"""
from __future__ import annotations

import json
import threading
from decimal import Decimal
from pathlib import Path

from chat.engine import Engine
from chat.engine.budget import Budget
from chat.engine.pricing import load_prices
from chat.evaluation import estimate as estimates
from chat.evaluation import questionsets, report_files, runs
from chat.storage.store import Store
from tests.fake_servers import Scenario
from tests.helpers import run

ROOT = Path(__file__).resolve().parent.parent
FAQ = ROOT / "examples" / "training_faq.yaml"
KOREAN = ["수강 신청은 언제까지 하나요?", "출석 인정 기준이 무엇인가요?", "훈련장려금은 언제 지급되나요?",
          "수료 기준을 알려주세요.", "환불 규정이 궁금합니다.", "온라인 강의도 출석으로 인정되나요?"]


def _tokens(capsys, engine, text: str, *models: str) -> list[str]:
    from chat.ui.cli import main

    args = ["tokens", text, "--db", str(engine.store.path)]
    for m in models:
        args += ["-m", m]
    capsys.readouterr()
    assert main(args) == 0
    return capsys.readouterr().out.splitlines()


def test_the_ratio_is_learned_per_script_from_the_answers_the_vendor_billed(fake, engine, capsys):
    fake.scenarios["claude-haiku-4-5"] = Scenario(input_ratio=1.3)
    model = engine.resolve("claude-haiku-4-5")
    before = engine.token_ratio(model, "hangul")
    assert before.source == "prior" and before.family == "Anthropic Claude" and before.mean == 1.4
    for question in KOREAN:
        for _ in range(2):  # a repeat is the same prompt: one observation, not two
            _, result = run(engine, model="claude-haiku-4-5", prompt=question, system="FAQ에 있는 내용만 답하세요.")
            assert result.ok, result.error
    engine.ratios.forget(model.name)
    after = engine.token_ratio(model, "hangul")
    assert after.source == "learned" and after.answers == len(KOREAN)
    assert abs(after.mean - 1.3) < 0.02 and after.low <= 1.3 <= after.high
    assert engine.token_ratio(model, "latin").source == "prior"  # nothing in English was asked yet
    # the command line says the same, each figure with where it comes from
    out = _tokens(capsys, engine, "훈련장려금은 언제 지급되나요?", "claude-haiku-4-5", "gpt-4o", "gemini-2.5-flash")
    assert "mostly Hangul" in out[0]
    counted = int(out[0].split("our count: ")[1].split()[0])
    assert out[1].split()[:2] == ["claude-haiku-4-5", str(round(counted * after.mean))]
    assert f"learned from {len(KOREAN)} answers" in out[1]
    assert out[2].split()[1] == str(counted) and "exact tokenizer" in out[2]
    assert "prior x1.50" in out[3] and "any other model" in out[3]
    # what the next reservation is made at, recorded with the row
    engine.budget.daily_cap = Decimal(5)
    _, result = run(engine, model="claude-haiku-4-5", prompt="정원은 몇 명인가요?")
    recorded = json.loads(result.record["params_json"])["token_ratio"]
    assert recorded["script"] == "hangul" and recorded["source"] == "learned" and recorded["answers"] == len(KOREAN)


def test_after_one_run_the_estimate_of_the_next_is_within_10_percent_of_what_the_vendor_bills(fake, engine):
    fake.scenarios["claude-haiku-4-5"] = Scenario(input_ratio=1.25)
    qs = questionsets.load(FAQ)

    def one_run() -> int:
        run_id = runs.create(engine, qs, ["claude-haiku-4-5"], 1, 4)
        for _ in runs.execute(engine, run_id, qs, ["claude-haiku-4-5"], 1, 4):
            pass
        engine.store.flush()
        rows = engine.store.query("SELECT sum(input_tokens) AS n FROM exchanges WHERE run_id = ?", [run_id])
        return rows[0]["n"]

    first_guess = estimates.estimate(engine, qs, ["claude-haiku-4-5"], 1, 4).lines[0]
    assert first_guess.ratio.source == "prior"
    billed = one_run()
    engine.ratios.forget("claude-haiku-4-5")
    guess = estimates.estimate(engine, qs, ["claude-haiku-4-5"], 1, 4).lines[0]
    assert guess.ratio.source == "learned" and guess.ratio.answers == len(qs.questions)
    assert abs(guess.input_tokens - billed) <= 0.10 * billed, (guess.input_tokens, billed)
    assert abs(one_run() - billed) == 0  # the vendor bills the same prompts the same: the comparison is fair
    # and the table says where its ratio comes from
    _, rows = estimates.table(estimates.estimate(engine, qs, ["claude-haiku-4-5"], 1, 4))
    assert f"learned from {len(qs.questions)} answers" in rows[0][2]


def test_a_vendor_billing_1_8x_our_count_on_korean_never_passes_the_cap(fake, tmp_path, monkeypatch):
    """A gpt-4o-mini served by another company's server: its name says o200k_base, its bill says otherwise."""
    monkeypatch.setenv("CHAT_ENDPOINTS", f"vendor={fake.url}/v1")
    pricing = tmp_path / "pricing.yaml"
    pricing.write_text(load_prices().path.read_text() + 'aliases:\n  "vendor:gpt-4o-mini": gpt-4o-mini\n')
    fake.scenarios["gpt-4o-mini"] = Scenario(input_ratio=1.8, output_tokens=1)
    cap = Decimal("0.0004")
    store = Store(tmp_path / "chat.db")
    engine = Engine(store, load_prices(pricing), Budget(daily_cap=cap, store=store))
    system = "다음 FAQ에 있는 내용만 한국어로 답하세요. " * 40  # about 700 tokens of Korean per request
    results = []
    lock = threading.Lock()

    def ask(n):
        _, result = run(engine, model="vendor:gpt-4o-mini", prompt=f"{KOREAN[n % len(KOREAN)]} ({n})", system=system,
                        max_tokens=1, spend_key=f"s{n}")
        with lock:
            results.append(result)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.flush()
    answered = [r for r in results if r.ok]
    refused = [r for r in results if not r.ok]
    assert answered and refused and all("cap" in r.error for r in refused)
    spent = sum((Decimal(r["cost_exact"] and json.loads(r["cost_exact"])["cost_usd"] or 0)
                 for r in store.query("SELECT cost_exact FROM exchanges")), Decimal(0))
    assert spent <= cap, f"spent {spent} against a cap of {cap}"
    assert len(store.query("SELECT id FROM exchanges")) == len(results)  # every request logged or refused, logged


def test_same_text_elsewhere_translates_the_tokens_through_both_ratios(fake, engine):
    from chat.engine.pricing import cost_of
    from chat.engine.token_ratios import costs_elsewhere
    from chat.engine.usage import Usage
    from chat.ui.session import elsewhere
    from chat.wording import format_usd

    fake.scenarios["claude-haiku-4-5"] = Scenario(input_ratio=1.3)
    for question in KOREAN[:4]:
        run(engine, model="claude-haiku-4-5", prompt=question, system="FAQ에 있는 내용만 답하세요.")
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=1000, output_tokens=200)
    _, result = run(engine, model="gpt-4o-mini", prompt="수료 기준을 알려주세요.")
    engine.ratios.forget("claude-haiku-4-5")
    engine.ratios.ratio("claude-haiku-4-5", "hangul")  # learned now (a page takes what is known, learning apart)
    row = engine.store.exchange(result.record["id"])
    found = costs_elsewhere(engine, row)
    claude = next(e for e in found if e.model == "claude-haiku-4-5")
    assert claude.ratio.source == "learned" and claude.ratio.answers == 4
    factor = claude.ratio.mean  # gpt-4o-mini counts as we do: 1000 of ours are 1000 x 1.3 of Claude's
    assert abs(factor - 1.3) < 0.02
    # the prompt is Korean (learned), the fake's reply English (Claude's Latin prior, 1.15)
    expected = cost_of(Usage(round(1000 * factor), round(200 * 1.15)), engine.prices.get("claude-haiku-4-5"))
    assert claude.cost.total == expected.total
    gemini = next(e for e in found if e.model.startswith("gemini"))
    assert gemini.ratio.source == "prior" and gemini.ratio.mean == 1.5
    text = elsewhere(row, engine.prices, engine=engine)
    assert "translated" in text and "×1.50 (prior)" in text
    assert f"| ≈{format_usd(expected.total)} | ×{factor:.2f} (learned from 4) |" in text
    assert all(e.model != "gpt-4o-mini" for e in found)
    assert [e.cost.total for e in found] == sorted(e.cost.total for e in found)  # cheapest first


def test_a_page_shows_what_is_known_at_once_and_the_learned_ratio_once_it_is_read(fake, engine):
    import time

    from chat.engine.token_ratios import costs_elsewhere

    fake.scenarios["claude-haiku-4-5"] = Scenario(input_ratio=1.3)
    for question in KOREAN[:3]:
        run(engine, model="claude-haiku-4-5", prompt=question, system="FAQ에 있는 내용만 답하세요.")
    _, result = run(engine, model="gpt-4o-mini", prompt="수료 기준을 알려주세요.")
    row = engine.store.exchange(result.record["id"])
    fresh = Engine(engine.store, engine.prices)  # a new process: nothing learned yet
    claude = lambda: next(e for e in costs_elsewhere(fresh, row) if e.model == "claude-haiku-4-5")  # noqa: E731
    assert claude().ratio.source == "prior"  # the page did not wait for the log
    deadline = time.monotonic() + 30
    while claude().ratio.source != "learned" and time.monotonic() < deadline:
        time.sleep(0.05)  # learned apart, by the process's one learning thread
    assert claude().ratio.source == "learned" and claude().ratio.answers == 3


def test_a_runs_text_elsewhere_is_translated_through_each_models_ratio(fake, engine, tmp_path):
    """The Runs tab's and the report's table of what the run would have cost on other models: gpt-4o-mini's Korean
    questions are 1.3x the tokens on Claude, as Claude's own answers showed (before: counted as gpt-4o-mini's)."""
    from chat.engine.pricing import cost_of
    from chat.engine.usage import Usage
    from chat.evaluation.ratings import load_rubric
    from chat.evaluation.summary import summarize
    from chat.ui import runs_tab
    from chat.ui.access import Access
    from chat.wording import format_money

    fake.scenarios["claude-haiku-4-5"] = Scenario(input_ratio=1.3)
    for question in KOREAN[:4]:
        run(engine, model="claude-haiku-4-5", prompt=question, system="FAQ에 있는 내용만 답하세요.")
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=1000, output_tokens=200)
    qs = questionsets.QuestionSet("ko", tuple(questionsets.Question(f"q{i}", q) for i, q in enumerate(KOREAN[:3])))
    run_id = runs.create(engine, qs, ["gpt-4o-mini"], 1, 1)
    for _ in runs.execute(engine, run_id, qs, ["gpt-4o-mini"], 1, 1):
        pass
    engine.ratios.forget("claude-haiku-4-5")
    factor = engine.ratios.ratio("claude-haiku-4-5", "hangul").mean  # learned now, as a page would find it later
    assert abs(factor - 1.3) < 0.02
    # three questions of 1,000 tokens and replies of 200 (English: Claude's Latin prior, 1.15)
    expected = cost_of(Usage(round(3000 * factor), round(600 * 1.15)), engine.prices.get("claude-haiku-4-5")).total
    *_, table = runs_tab.show_results(engine, Access(), run_id)
    claude = table[table["Model"] == "claude-haiku-4-5"].iloc[0]
    assert claude["Approx. cost of this run's text"] == "≈" + format_money(expected)
    assert claude["Its tokens"] == f"×{factor:.2f} (learned from 4)"
    assert table[table["Model"].str.startswith("gemini")]["Its tokens"].str.endswith("(prior)").all()
    _, page = report_files.write_report(summarize(engine.store, run_id, load_rubric(None)), tmp_path, engine.prices, ratios=engine.ratios)
    text = page.read_text()
    assert "this run&#x27;s tokens translated into each model&#x27;s" in text
    assert f">claude-haiku-4-5</td><td data-label=\"Approx. cost of this run&#x27;s text\">≈{format_money(expected)}</td>" in text
