"""Simulated studies with a known truth, shaped like real ones: a few questions asked several times, hard questions
slow and badly rated every time (question effects), a slow moment slowing a whole repeat round (correlated
repeats), and failures that cluster on the questions that trip a model up. Built in memory as the summary the
decision reads, so hundreds of studies take seconds; tests/synthetic.py writes runs through the real store."""
from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from statistics import NormalDist

import numpy as np

from chat.evaluation.ratings import DEFAULT_RUBRIC
from chat.evaluation.results import QuestionStats
from chat.evaluation.summary import RunSummary
from chat.storage.rows import Exchange, Run


@dataclass(frozen=True)
class Model:
    """One candidate's true behaviour."""

    name: str
    latency_median_s: float = 1.0
    ttft_median_s: float = 0.3
    question_sd: float = 0.4  # log-seconds: how much slower a hard question is, every time it is asked
    round_sd: float = 0.15  # log-seconds: a slow moment shared by one repeat round of every question
    answer_sd: float = 0.35  # log-seconds: the rest
    price_per_token: str | None = "0.000002"  # None: unpriced
    tokens_median: float = 200
    tokens_question_sd: float = 0.3
    tokens_sd: float = 0.2
    failure: float = 0.0  # the share of attempts that fail, over the population of questions
    failure_concentration: float = 5.0  # lower: failures cluster harder on a few questions
    failed_cost_share: float = 0.3  # a failed attempt costs this share of an answer
    score: float = 3.8  # 1-5, before rounding
    score_question_sd: float = 0.5
    score_sd: float = 0.6
    consistency: float = 0.7
    consistency_sd: float = 0.12
    variant: str | None = None

    def _total_sd(self) -> float:
        return math.sqrt(self.question_sd ** 2 + self.round_sd ** 2 + self.answer_sd ** 2)

    def truth(self) -> dict[str, float | None]:
        z95 = NormalDist().inv_cdf(0.95)
        sd = self._total_sd()
        score_mean, acceptable = _score_truth(self.score, self.score_question_sd, self.score_sd)
        tokens = self.tokens_median * math.exp((self.tokens_question_sd ** 2 + self.tokens_sd ** 2) / 2)
        cost = None if self.price_per_token is None else float(self.price_per_token) * tokens * (
            1 - self.failure + self.failure * self.failed_cost_share)
        return {"latency_p50_s": self.latency_median_s, "latency_p95_s": self.latency_median_s * math.exp(z95 * sd),
                "ttft_p50_s": self.ttft_median_s, "ttft_p95_s": self.ttft_median_s * math.exp(z95 * sd),
                "cost_per_question_usd": cost, "score_mean": score_mean, "acceptable_rate": acceptable * (1 - self.failure),
                "failure_rate": self.failure, "consistency": _clipped_mean(self.consistency, self.consistency_sd)}


@lru_cache(maxsize=None)
def _score_truth(centre: float, question_sd: float, answer_sd: float) -> tuple[float, float]:
    """The mean and the acceptable share of a rounded 1-5 score over the population of questions (by simulation)."""
    rng = np.random.default_rng(99)
    s = np.clip(np.round(centre + rng.normal(0, question_sd, 2_000_000) + rng.normal(0, answer_sd, 2_000_000)), 1, 5)
    return float(s.mean()), float((s >= DEFAULT_RUBRIC.acceptable).mean())


@lru_cache(maxsize=None)
def _clipped_mean(centre: float, sd: float) -> float:
    return float(np.clip(np.random.default_rng(98).normal(centre, sd, 2_000_000), 0, 1).mean())


def study(models: list[Model], questions: int = 10, repeats: int = 3, seed: int = 0, rated: bool = True,
          rated_share: float = 1.0) -> RunSummary:
    """A finished run of every model x question x repeat, as the summary the decision reads."""
    rng = np.random.default_rng(seed)
    qids = [f"q{i + 1}" for i in range(questions)]
    variants = sorted({m.variant for m in models if m.variant})
    run = Run(id=f"study-{seed}-{uuid.uuid4().hex[:6]}", set_name="study",
              set_json=json.dumps({"name": "study", "questions": [{"id": q, "text": f"{q}?"} for q in qids],
                                   "variants": [{"name": v} for v in variants]}),
              models_json=json.dumps(sorted({m.name for m in models})), repeats=repeats)
    rows, scores, similarity = [], {}, []
    # a hard question is hard for every model: the question effects are shared, each model's scaled by its spread
    hard, long, slow_q = (rng.normal(0, 1, questions) for _ in range(3))
    for m in models:
        lat_q, tok_q = m.question_sd * slow_q, m.tokens_question_sd * long
        rounds = rng.normal(0, m.round_sd, repeats)
        score_q = m.score_question_sd * hard
        fail_q = (rng.beta(m.failure * m.failure_concentration, (1 - m.failure) * m.failure_concentration, questions)
                  if m.failure else np.zeros(questions))
        for qi, q in enumerate(qids):
            for r in range(repeats):
                failed = rng.random() < fail_q[qi]
                slow = math.exp(lat_q[qi] + rounds[r] + rng.normal(0, m.answer_sd))
                tokens = max(1, round(m.tokens_median * math.exp(tok_q[qi] + rng.normal(0, m.tokens_sd))))
                share = Decimal(str(m.failed_cost_share)) if failed else Decimal(1)
                cost = None if m.price_per_token is None else str(Decimal(m.price_per_token) * tokens * share)
                eid = uuid.uuid4().hex
                rows.append(Exchange(id=eid, model=m.name, variant=m.variant, status="error" if failed else "ok",
                                     ttft_ms=m.ttft_median_s * slow * 1000, latency_ms=m.latency_median_s * slow * 1000,
                                     output_tokens=tokens, cost_usd=cost, run_id=run.id, question_id=q, repeat_index=r))
                score = int(np.clip(round(m.score + score_q[qi] + rng.normal(0, m.score_sd)), 1, 5))
                if rated and not failed and rng.random() < rated_share:
                    scores[eid] = {"human": {c.id: float(score) for c in DEFAULT_RUBRIC.criteria}}
            similarity.append(QuestionStats(m.name, q, repeats, 100.0, None, None,
                                            float(np.clip(rng.normal(m.consistency, m.consistency_sd), 0, 1)),
                                            m.variant))
    return RunSummary(run, rows, [], similarity, [], DEFAULT_RUBRIC, scores)
