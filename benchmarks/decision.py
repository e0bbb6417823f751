"""The decision for 10 models x 10 questions x 30 repeats (3,000 answers, 2,000 bootstrap replicates).

    python benchmarks/decision.py [--repeats 5]

Times, interleaved, on one seeded synthetic run in a real SQLite log:
- `decide` as the command runs it: read the run (summarize), measure every figure with its interval, check;
- moving a constraint in the Runs tab: the measured figures kept, only the checks run again;
- the baseline: the same two-stage bootstrap written the plain way, one replicate at a time in a Python loop
  (draw questions, draw repeats within them, take each figure), for the same figures of the same run.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chat.evaluation.decision import Constraints, decide, measure  # noqa: E402
from chat.evaluation.summary import summarize  # noqa: E402
from chat.quantile import percentile  # noqa: E402
from chat.storage.store import Store  # noqa: E402
from tests.synthetic import Truth, write_run  # noqa: E402

REPLICATES = 2000


def baseline(summary, replicates: int = REPLICATES) -> dict:
    """The plain two-stage bootstrap: per candidate, per replicate, per figure, in Python."""
    rng = random.Random(1)
    out = {}
    groups: dict = {}
    for r in summary.rows:
        groups.setdefault((r.model, r.variant), []).append(r)
    for key, rows in groups.items():
        by_q: dict = {}
        for r in rows:
            if r.status == "ok":
                by_q.setdefault(r.question_id, []).append(r)
        qids = list(by_q)
        figures = {"ttft_p95": [], "latency_p95": [], "latency_p50": [], "ttft_p50": [], "cost": [], "score": []}
        for _ in range(replicates):
            drawn = []
            for q in rng.choices(qids, k=len(qids)):
                drawn += rng.choices(by_q[q], k=len(by_q[q]))
            ttft = [r.ttft_ms for r in drawn]
            lat = [r.latency_ms for r in drawn]
            figures["ttft_p95"].append(percentile(ttft, 0.95))
            figures["ttft_p50"].append(percentile(ttft, 0.5))
            figures["latency_p95"].append(percentile(lat, 0.95))
            figures["latency_p50"].append(percentile(lat, 0.5))
            figures["cost"].append(statistics.fmean(float(r.cost_usd) for r in drawn))
            means = [statistics.fmean(summary.scores[r.id]["human"].values()) for r in drawn]
            figures["score"].append(statistics.fmean(means))
        out[key] = {k: (percentile(v, 0.025), percentile(v, 0.975)) for k, v in figures.items()}
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    store = Store(Path(tempfile.mkdtemp()) / "bench.db")
    truths = [Truth(f"openai:model-{i}", 0.5 + i * 0.1, cost_usd=f"0.000{i + 1}", score=3 + i * 0.15)
              for i in range(10)]
    run_id = write_run(store, truths, questions=10, repeats=30, seed=1)
    constraints = Constraints(min_score={"answers": 4}, max_latency_p95_s=3)
    whole, move, base = [], [], []
    kept = measure(summarize(store, run_id))
    for _ in range(args.repeats):
        t = time.perf_counter()
        decide(summarize(store, run_id), constraints)
        whole.append(time.perf_counter() - t)
        t = time.perf_counter()
        decide(kept, Constraints(min_score={"answers": 3.5}, max_latency_p95_s=2))
        move.append(time.perf_counter() - t)
        s = summarize(store, run_id)
        t = time.perf_counter()
        baseline(s)
        base.append(time.perf_counter() - t)
    w, m, b = statistics.median(whole), statistics.median(move), statistics.median(base)
    print(f"| decide, 3,000 answers, {REPLICATES:,} replicates (read + measure + check) | {w * 1000:,.0f} ms | "
          f"{b / w:.1f}x faster |")
    print(f"| moving a constraint (figures kept) | {m * 1000:,.1f} ms | {b / m:,.0f}x faster |")
    print(f"| baseline: the bootstrap alone, a replicate at a time | {b * 1000:,.0f} ms | 1x |")


if __name__ == "__main__":
    main()
