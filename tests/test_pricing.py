"""pricing.yaml: validation, Decimal arithmetic, and agreement with genai-prices."""
from __future__ import annotations

import warnings
from decimal import Decimal

import pytest

from tests.conftest import need

from chat.engine.pricing import PricingError, cost_of, format_usd, load_prices
from chat.engine.usage import Usage


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


GENAI = {  # our name -> (genai-prices provider id, model ref)
    "gpt-4o": ("openai", "gpt-4o"),
    "gpt-4o-mini": ("openai", "gpt-4o-mini"),
    "gpt-4.1": ("openai", "gpt-4.1"),
    "gpt-4.1-mini": ("openai", "gpt-4.1-mini"),
    "gpt-4.1-nano": ("openai", "gpt-4.1-nano"),
    "gpt-5": ("openai", "gpt-5"),
    "gpt-5-mini": ("openai", "gpt-5-mini"),
    "gpt-5-nano": ("openai", "gpt-5-nano"),
    "o1": ("openai", "o1"),
    "o3": ("openai", "o3"),
    "o3-mini": ("openai", "o3-mini"),
    "o4-mini": ("openai", "o4-mini"),
    "claude-3-5-sonnet-20241022": ("anthropic", "claude-3-5-sonnet-20241022"),
    "claude-3-7-sonnet-20250219": ("anthropic", "claude-3-7-sonnet-20250219"),
    "claude-sonnet-4-20250514": ("anthropic", "claude-sonnet-4-20250514"),
    "claude-sonnet-4-5": ("anthropic", "claude-sonnet-4-5"),
    "claude-3-haiku-20240307": ("anthropic", "claude-3-haiku-20240307"),
    "claude-3-5-haiku-20241022": ("anthropic", "claude-3-5-haiku-20241022"),
    "claude-haiku-4-5": ("anthropic", "claude-haiku-4-5"),
    "claude-opus-4-20250514": ("anthropic", "claude-opus-4-20250514"),
    "claude-opus-4-1": ("anthropic", "claude-opus-4-1"),
    "claude-opus-4-5": ("anthropic", "claude-opus-4-5"),
    "gemini-2.5-flash": ("google", "gemini-2.5-flash"),
    "gemini-2.5-pro": ("google", "gemini-2.5-pro"),
}


# Where we knowingly differ from genai-prices, and why.
KNOWN_DIFFERENCES = {
    ("claude-sonnet-4-20250514", True): "Anthropic bills Sonnet 4 prompts over 200K tokens (1M-context beta) at $6/$22.50; "
    "genai-prices 0.2.3 has that tier for Sonnet 4.5 only",
}


@pytest.mark.parametrize("name", sorted(GENAI))
@pytest.mark.parametrize("long_prompt", [False, True])
def test_matches_genai_prices(name, long_prompt):
    genai_prices = need("genai_prices", "prices against an independent source")
    if (name, long_prompt) in KNOWN_DIFFERENCES:
        pytest.skip(KNOWN_DIFFERENCES[name, long_prompt])
    provider_id, ref = GENAI[name]
    usage = Usage(input_tokens=250_000 if long_prompt else 12_000, cached_tokens=3_000, cache_write_tokens=1_000, output_tokens=2_000)
    ours = cost_of(usage, load_prices().get(name))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = genai_prices.calc_price(
            genai_prices.Usage(
                input_tokens=usage.input_tokens,
                cache_read_tokens=usage.cached_tokens,
                cache_write_tokens=usage.cache_write_tokens,
                output_tokens=usage.output_tokens,
            ),
            ref,
            provider_id=provider_id,
        )
    assert ours.total == pytest.approx(theirs.total_price, rel=Decimal("0.0001")), (name, ours, theirs)
