"""pricing.yaml: validation, Decimal arithmetic, and agreement with genai-prices."""
from __future__ import annotations

from decimal import Decimal

import pytest

from chat.engine.pricing import PricingError, cost_of, format_usd, load_prices
from chat.engine.usage import Usage
from tests.conftest import need
from tests.helpers import run_cli


def test_shipped_file_loads_with_all_families():
    table = load_prices()
    for name in ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-5", "o3", "o4-mini", "claude-3-5-sonnet-20241022",
                 "claude-3-7-sonnet-20250219", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1",
                 "anthropic.claude-3-haiku-20240307-v1:0", "smollm2-135m-instruct"]:
        assert name in table, name
    assert table.get("smollm2-135m-instruct").rates.output == 0
    assert len(table.hash) == 16


def test_hand_computed_cost():
    price = load_prices().get("gpt-4o")
    cost = cost_of(Usage(input_tokens=10_000, cached_tokens=4_000, output_tokens=2_000), price)
    assert cost.uncached_input == Decimal("0.015")  # 6000 * 2.50 / 1M
    assert cost.cached_input == Decimal("0.005")  # 4000 * 1.25 / 1M
    assert cost.output == Decimal("0.02")  # 2000 * 10 / 1M
    assert cost.total == Decimal("0.04")
    assert all(isinstance(v, Decimal) for v in (cost.input, cost.total))


def test_unpriced_is_none_and_shown_as_unpriced():
    assert cost_of(Usage(input_tokens=5, output_tokens=5), None) is None
    assert format_usd(None) == "unpriced"
    assert format_usd(Decimal("0.000123")) == "$0.000123"
    assert format_usd(Decimal("12.3456")) == "$12.35"


@pytest.mark.parametrize(
    "body, expected",
    [
        ("models:\n  m1: {provider: openai, output: 1}\n", "model 'm1': missing price field 'input'"),
        ("models:\n  m1: {provider: openai, input: -1, output: 1}\n", "model 'm1': field 'input' must be from 0 to 10,000"),
        ("models:\n  m1: {provider: openai, input: abc, output: 1}\n", "model 'm1': field 'input' must be a number"),
        ("models:\n  m1: {input: 1, output: 1}\n", "model 'm1': missing field 'provider'"),
        ("models:\n  m1: {provider: openai, input: 1, output: 1, ouput: 2}\n", "unknown field(s) ouput"),
        ("models: [1, 2\n", "line 2: not valid YAML"),
        # a second entry for a model must not silently win (gpt-4o-mini at $99)
        ("models:\n  m1: {provider: openai, input: 1, output: 1}\n  m1: {provider: openai, input: 99, output: 99}\n",
         "line 3: duplicate key 'm1' (first at line 2)"),
        ("models:\n  m1:\n    provider: openai\n    input: 1\n    output: 1\n    input: 99\n",
         "line 6: duplicate key 'input' (first at line 4)"),
        ("models:\n  m1: {provider: openai, input: 1e400, output: 1}\n", "line 2: model 'm1': field 'input' must be from 0"),
        ("models:\n  m1: {provider: openai, input: 1.0e400, output: 1}\n", "field 'input' must be from 0"),
        ("models:\n  m1: {provider: openai, input: [1], output: 1}\n", "field 'input' must be a number"),
        ("models:\n  m1: just a string\n", "model 'm1': expected a mapping of fields"),
        ("models:\n  m1: {provider: openai, input: 1, output: 1, context_window: 1e99}\n", "field 'context_window' must be"),
        ("prices: {}\n", "expected a top-level 'models:' mapping"),
    ],
)
def test_bad_files_name_file_model_and_field(tmp_path, body, expected):
    path = tmp_path / "pricing.yaml"
    path.write_text(body)
    with pytest.raises(PricingError) as err:
        load_prices(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


# Where we knowingly differ from genai-prices, and why.
KNOWN_DIFFERENCES = {
    "claude-sonnet-4-20250514": ({"long_context.input", "long_context.cached_input", "long_context.output"},
                                 "Anthropic bills Sonnet 4 prompts over 200K tokens (1M-context beta) at $6/$22.50; "
                                 "genai-prices 0.2.3 has that tier for Sonnet 4.5 only"),
}


def test_every_token_priced_entry_matches_genai_prices_field_by_field():
    need("genai_prices", "prices against an independent source")
    from chat.engine.price_check import check

    table = load_prices()
    differences, uncovered = check(table)
    # every entry but the embedded model is compared: OpenAI, Anthropic, Bedrock (Claude, Llama, Mistral, Nova), Gemini
    assert uncovered == ["smollm2-135m-instruct"]
    assert sum(1 for p in table if p.provider == "bedrock") >= 17
    unexpected = [d for d in differences if d.field not in KNOWN_DIFFERENCES.get(d.model, (set(),))[0]]
    assert not unexpected, unexpected


def test_price_check_reports_a_stale_figure(tmp_path):
    need("genai_prices", "prices against an independent source")

    from tests.conftest import ROOT

    path = tmp_path / "pricing.yaml"
    path.write_text("models:\n  gpt-4o: {provider: openai, input: 2.60, output: 10, cached_input: 1.25}\n"
                    "  meta.llama3-70b-instruct-v1:0: {provider: bedrock, input: 2.65, output: 3.50}\n"
                    "  my-box: {provider: ollama, usd_per_hour: 1.2}\n")
    out = run_cli(["--pricing", str(path), "prices", "--check"], cwd=ROOT)
    assert out.returncode == 1, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == ("gpt-4o  input: pricing.yaml 2.6, genai-prices 2.5 (USD per 1M tokens; "
                        "long_context.*: USD of one prompt just past the threshold)")
    # cache writes default to the input price, so they differ with it; the Llama entry is right
    assert [line.split(":")[0] for line in lines] == ["gpt-4o  input", "gpt-4o  cache_write", "gpt-4o  cache_write_1h"]
    assert "2 models compared, 3 figures differ; not in genai-prices: my-box" in out.stderr
