"""Seeded synthetic runs with a known truth, written to a real SQLite log through the store, as the app writes."""
from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from chat.evaluation.ratings import DEFAULT_RUBRIC, rate


@dataclass(frozen=True)
class Truth:
    """One candidate's true behaviour: latency lognormal (median, spread), a fixed cost, a mean score."""

    model: str
    latency_median_s: float = 1.0
    latency_sigma: float = 0.4
    cost_usd: str | None = "0.0001"  # each answer's cost; None: unpriced
    score: float = 4.0  # the true mean score over the population of questions, every criterion
    question_spread: float = 0.4  # how much questions differ in score
    answer_spread: float = 0.5  # how much repeats of one question differ
    variant: str | None = None

    def true_latency_p95_s(self) -> float:
        return self.latency_median_s * math.exp(1.6448536269514722 * self.latency_sigma)


def write_run(store, truths: list[Truth], questions: int = 10, repeats: int = 10, seed: int = 0,
              rater: str = "kim", kind: str = "human", rubric=DEFAULT_RUBRIC) -> str:
    """A run of every truth x question x repeat, rated on every criterion; returns its id."""
    rng = np.random.default_rng(seed)
    run_id = f"synthetic-{seed}-{uuid.uuid4().hex[:6]}"
    qids = [f"q{i + 1}" for i in range(questions)]
    variants = sorted({t.variant for t in truths if t.variant})
    store.insert_now("runs", {
        "id": run_id, "created_at": "2026-12-01T00:00:00.000Z", "set_name": "synthetic", "set_digest": "x",
        "set_json": json.dumps({"name": "synthetic", "system": None,
                                "questions": [{"id": q, "text": f"Question {q}?"} for q in qids],
                                "variants": [{"name": v} for v in variants]}),
        "models_json": json.dumps(sorted({t.model for t in truths})), "repeats": repeats, "concurrency": 4,
        "params_json": "{}"}, wait_s=5)
    rows, scores = [], []
    for t in truths:
        effects = rng.normal(0, t.question_spread, questions)
        for qi, q in enumerate(qids):
            for r in range(repeats):
                latency = float(t.latency_median_s * math.exp(rng.normal(0, t.latency_sigma))) * 1000
                eid = uuid.uuid4().hex
                rows.append({"id": eid, "created_at": f"2026-12-01T00:{qi:02d}:{r % 60:02d}.000Z", "session_id": "s",
                             "model": t.model, "variant": t.variant, "status": "ok", "prompt": f"Question {q}?",
                             "reply": f"answer {r}", "ttft_ms": latency / 3, "latency_ms": latency,
                             "input_tokens": 100, "output_tokens": 50, "cost_usd": t.cost_usd,
                             "run_id": run_id, "question_id": q, "repeat_index": r})
                score = t.score + effects[qi] + rng.normal(0, t.answer_spread)
                scores.append((eid, int(min(5, max(1, round(score))))))
    store.append_many("exchanges", rows)
    store.flush()
    for eid, s in scores:
        rate(store, eid, {c.id: s for c in rubric.criteria}, rubric, rater if kind == "human" else "judge-model",
             kind=kind)
    store.flush()
    return run_id


def cost(t: Truth) -> Decimal | None:
    return None if t.cost_usd is None else Decimal(t.cost_usd)
