"""What a Korean FAQ bot will really cost: the estimate's input error before and after one run, a cap against a
vendor billing 1.8x our count, and the long FAQ's monthly bill with and without caching.

    python benchmarks/token_costs.py

Everything runs through the real SDKs against the loopback fake (tests/fake_servers.py), which bills each
vendor's input as `input_ratio` times our own count of the request, as a vendor with its own tokenizer would.
"""
from __future__ import annotations

import os
import sys
import tempfile
import threading
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(ROOT.parent / "shared" / "tiktoken-cache"))

from chat.engine import ChatRequest, Engine, Result  # noqa: E402
from chat.engine.budget import Budget  # noqa: E402
from chat.engine.pricing import load_prices  # noqa: E402
from chat.evaluation import estimate as estimates  # noqa: E402
from chat.evaluation import questionsets, runs  # noqa: E402
from chat.evaluation.projection import project  # noqa: E402
from chat.evaluation.results import model_stats, run_rows  # noqa: E402
from chat.storage.store import Store  # noqa: E402
from tests.fake_servers import FakeLLMServer, Scenario  # noqa: E402

LONG = ROOT / "examples" / "training_faq_long.yaml"
# what each fake vendor bills per token of our count on Korean (Claude: the published 1.3-1.45x; cl100k: 1.6x)
VENDORS = {"gpt-4o-mini": None, "gpt-4.1-mini": None, "claude-haiku-4-5": 1.3, "claude-sonnet-4-5": 1.3}


def one_run(engine: Engine, qs, model: str) -> tuple[str, int]:
    run_id = runs.create(engine, qs, [model], 1, 4)
    for _ in runs.execute(engine, run_id, qs, [model], 1, 4):
        pass
    engine.store.flush()
    billed = engine.store.query("SELECT sum(input_tokens) AS n FROM exchanges WHERE run_id = ?", [run_id])[0]["n"]
    return run_id, billed


def estimate_error(folder: Path, fake) -> None:
    print("| model (vendor bills ×1.25 our count) | estimate before any run | after one run |\n|---|---:|---:|")
    fake.scenarios["claude-haiku-4-5"] = Scenario(input_ratio=1.25)
    engine = Engine(Store(folder / "estimate.db"), load_prices())
    qs = questionsets.load(LONG)
    before = estimates.estimate(engine, qs, ["claude-haiku-4-5"], 1, 4).lines[0].input_tokens
    _, billed = one_run(engine, qs, "claude-haiku-4-5")
    engine.ratios.forget("claude-haiku-4-5")
    after = estimates.estimate(engine, qs, ["claude-haiku-4-5"], 1, 4).lines[0].input_tokens
    print(f"| claude-haiku-4-5 | {before:,} ({before / billed - 1:+.1%}) | {after:,} ({after / billed - 1:+.1%}) |")
    print(f"\n(the vendor billed {billed:,} input tokens for the ten questions)\n")
    engine.close()


def cap_overshoot(folder: Path, fake) -> None:
    pricing = folder / "pricing.yaml"
    pricing.write_text(load_prices().path.read_text() + 'aliases:\n  "vendor:gpt-4o-mini": gpt-4o-mini\n')
    os.environ["CHAT_ENDPOINTS"] = f"vendor={fake.url}/v1"
    fake.scenarios["gpt-4o-mini"] = Scenario(input_ratio=1.8, output_tokens=1)
    cap = Decimal("0.0004")
    store = Store(folder / "cap.db")
    engine = Engine(store, load_prices(pricing), Budget(daily_cap=cap, store=store))
    system = "다음 FAQ에 있는 내용만 한국어로 답하세요. " * 40

    def ask(n):
        for item in engine.stream(ChatRequest(model="vendor:gpt-4o-mini", prompt=f"질문 {n}", system=system,
                                              max_tokens=1, spend_key=f"s{n}")):
            if isinstance(item, Result):
                return

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.flush()
    spent = sum((Decimal(str(r["cost_usd"])) for r in store.query("SELECT cost_usd FROM exchanges WHERE cost_usd "
                                                                  "IS NOT NULL")), Decimal(0))
    print(f"| cap ${cap} against a gpt-4o-mini on another server billing ×1.8 | spent ${spent:.8f} "
          f"({spent / cap - 1:+.1%} against the cap) |\n")
    del os.environ["CHAT_ENDPOINTS"]
    engine.close()


def monthly(folder: Path, fake) -> None:
    print("| model | per question | at 1,000 a day, no cache | with the FAQ cached | at 50 a day, cached |\n"
          "|---|---:|---:|---:|---:|")
    engine = Engine(Store(folder / "monthly.db"), load_prices())
    qs = questionsets.load(LONG)
    for model, ratio in VENDORS.items():
        fake.scenarios[model] = Scenario(input_ratio=ratio, output_tokens=150) if ratio else \
            Scenario(count_input=True, output_tokens=150)
        run_id, _ = one_run(engine, qs, model)
        stats = model_stats(run_rows(engine.store, run_id))
        busy, quiet = project(stats, engine.prices, 1000)[0], project(stats, engine.prices, 50)[0]
        print(f"| {model} | ${busy.cost_per_question:.5f} | ${busy.uncached_monthly:,.2f} | "
              f"${busy.cached_monthly:,.2f} ({busy.cached.hit_share:.0%} hits) | "
              f"${quiet.cached_monthly:,.2f} of ${quiet.uncached_monthly:,.2f} ({quiet.cached.hit_share:.0%} hits) |")
    engine.close()


def main() -> int:
    with FakeLLMServer() as fake, tempfile.TemporaryDirectory() as tmp:
        os.environ.update(OPENAI_BASE_URL=f"{fake.url}/v1", OPENAI_API_KEY="sk-bench-000000",
                          ANTHROPIC_BASE_URL=fake.url, ANTHROPIC_API_KEY="sk-ant-bench-000000")
        estimate_error(Path(tmp), fake)
        cap_overshoot(Path(tmp), fake)
        monthly(Path(tmp), fake)
    return 0


if __name__ == "__main__":
    sys.exit(main())
