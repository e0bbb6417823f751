"""A logged row's usage, read back for re-pricing: every token field counts, 1-hour cache writes included."""
from __future__ import annotations

from decimal import Decimal

from chat.evaluation.questionsets import Question
from tests.fake_servers import Scenario
from tests.helpers import run, shown

MODEL = "claude-sonnet-4-5"


def test_a_reply_with_one_hour_cache_writes_is_repriced_at_the_one_hour_rate(fake, engine):
    from chat.engine.pricing import costs_elsewhere, format_usd
    from chat.engine.usage import Usage
    from chat.evaluation.report import elsewhere_table
    from chat.ui.session import elsewhere

    fake.scenarios[MODEL] = Scenario(input_tokens=120_000, cache_write_tokens=100_000, cache_write_1h_tokens=100_000,
                                     output_tokens=10)
    _, result = run(engine, model=MODEL, prompt="a long document, cached for an hour")
    assert result.ok, result.error
    row = engine.store.exchange(result.record["id"])
    assert row["cache_write_1h_tokens"] == 100_000
    usage = Usage.of_row(row)
    assert usage == result.usage  # the row holds all the usage the provider reported
    expected = dict(costs_elsewhere(usage, engine.prices))
    same = expected[MODEL].total
    assert same == Decimal(row["cost_usd"])  # priced back as it was billed: 1h writes at the 1h rate
    five_minute = dict(costs_elsewhere(Usage(120_000, 10, 0, 100_000), engine.prices))[MODEL].total
    assert same > five_minute  # the bug: reading the row without its 1h writes billed them at the 5-minute rate
    opus = next(name for name in expected if name.startswith("claude-opus"))
    # the session panel and the report show the same figure as the price table gives for the full usage
    assert f"| {opus} | ≈{format_usd(expected[opus].total)} |" in shown(elsewhere(row, engine.prices))
    _, table = elsewhere_table([row], engine.prices)
    assert [opus, "≈" + format_usd(expected[opus].total)] in table


def test_the_report_and_the_app_print_the_same_meter_line():
    """One meter line: the report's answers read exactly as the Chat tab's meter, estimates and compute marked."""
    import html

    from chat.evaluation.answers import answers_html
    from chat.storage.rows import Exchange
    from chat.ui.display import meter_line

    rows = [Exchange(id="a", model="m", status="ok", question_id="q1", repeat_index=0, reply="yes", input_tokens=1200,
                     output_tokens=30, usage_source="estimate", cost_usd="0.0012", ttft_ms=420.0, latency_ms=1830.0,
                     output_tokens_per_s=21.4),
            Exchange(id="b", model="m", status="interrupted", question_id="q1", repeat_index=1)]
    page = answers_html([Question("q1", "When?")], rows, {}, ["m"])
    for row in rows:
        assert html.escape(meter_line(row)) in page
    assert "≈1,200 in" in meter_line(rows[0]) and "TTFT 420 ms" in meter_line(rows[0])
    assert meter_line(rows[1]).startswith("0 in · 0 out · unpriced")  # a row the app never finished still reads


def test_a_priced_model_with_no_acceptable_answer_does_not_read_as_unpriced():
    from decimal import Decimal

    from chat.evaluation.ratings import RatingStats
    from chat.evaluation.report import rating_table

    none_good = RatingStats("gpt-4o-mini", "human", 3, {"answers": 1.0}, 0, None)
    some_good = RatingStats("gpt-4o", "human", 3, {"answers": 4.5}, 2, Decimal("0.0003"))
    _, rows = rating_table([none_good, some_good], ["answers"])
    assert rows[0][-1] == "no acceptable answer" and "unpriced" not in rows[0]
    assert rows[1][-1].startswith("$0.0003")
