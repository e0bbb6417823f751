"""The seed study as one command, end to end on every route at once, costs checked against independent figures."""
from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import warnings
from decimal import Decimal

import pytest

from tests.conftest import ROOT, need
from tests.fake_servers import Scenario

MODELS = [
    "gpt-4o-mini",  # OpenAI
    "azure:study-gpt4o",  # Azure OpenAI deployment, priced as gpt-4o by an alias
    "claude-3-5-sonnet-20241022",  # Anthropic
    "anthropic.claude-3-haiku-20240307-v1:0",  # Bedrock, Claude through Messages
    "meta.llama3-70b-instruct-v1:0",  # Bedrock, Llama 3 through Converse
    "gemini-2.5-flash",  # Gemini, thoughts left out of completion_tokens
    "azure-ai:Phi-4",  # Azure AI Foundry
    "smollm2-135m-instruct",  # the embedded GGUF, priced by the hour here
]
# what each fake serves (the name the wire carries -> usage), in our meaning of the fields
SCENARIOS = {
    "gpt-4o-mini": Scenario(input_tokens=900, cached_tokens=512, output_tokens=120),
    "study-gpt4o": Scenario(input_tokens=900, cached_tokens=256, output_tokens=150),
    "claude-3-5-sonnet-20241022": Scenario(input_tokens=1_000, cached_tokens=600, cache_write_tokens=300,
                                           cache_write_1h_tokens=100, output_tokens=200),
    "anthropic.claude-3-haiku-20240307-v1:0": Scenario(input_tokens=950, output_tokens=90),
    "meta.llama3-70b-instruct-v1:0": Scenario(input_tokens=980, output_tokens=110),
    "gemini-2.5-flash": Scenario(input_tokens=870, cached_tokens=400, reasoning_tokens=64, output_tokens=72,
                                 thinking=["생각 중"], thoughts_in_completion=False),
    "Phi-4": Scenario(input_tokens=1_010, output_tokens=95),
}
GENAI = {  # our name -> (genai-prices provider, model)
    "gpt-4o-mini": ("openai", "gpt-4o-mini"), "azure:study-gpt4o": ("openai", "gpt-4o"),
    "claude-3-5-sonnet-20241022": ("anthropic", "claude-3-5-sonnet-20241022"),
    "anthropic.claude-3-haiku-20240307-v1:0": ("aws", "anthropic.claude-3-haiku-20240307-v1:0"),
    "meta.llama3-70b-instruct-v1:0": ("aws", "meta.llama3-70b-instruct-v1:0"),
    "gemini-2.5-flash": ("google", "gemini-2.5-flash"), "azure-ai:Phi-4": ("azure", "phi-4"),
}
LOCAL_USD_PER_HOUR = Decimal("0.50")


def _independent_cost(model: str, sc: Scenario) -> Decimal:
    import genai_prices

    provider, ref = GENAI[model]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        price = genai_prices.calc_price(genai_prices.Usage(
            input_tokens=sc.input_tokens, cache_read_tokens=sc.cached_tokens, cache_write_tokens=sc.cache_write_tokens,
            cache_write_1h_tokens=sc.cache_write_1h_tokens or None, output_tokens=sc.out_tokens()), ref, provider_id=provider)
    return Decimal(str(price.total_price))


@pytest.fixture
def study(fake, tmp_path):
    need("boto3", "Bedrock through the real SDK")
    need("llama_cpp", "the embedded model")
    need("genai_prices", "costs checked against an independent source")
    for name, sc in SCENARIOS.items():
        fake.scenarios[name] = sc
    shipped = (ROOT / "pricing.yaml").read_text()
    local = re.compile(r"  smollm2-135m-instruct:\n    \{[^}]*\}", re.S)
    pricing = local.sub(f"  smollm2-135m-instruct:\n    {{provider: local, usd_per_hour: {LOCAL_USD_PER_HOUR}, "
                        "context_window: 8192}", shipped)
    assert pricing != shipped
    pricing += '\naliases:\n  "azure:study-gpt4o": gpt-4o\n'
    (tmp_path / "pricing.yaml").write_text(pricing)
    (tmp_path / "study.yaml").write_text(
        f"name: seed-study\nset: {ROOT / 'examples' / 'training_faq.yaml'}\nrepeats: 2\nmodels:\n"
        + "".join(f"  - {json.dumps(m)}\n" for m in MODELS))
    env = {**os.environ, "OPENAI_BASE_URL": f"{fake.url}/v1", "ANTHROPIC_BASE_URL": fake.url,
           "ANTHROPIC_BEDROCK_BASE_URL": fake.url, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": fake.url,
           "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE1234",
           "AWS_SECRET_ACCESS_KEY": "bedrock-secret-do-not-leak", "GEMINI_BASE_URL": f"{fake.url}/v1beta/openai/",
           "GEMINI_API_KEY": "gemini-key-0123456789", "AZURE_OPENAI_ENDPOINT": fake.url,
           "AZURE_OPENAI_API_KEY": "azure-key-0000", "AZURE_AI_ENDPOINT": f"{fake.url}/models",
           "AZURE_AI_API_KEY": fake.azure_ai_key, "CHAT_DB": str(tmp_path / "chat.db")}
    return tmp_path, env


def test_the_whole_study_runs_in_one_command_with_exact_costs(study):
    tmp, env = study
    out = subprocess.run([sys.executable, "-m", "chat", "--pricing", str(tmp / "pricing.yaml"), "eval",
                          str(tmp / "study.yaml"), "--max-tokens", "8", "--temperature", "0", "--out", str(tmp / "out"),
                          "--blind", "--per-day", "2000"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    # the seed study's table: one line per model
    table = out.stdout.splitlines()
    assert table[0].startswith("Model") and "Cost / 1,000 questions" in table[0]
    assert sorted(line.split()[0] for line in table[1:] if line.strip()) == sorted(MODELS)

    db = sqlite3.connect(tmp / "chat.db")
    db.row_factory = sqlite3.Row
    rows = db.execute("SELECT *, json_extract(cost_exact, '$.cost_usd') AS exact FROM exchanges").fetchall()
    assert len(rows) == 10 * 2 * len(MODELS)
    for row in rows:
        model = row["model"]
        assert row["status"] == "ok", (model, row["error"])
        if model == "smollm2-135m-instruct":
            # priced by the hour: the wall time it held the machine, by hand
            hand = Decimal(repr(row["latency_ms"] / 1000)) * LOCAL_USD_PER_HOUR / 3600
            assert (row["cost_basis"], Decimal(row["exact"])) == ("compute", hand), model
            assert 0 < row["output_tokens"] <= 8 and row["usage_source"] == "provider"
            continue
        sc = SCENARIOS[model.split(":", 1)[1] if model in ("azure:study-gpt4o", "azure-ai:Phi-4") else model]
        if model == "azure:study-gpt4o":
            sc = SCENARIOS["study-gpt4o"]
        assert (row["input_tokens"], row["output_tokens"], row["cached_tokens"], row["usage_source"]) == \
            (sc.input_tokens, sc.out_tokens(), sc.cached_tokens, "provider"), model
        assert row["cost_basis"] == "tokens" and Decimal(row["exact"]) == _independent_cost(model, sc), model
    gemini = db.execute("SELECT usage_adjusted, reasoning_tokens FROM exchanges WHERE model = 'gemini-2.5-flash'").fetchone()
    assert "64 reasoning tokens folded into output" in gemini[0] and gemini[1] == 64
    assert db.execute("SELECT count(*) FROM exchanges WHERE provider_latency_ms = 321").fetchone()[0] == 20  # Llama

    run_id = db.execute("SELECT id FROM runs").fetchone()[0]
    page = (tmp / "out" / f"run-{run_id}.html").read_text()
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org", "")  # offline
    for question in ("훈련장려금 얼마 받을 수 있나요?", "각 과정에 대해서 설명해주세요."):
        assert question in page
    assert page.count("Hello, this is a fake reply.") >= 7 * 10  # every API model's first answer to every question
    assert "Projected monthly cost at 2,000 questions a day" in page and "compute" in page
    assert "all 2 repeats" in page and "name=viewport" in page

    blind = (tmp / "out" / f"run-{run_id}-blind.html").read_text()
    key = (tmp / "out" / f"run-{run_id}-blind-key.txt").read_text().splitlines()
    assert len(key) == len(MODELS) and {line.split(": ", 1)[1] for line in key} == set(MODELS)
    for name in MODELS:
        assert name not in blind, name
    assert "Model A" in blind and "Model H" in blind and "훈련장려금" in blind


def _stats(model: str, cost: str, latency_ms: float):
    from chat.evaluation.results import ModelStats

    c = Decimal(cost)
    return ModelStats(model=model, cells=10, ok=10, error_rate=0.0, ttft_mean_ms=100, ttft_p50_ms=100, ttft_p95_ms=100,
                      latency_mean_ms=latency_ms, latency_p50_ms=latency_ms, latency_p95_ms=latency_ms, tokens_per_s=50,
                      mean_output_tokens=100, cost_per_question=c, cost_per_1000=c * 1000, estimated_share=0.0)


def test_monthly_projection_and_break_even_by_hand(tmp_path):
    from chat.engine.pricing import load_prices
    from chat.evaluation.projection import project

    path = tmp_path / "pricing.yaml"
    path.write_text("models:\n  gpt-4o-mini: {provider: openai, input: 0.15, output: 0.6}\n"
                    "  gpt-4.1-nano: {provider: openai, input: 0.1, output: 0.4}\n"
                    '  "ollama:llama3.1:8b": {provider: ollama, usd_per_hour: 1.20, concurrent_requests: 4}\n')
    stats = [_stats("gpt-4o-mini", "0.0002", 900), _stats("gpt-4.1-nano", "0.0001", 700),
             _stats("ollama:llama3.1:8b", "0.00016", 2000)]
    api, nano, box = project(stats, load_prices(path), 1000)
    assert (api.basis, api.monthly) == ("tokens", Decimal("6.0000"))  # 0.0002 × 1,000 a day × 30 days
    assert box.basis == "compute" and box.monthly == Decimal("4.80000")  # metered: 0.00016 × 30,000
    assert box.machine_monthly == Decimal("864.00")  # $1.20 × 24 × 30
    assert box.capacity_per_day == 172_800  # 4 at once × 86,400 s ÷ 2 s each
    assert (box.machines, box.always_on_monthly) == (1, Decimal("864.00"))
    # kept on all day the machine costs $28.80: that buys 144,000 gpt-4o-mini answers, within its capacity;
    # 288,000 gpt-4.1-nano answers, more than one machine can give, so it never wins against nano
    assert [(e.api_model, e.per_day) for e in box.break_even] == [("gpt-4o-mini", 144_000), ("gpt-4.1-nano", None)]
    assert project(stats, load_prices(path), 500_000)[2].machines == 3  # 500,000 a day needs ⌈500,000 / 172,800⌉
    with pytest.raises(ValueError, match="questions a day must be a whole number from 1"):
        project(stats, load_prices(path), 0)
