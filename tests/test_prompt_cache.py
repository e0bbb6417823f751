"""The FAQ cached where the vendor must be asked: the real Anthropic, AnthropicBedrock and boto3 SDKs send the
markers over loopback, only for a prefix long enough to cache and only when caching is on; reads and writes are
priced as billed."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from chat.engine import Engine
from chat.engine.pricing import load_prices
from chat.evaluation import report_files
from tests.conftest import need
from tests.fake_servers import Scenario
from tests.helpers import run

ROOT_FAQ = Path(__file__).resolve().parent.parent / "examples" / "training_faq.yaml"

# a programme FAQ of about 1,900 of our tokens (o200k_base): past Anthropic's 1,024-token minimum for Sonnet
FAQ = "\n".join(f"{n}. 훈련장려금은 출석률 80% 이상인 달에 지급되며, 수료 기준은 전체 출석률 80%와 평가 60점 이상입니다."
                for n in range(1, 46))
HISTORY = ({"role": "user", "content": "수강 신청은 언제까지 하나요?"},
           {"role": "assistant", "content": "개강 3일 전까지 신청할 수 있습니다."})


def _marks(body: dict) -> list[str]:
    """Where a request asked for caching: 'system', or 'message N' (Anthropic's cache_control, Converse's cachePoint)."""
    found = []
    system = body.get("system")
    if isinstance(system, list) and any("cache_control" in b or "cachePoint" in b for b in system):
        found.append("system")
    for n, m in enumerate(body.get("messages", [])):
        if isinstance(m.get("content"), list) and any("cache_control" in b or "cachePoint" in b for b in m["content"]):
            found.append(f"message {n}")
    return found


@pytest.fixture
def aws(fake, monkeypatch):
    need("boto3", "Bedrock through the real SDK")
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url)
    monkeypatch.setenv("ANTHROPIC_BEDROCK_BASE_URL", fake.url)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKE1234")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "bedrock-secret-do-not-leak")
    return fake


@pytest.mark.parametrize("model", ["claude-sonnet-4-5", "bedrock:anthropic.claude-3-5-sonnet-20240620-v1:0",
                                   "bedrock-converse:anthropic.claude-3-5-sonnet-20240620-v1:0"])
def test_the_faq_and_the_earlier_turns_are_marked_for_the_cache(aws, engine, model):
    _, result = run(engine, model=model, prompt="출석 기준이 뭔가요?", system=FAQ, history=HISTORY)
    assert result.ok, result.error
    body = aws.requests[-1]["body"]
    # the system prompt, and the last turn before the question (the conversation so far), but not the question
    assert _marks(body) == ["system", "message 1"]
    if "converse" in model:
        assert body["system"][-1] == {"cachePoint": {"type": "default"}}
    else:
        assert body["system"][0]["cache_control"] == {"type": "ephemeral"} and body["system"][0]["text"] == FAQ
        assert body["messages"][-1]["content"] == "출석 기준이 뭔가요?"
    assert json.loads(result.record["params_json"])["cache_marked"] is True
    # off: nothing is marked, and the row says caching was turned off
    _, result = run(engine, model=model, prompt="출석 기준이 뭔가요?", system=FAQ, history=HISTORY, cache="off")
    assert _marks(aws.requests[-1]["body"]) == [] and json.loads(result.record["params_json"])["cache"] == "off"
    # a prefix shorter than the vendor caches is not marked: the mark would change nothing
    run(engine, model=model, prompt="출석 기준이 뭔가요?", system="FAQ에 있는 내용만 답하세요.")
    assert _marks(aws.requests[-1]["body"]) == []


def test_a_model_whose_minimum_is_longer_is_marked_only_past_it(aws, engine):
    _, result = run(engine, model="claude-haiku-4-5", prompt="출석 기준이 뭔가요?", system=FAQ)
    assert _marks(aws.requests[-1]["body"]) == []  # about 2,650 of Claude's tokens (x1.4): under Haiku 4.5's 4,096
    _, result = run(engine, model="claude-haiku-4-5", prompt="출석 기준이 뭔가요?", system=FAQ + "\n" + FAQ)
    assert _marks(aws.requests[-1]["body"]) == ["system"]


def test_openai_is_never_marked_it_caches_on_its_own(fake, engine):
    run(engine, model="gpt-4o-mini", prompt="출석 기준이 뭔가요?", system=FAQ, history=HISTORY)
    body = json.dumps(fake.requests[-1]["body"], ensure_ascii=False)
    assert "cache_control" not in body and "cachePoint" not in body


def test_a_bad_cache_value_is_refused_in_one_line(fake, engine):
    _, result = run(engine, model="claude-sonnet-4-5", prompt="hi", cache="sometimes")
    assert not result.ok and result.error == "cache must be auto or off, got 'sometimes'" and not fake.requests


def test_cache_writes_and_reads_are_priced_as_anthropic_bills_them(fake, store):
    engine = Engine(store, load_prices())
    price = engine.prices.get("claude-sonnet-4-5")
    fake.scenarios["claude-sonnet-4-5"] = Scenario(input_tokens=3000, cache_write_tokens=2600, output_tokens=100)
    _, first = run(engine, model="claude-sonnet-4-5", prompt="출석 기준이 뭔가요?", system=FAQ)
    fake.scenarios["claude-sonnet-4-5"] = Scenario(input_tokens=3000, cached_tokens=2600, output_tokens=100)
    _, second = run(engine, model="claude-sonnet-4-5", prompt="수료 기준은요?", system=FAQ)
    per = Decimal(1_000_000)
    rate = price.rates
    assert rate.cache_write == rate.input * Decimal("1.25") and rate.cached_input == rate.input * Decimal("0.1")
    assert first.cost.total == (400 * rate.input + 2600 * rate.cache_write + 100 * rate.output) / per
    assert second.cost.total == (400 * rate.input + 2600 * rate.cached_input + 100 * rate.output) / per
    assert second.cost.total < first.cost.total


def test_a_study_says_cache_off_for_a_variant_and_the_command_line_for_everything(fake, engine, tmp_path, capsys):
    from chat.evaluation import questionsets, runs
    from chat.evaluation.questionsets import QuestionSetError

    study = tmp_path / "study.yaml"
    study.write_text(f"name: cached FAQ\nsystem: |\n  {FAQ.replace(chr(10), chr(10) + '  ')}\n"
                     "variants:\n  - name: cached\n  - name: plain\n    cache: off\n"
                     "questions:\n  - 출석 기준이 뭔가요?\n", encoding="utf-8")
    qs = questionsets.load(study)
    assert [v.cache for v in qs.variants] == [None, "off"] and qs.cache is None
    run_id = runs.create(engine, qs, ["claude-sonnet-4-5"], 1, 1)
    for _ in runs.execute(engine, run_id, qs, ["claude-sonnet-4-5"], 1, 1):
        pass
    marked = {json.loads(r["params_json"]).get("cache_marked", False): json.loads(r["params_json"]).get("cache")
              for r in engine.store.query("SELECT params_json FROM exchanges WHERE run_id = ?", [run_id])}
    assert marked == {True: None, False: "off"}
    assert [_marks(r["body"]) for r in fake.requests] in (
        [["system"], []], [[], ["system"]])  # one variant marked, the other not, in either order
    # a bad value is one line naming the field, from the study file and from the flag
    study.write_text("cache: sometimes\nquestions:\n  - hi\n", encoding="utf-8")
    with pytest.raises(QuestionSetError, match="cache must be auto or off, got 'sometimes'"):
        questionsets.load(study)
    from chat.ui.cli import main

    with pytest.raises(SystemExit):
        main(["ask", "--cache", "never", "hi"])
    assert "must be auto or off, got 'never'" in capsys.readouterr().err


def test_the_monthly_projection_bills_the_faq_as_the_vendor_caches_it(fake, engine):
    import math

    from chat.evaluation import questionsets, runs
    from chat.evaluation.projection import project
    from chat.evaluation.report import projection_table
    from chat.evaluation.results import model_stats, run_rows
    from chat.wording import format_usd

    fake.scenarios["claude-sonnet-4-5"] = Scenario(input_tokens=3000, cache_write_tokens=2600, output_tokens=100)
    qs = questionsets.QuestionSet("faq", tuple(questionsets.load(ROOT_FAQ).questions[:2]), FAQ)
    run_id = runs.create(engine, qs, ["claude-sonnet-4-5"], 1, 2)
    for _ in runs.execute(engine, run_id, qs, ["claude-sonnet-4-5"], 1, 2):
        pass
    stats = model_stats(run_rows(engine.store, run_id))
    assert stats[0].prefix_tokens == 2600  # the vendor's own figure for what it cached
    rates = engine.prices.get("claude-sonnet-4-5").rates
    for per_day in (1000, 20):
        p = project(stats, engine.prices, per_day)[0]
        # by hand: Poisson arrivals over 9 hours; a question finds the FAQ cached if the last came within 5 minutes
        h = 1 - math.exp(-per_day / (9 * 3600) * 300)
        hd = Decimal(str(round(h, 6)))
        each = (400 * rates.input + 2600 * (hd * rates.cached_input + (1 - hd) * rates.cache_write)
                + 100 * rates.output) / Decimal(10**6)
        assert p.cached.hit_share == h and p.cached_monthly == each * per_day * 30
        assert p.uncached_monthly == (3000 * rates.input + 100 * rates.output) / Decimal(10**6) * per_day * 30
    busy, quiet = project(stats, engine.prices, 1000)[0], project(stats, engine.prices, 20)[0]
    assert busy.cached.hit_share > 0.99 and quiet.cached.hit_share < 0.2
    assert busy.cached_monthly < busy.uncached_monthly / 2  # the FAQ is most of the bill, and nearly always cached
    _, rows = projection_table([busy], 1000)
    assert rows[0][4] == (f"{format_usd(busy.cached_monthly)} ({format_usd(busy.uncached_monthly)} without; "
                          f"{busy.cached.hit_share:.0%} of questions find it cached)")


def test_the_report_says_how_many_tokens_each_vendor_bills_and_the_long_example_is_worth_caching(fake, engine,
                                                                                                  tmp_path):
    from chat.engine.token_ratios import our_count
    from chat.evaluation import questionsets, runs
    from chat.evaluation.ratings import load_rubric
    from chat.evaluation.summary import summarize

    qs = questionsets.load(ROOT_FAQ.parent / "training_faq_long.yaml")
    assert len(qs.questions) == 10 and qs.cache == "auto" and qs.meta["models"] == ["gpt-4o-mini", "claude-haiku-4-5"]
    assert 4_000 < our_count([{"role": "system", "content": qs.system}]) < 6_000  # past every vendor's minimum
    fake.scenarios["claude-haiku-4-5"] = Scenario(input_ratio=1.3)
    fake.scenarios["gpt-4o-mini"] = Scenario(count_input=True)
    short = questionsets.QuestionSet(qs.name, qs.questions[:3], qs.system, cache=qs.cache)
    run_id = runs.create(engine, short, ["gpt-4o-mini", "claude-haiku-4-5"], 1, 2)
    for _ in runs.execute(engine, run_id, short, ["gpt-4o-mini", "claude-haiku-4-5"], 1, 2):
        pass
    # the Haiku requests carried the cache marker; gpt-4o-mini's caches on its own
    assert sum(_marks(r["body"]) == ["system"] for r in fake.requests) == 3
    summary = summarize(engine.store, run_id, load_rubric(None))
    _, html_path = report_files.write_report(summary, tmp_path, engine.prices, per_day=1000)
    page = html_path.read_text()
    assert "Korean costs 1.30× the tokens on claude-haiku-4-5 (from 3 answers)" in page
    assert "Korean costs 1.00× the tokens on gpt-4o-mini (from 3 answers)" in page
    assert "of questions find it cached" in page


def test_the_runs_tab_takes_the_sets_cache_or_turns_it_off(fake, engine):
    from chat.ui import runs_tab
    from chat.ui.access import Access

    example = "examples/training_faq_long.yaml"  # cache: auto, a 4,600-token FAQ

    def run_with(cache: str) -> list[list[str]]:
        fake.requests.clear()
        list(runs_tab.start_run(engine, Access(), None, example, "", ["claude-sonnet-4-5"], 1, 4, 50, "", "", "",
                                cache, progress=lambda *a, **k: None))
        return [_marks(r["body"]) for r in fake.requests]

    assert run_with("") == [["system"]] * 10  # the set says auto
    assert run_with("off") == [[]] * 10
    with pytest.raises(Exception, match="cache must be auto or off"):
        list(runs_tab.start_run(engine, Access(), None, example, "", ["claude-sonnet-4-5"], 1, 4, 50, "", "", "",
                                "sometimes", progress=lambda *a, **k: None))


def test_the_chat_tab_marks_the_faq_unless_its_cache_is_off(fake, engine):
    from chat.ui import app
    from chat.ui.session import new_session

    def marks(cache, state=None):
        *_, (_, state, _) = app.respond(engine, "출석 기준이 뭔가요?", state or new_session(), "claude-sonnet-4-5", FAQ,
                                         None, None, cache)
        return _marks(fake.requests[-1]["body"]), state

    first, state = marks("auto")
    assert first == ["system"]
    second, state = marks("auto", state)  # the conversation so far is cached too
    assert second == ["system", "message 1"]
    assert marks("off", state)[0] == []
    *_, (chat, _, _) = app.respond(engine, "hi", new_session(), "claude-sonnet-4-5", FAQ, None, None, "sometimes")
    assert "cache must be auto or off, got 'sometimes'" in chat[-1]["content"] or \
        "cache must be auto or off" in str(chat)


def _faq_run(engine, fake, models: list[str]) -> str:
    """Three questions twice each: the first call writes the FAQ to the cache, the five after it read it back (a run
    asks its questions seconds apart)."""
    from chat.evaluation import questionsets, runs

    qs = questionsets.QuestionSet("faq", tuple(questionsets.load(ROOT_FAQ).questions[:3]), FAQ)
    run_id = runs.create(engine, qs, models, 2, 1)
    first = questionsets.QuestionSet("faq", qs.questions[:1], FAQ)
    for model in models:  # the first question's first repeat: the cache is cold
        fake.scenarios[model] = Scenario(input_tokens=3000, output_tokens=100,
                                         **({"cache_write_tokens": 2600} if "claude" in model else {}))
    for _ in runs.execute(engine, run_id, first, models, 1, 1):
        pass
    for model in models:  # the rest: warm
        fake.scenarios[model] = Scenario(input_tokens=3000, cached_tokens=2600, output_tokens=100)
    for _ in runs.execute(engine, run_id, qs, models, 2, 1):
        pass
    return run_id


def test_the_decisions_costs_at_a_volume_bill_the_faq_as_that_volume_finds_it_cached(fake, engine, capsys):
    """A run finds the FAQ cached on 5 calls in 6; 50 questions a day over 9 hours find it on 37%. The monthly
    check is of the month as it will be billed, by hand: each question's FAQ read on 37% and written (Anthropic) or
    billed in full (OpenAI) on the rest."""
    import math

    from chat.engine.models import resolve
    from chat.evaluation.projection import project
    from chat.evaluation.ratings import load_rubric
    from chat.evaluation.summary import summarize
    from chat.ui.cli import main

    run_id = _faq_run(engine, fake, ["claude-sonnet-4-5", "gpt-4o-mini"])
    capsys.readouterr()
    assert main(["decide", run_id, "--per-day", "50", "--max-monthly", "10", "--json",
                 "--db", str(engine.store.path)]) == 0
    found = {c["model"]: c for c in json.loads(capsys.readouterr().out)["candidates"]}
    share = 1 - math.exp(-50 / (9 * 3600) * 300)
    for model in ("claude-sonnet-4-5", "gpt-4o-mini"):
        r = resolve(model, engine.prices).price.rates_for(3000)
        miss = r.cache_write if "claude" in model else r.input
        question = (400 * r.input + 2600 * (Decimal(share) * r.cached_input + (1 - Decimal(share)) * miss)
                    + 100 * r.output) / 1_000_000
        monthly = next(k for k in found[model]["checks"] if k["figure"] == "monthly_usd")
        assert monthly["value"] == pytest.approx(float(question) * 1500, rel=1e-4), model
        measured = found[model]["metrics"]["cost_per_question_usd"]
        assert measured["value"] == pytest.approx(float(question), rel=1e-4)
        # the Runs tab's and the report's projection bill the month the same way, and without the cache beside it
        summary = summarize(engine.store, run_id, load_rubric(None))
        projected = next(p for p in project(summary.models, engine.prices, 50) if p.model == model)
        assert float(projected.cached_monthly) == pytest.approx(float(question) * 1500, rel=1e-4)
        assert projected.uncached_monthly == (3000 * r.input + 100 * r.output) / 1_000_000 * 1500
    # the run's own bills would have met $10 a month; as 50 questions a day will be billed, Sonnet misses it
    sonnet = next(k for k in found["claude-sonnet-4-5"]["checks"] if k["figure"] == "monthly_usd")
    assert sonnet["verdict"] == "misses" and sonnet["value"] > 10
    assert main(["decide", run_id, "--per-day", "50", "--db", str(engine.store.path)]) == 0
    out = capsys.readouterr().out
    assert "Costs at 50 a day bill the FAQ as its vendor caches it" in out
    assert "claude-sonnet-4-5: 37% of questions (83% in this run)" in out
    assert "gpt-4o-mini: 37% of questions (83% in this run)" in out
    # the Runs tab's decision says so too, in a Korean browser in Korean
    from chat.ui.access import Access
    from chat.ui.decision_view import show_decision
    from tests.helpers import korean_request, shown

    text, *_ = show_decision(engine, Access(), run_id, None, None, None, None, None, 50, None, None, korean_request())
    text = shown(text)
    assert "하루 50건일 때의 비용은 FAQ를 공급사가 캐시하는 방식대로" in text
    assert "claude-sonnet-4-5: 질문의 37% (이번 실행에서는 83%)" in text


def test_decide_shows_the_month_with_the_faq_cached_beside_the_checks(fake, engine, capsys):
    from chat.evaluation import questionsets, runs
    from chat.evaluation.projection import project
    from chat.evaluation.ratings import load_rubric
    from chat.evaluation.report import cached_text
    from chat.evaluation.summary import summarize
    from chat.ui.cli import main

    fake.scenarios["claude-sonnet-4-5"] = Scenario(input_tokens=3000, cache_write_tokens=2600, output_tokens=100)
    qs = questionsets.QuestionSet("faq", tuple(questionsets.load(ROOT_FAQ).questions[:3]), FAQ)
    run_id = runs.create(engine, qs, ["claude-sonnet-4-5"], 2, 2)
    for _ in runs.execute(engine, run_id, qs, ["claude-sonnet-4-5"], 2, 2):
        pass
    capsys.readouterr()
    assert main(["decide", run_id, "--per-day", "1000", "--db", str(engine.store.path)]) == 0
    out = capsys.readouterr().out
    expected = project(summarize(engine.store, run_id, load_rubric(None)).models, engine.prices, 1000)[0]
    assert "at 1,000 a day, a month with the FAQ cached" in out
    assert f"  claude-sonnet-4-5: {cached_text(expected)}" in out
