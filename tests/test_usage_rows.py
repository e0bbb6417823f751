"""A logged row's usage, read back for re-pricing: every token field counts, 1-hour cache writes included."""
from __future__ import annotations

from decimal import Decimal

from tests.fake_servers import Scenario
from tests.helpers import run

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
    assert f"{opus} ≈{format_usd(expected[opus].total)}" in elsewhere(row, engine.prices)
    _, table = elsewhere_table([row], engine.prices)
    assert [opus, "≈" + format_usd(expected[opus].total)] in table
