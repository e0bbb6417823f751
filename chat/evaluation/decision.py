"""From a run to a decision: each candidate's figures with 95% intervals, the team's constraints each checked to one
of three verdicts, a ranked shortlist, the Pareto frontier of cost against quality, and one recommendation whose
sentence claims only what the intervals support."""
from __future__ import annotations

import os
import statistics
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Literal

from chat.evaluation.caching import RunCache, hit_share, rebill, run_cache
from chat.evaluation.intervals import (
    Figure,
    Power,
    Resampler,
    beats,
    clustered_rate,
    quantile,
    question_mean,
    repeats_needed,
)
from chat.evaluation.projection import DAYS_PER_MONTH
from chat.evaluation.results import candidate, label
from chat.evaluation.summary import RunSummary
from chat.wording import Worded

REPLICATES = 2000
DEFAULT_MAX_FAILURE_RATE = 0.05  # applied one way when the team sets none: only a clearly flaky model is ruled out
# what each figure is called, and whether less of it is better
LOWER_IS_BETTER = {"ttft_p50_s": True, "ttft_p95_s": True, "latency_p50_s": True, "latency_p95_s": True,
                   "cost_per_question_usd": True, "monthly_usd": True, "failure_rate": True,
                   "score_mean": False, "acceptable_rate": False, "consistency": False}
NAMES = {"ttft_p50_s": "TTFT p50", "ttft_p95_s": "TTFT p95", "latency_p50_s": "latency p50",
         "latency_p95_s": "latency p95", "cost_per_question_usd": "cost per question", "monthly_usd": "monthly cost",
         "failure_rate": "failure rate", "score_mean": "mean score",
         "cost_per_1000_usd": "cost per 1,000 questions", "acceptable_rate": "acceptable rate",
         "consistency": "consistency across repeats"}
Verdict = Literal["meets", "misses", "uncertain"]


class ConstraintError(Worded):
    """A constraint cannot be applied as given; the message names it and what is allowed."""


@dataclass(frozen=True)
class Constraints:
    max_ttft_p95_s: float | None = None
    max_latency_p95_s: float | None = None
    min_score: dict = field(default_factory=dict)  # criterion -> the lowest mean score allowed
    min_acceptable: float | None = None  # 0..1: the share of attempts that must give an acceptable answer
    max_cost_per_question: Decimal | None = None
    per_day: int | None = None  # questions a day, for the monthly cost
    max_monthly: Decimal | None = None
    max_failure_rate: float | None = None  # None: DEFAULT_MAX_FAILURE_RATE, applied one way

    def checks(self) -> list[tuple[str, str, float, bool]]:
        """(figure, 'max' | 'min', limit, is the default) for every constraint, the failure bound always."""
        out = []
        if self.max_ttft_p95_s is not None:
            out.append(("ttft_p95_s", "max", float(self.max_ttft_p95_s), False))
        if self.max_latency_p95_s is not None:
            out.append(("latency_p95_s", "max", float(self.max_latency_p95_s), False))
        for criterion, low in self.min_score.items():
            out.append((f"score_{criterion}", "min", float(low), False))
        if self.min_acceptable is not None:
            out.append(("acceptable_rate", "min", float(self.min_acceptable), False))
        if self.max_cost_per_question is not None:
            out.append(("cost_per_question_usd", "max", float(self.max_cost_per_question), False))
        if self.max_monthly is not None:
            out.append(("monthly_usd", "max", float(self.max_monthly), False))
        failure = self.max_failure_rate
        out.append(("failure_rate", "max", DEFAULT_MAX_FAILURE_RATE if failure is None else float(failure),
                    failure is None))
        return out

    def as_json(self) -> dict:
        return {"max_ttft_p95_s": self.max_ttft_p95_s, "max_latency_p95_s": self.max_latency_p95_s,
                "min_score": dict(self.min_score), "min_acceptable": self.min_acceptable,
                "max_cost_per_question_usd": None if self.max_cost_per_question is None else float(self.max_cost_per_question),
                "per_day": self.per_day,
                "max_monthly_usd": None if self.max_monthly is None else float(self.max_monthly),
                "max_failure_rate": self.max_failure_rate,
                "max_failure_rate_default": DEFAULT_MAX_FAILURE_RATE if self.max_failure_rate is None else None}


@dataclass(frozen=True)
class Check:
    """One constraint checked against one candidate's figure and its 95% interval."""

    metric: str
    bound: str  # max | min
    limit: float
    figure: Figure | None  # None or a None value: no answers, no ratings or no price to check it with
    verdict: Verdict
    default: bool = False  # the failure bound nobody set: it only ever rules a candidate out

    @property
    def by(self) -> float | None:
        """How far the point value is on the wrong side of the limit (negative: on the right side)."""
        if self.figure is None or self.figure.value is None:
            return None
        return self.figure.value - self.limit if self.bound == "max" else self.limit - self.figure.value

    @property
    def shortfall(self) -> float:
        """The point value's distance past the limit, as a share of the limit (1 when it cannot be measured)."""
        by = self.by
        if by is None:
            return 1.0
        return max(0.0, by) / (abs(self.limit) or 1.0)

    def as_json(self) -> dict:
        f = self.figure or Figure(None)
        return {"figure": self.metric, "bound": self.bound, "limit": self.limit, "value": f.value, "low": f.low,
                "high": f.high, "n": f.n, "verdict": self.verdict, "default": self.default}


def verdict(bound: str, limit: float, f: Figure | None, default: bool = False) -> Verdict:
    """meets: the whole interval is on the right side of the limit; misses: the whole interval is on the wrong side;
    uncertain: it straddles the limit, or there is no interval to tell. The default failure bound only misses."""
    if f is None or f.value is None:
        return "uncertain"
    if default:
        if f.low is None:  # too few attempts for an interval: only all-failed rules out
            return "misses" if f.value >= 1 else "meets"
        return "misses" if f.low > limit else "meets"
    if bound == "max":
        if f.high is not None and f.high <= limit:
            return "meets"
        return "misses" if f.low is not None and f.low > limit else "uncertain"
    if f.low is not None and f.low >= limit:
        return "meets"
    return "misses" if f.high is not None and f.high < limit else "uncertain"


@dataclass(frozen=True)
class Candidate:
    model: str
    variant: str | None
    metrics: dict[str, Figure]
    checks: tuple[Check, ...] = ()
    frontier: bool = False  # no other candidate is both cheaper and better rated
    answered: int = 0  # successful answers

    @property
    def label(self) -> str:
        return label(self.model, self.variant)

    @property
    def misses(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.verdict == "misses")

    @property
    def uncertain(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.verdict == "uncertain")

    @property
    def meets(self) -> bool:
        return self.answered > 0 and all(c.verdict == "meets" for c in self.checks)

    @property
    def cost(self) -> float | None:
        return self.metrics["cost_per_question_usd"].value

    def verdict(self) -> Verdict:
        return "meets" if self.meets else "misses" if self.misses or not self.answered else "uncertain"


@dataclass(frozen=True)
class Pair:
    """A paired comparison of two leading candidates: the chance A's figure is the better one, per figure."""

    a: str
    b: str
    p_a_better: dict[str, float | None]
    power: Power | None  # repeats per question to separate the mean score at the chosen margin

    @property
    def repeats_to_separate(self) -> int | None:
        return None if self.power is None else self.power.repeats


@dataclass(frozen=True)
class Decision:
    run_id: str
    constraints: Constraints
    scores_from: str | None  # human | judge | None: which ratings the scores are
    criteria: list[str]
    candidates: list[Candidate]  # ranked: those meeting every constraint first, cheapest first
    pairs: list[Pair]
    margin: float
    repeats: int
    raw: dict = field(default_factory=dict)  # (model, variant or '') -> {"cost" | "score": values by question}
    cached: dict = field(default_factory=dict)  # label -> (share of questions finding the FAQ cached: run, per_day)

    @property
    def recommended(self) -> Candidate | None:
        return self.candidates[0] if self.candidates and self.candidates[0].meets else None

    def by_question(self, c: Candidate, what: str) -> dict[str, list[float]]:
        return self.raw.get((c.model, c.variant or ""), {}).get(what, {})



def _source(summary: RunSummary) -> str | None:
    kinds = {kind for s in summary.scores.values() for kind in s}
    return "human" if "human" in kinds else "judge" if "judge" in kinds else None


@dataclass(frozen=True)
class Measured:
    """A run's figures, before any constraint: moving a constraint reuses them."""

    run_id: str
    answers: int  # the rows measured, so a view can tell when a run has grown since
    scores_from: str | None
    criteria: list[str]
    candidates: list[Candidate]
    replicated: dict  # (model, variant or '') -> {figure: bootstrap replicate array}, for the pairs table
    repeats: int
    ratings: int = 0  # scores measured, so a view can tell when someone has rated since
    raw: dict = field(default_factory=dict)  # (model, variant or '') -> {"cost" | "score": values by question}
    cache: dict = field(default_factory=dict)  # (model, variant or '') -> its RunCache, where its vendor cached
    sampler: Resampler | None = None

    def current(self, summary: RunSummary) -> bool:
        """Whether these figures are still the run's: no answer and no rating added since."""
        return (self.run_id, self.answers, self.ratings) == (summary.run.id, len(summary.rows), _ratings(summary))


def _ratings(summary: RunSummary) -> int:
    return sum(len(scores) for kinds in summary.scores.values() for scores in kinds.values())


def measure(summary: RunSummary, replicates: int = REPLICATES, seed: int = 20261201) -> Measured:
    """Every candidate's figures with their 95% intervals: the costly part of a decision (benchmarks/decision.py)."""
    criteria = [c.id for c in summary.rubric.criteria]
    source = _source(summary)
    questions = [q.id for q in summary.question_set.questions] or sorted(
        {r.question_id or "" for r in summary.rows})
    repeats = summary.run.repeats or 1
    sampler = Resampler(questions, replicates, seed, repeats)
    similarity = {(q.model, q.variant or "", q.question_id): q.similarity for q in summary.questions}
    groups: dict[tuple[str, str], list] = {}
    for row in summary.rows:
        groups.setdefault(candidate(row), []).append(row)
    keys = sorted(groups)
    # numpy lets go of the GIL while it gathers and partitions: two candidates at once use both cores
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="decide") as pool:
        figured = list(pool.map(lambda key: _figures(groups[key], summary, source, criteria, sampler, similarity, key),
                                keys))
    built = [Candidate(key[0], key[1] or None, metrics, answered=sum(r.status == "ok" for r in groups[key]))
             for key, (metrics, _, _) in zip(keys, figured)]
    caches = {key: run_cache(groups[key]) for key in keys}
    return Measured(summary.run.id, len(summary.rows), source, criteria, built,
                    {key: reps for key, (_, reps, _) in zip(keys, figured)}, repeats, _ratings(summary),
                    {key: raw for key, (_, _, raw) in zip(keys, figured)},
                    {key: c for key, c in caches.items() if c is not None}, sampler)


def decide(run: RunSummary | Measured, constraints: Constraints = Constraints(), margin: float = 0.25,
           replicates: int = REPLICATES, seed: int = 20261201) -> Decision:
    """Every candidate's figures and intervals, checked against the constraints and ranked."""
    measured = run if isinstance(run, Measured) else measure(run, replicates, seed)
    criteria = measured.criteria
    unknown = [c for c in constraints.min_score if c not in criteria]
    if unknown:
        raise ConstraintError("no criterion {names} in the rubric; it has {criteria}", names=", ".join(map(repr, unknown)),
                              criteria=", ".join(criteria))
    if constraints.max_monthly is not None and not constraints.per_day:
        raise ConstraintError("a monthly limit needs the volume: say how many questions a day (--per-day N)")
    checks = constraints.checks()
    measured, cached = _at_volume(measured, constraints.per_day)
    built = [_checked(_monthly(c, constraints.per_day), checks) for c in measured.candidates]
    ranked = sorted(_mark_frontier(built), key=_rank)
    pairs = _pairs(ranked[:3], measured, margin)
    return Decision(measured.run_id, constraints, measured.scores_from, criteria, ranked, pairs, margin,
                    measured.repeats, measured.raw, cached)


def _at_volume(measured: Measured, per_day: int | None) -> tuple[Measured, dict]:
    """The costs as they will be billed at per_day, where the vendor caches the FAQ: a run asks its questions
    seconds apart, so it finds the FAQ cached far more often than questions spread over a working day will."""
    if not per_day or not measured.cache:
        return measured, {}
    candidates, raw, replicated, shares = [], dict(measured.raw), dict(measured.replicated), {}
    for c in measured.candidates:
        key = (c.model, c.variant or "")
        cache: RunCache | None = measured.cache.get(key)
        if cache is None or "cost" not in raw.get(key, {}):
            candidates.append(c)
            continue
        costs = rebill(cache, per_day)
        raw[key] = {**raw[key], "cost": costs}
        if measured.sampler is not None:
            replicated[key] = {**replicated[key], "cost_per_question_usd": measured.sampler.mean(costs)}
        candidates.append(Candidate(c.model, c.variant, {**c.metrics, "cost_per_question_usd":
                                                         question_mean(costs, lowest=0.0)}, answered=c.answered))
        shares[c.label] = (cache.run_share, hit_share(per_day))
    return replace(measured, candidates=candidates, raw=raw, replicated=replicated), shares


def _monthly(c: Candidate, per_day: int | None) -> Candidate:
    if not per_day:
        return c
    f, month = c.metrics["cost_per_question_usd"], per_day * DAYS_PER_MONTH
    scale = lambda v: None if v is None else v * month  # noqa: E731
    return Candidate(c.model, c.variant, {**c.metrics, "monthly_usd": Figure(scale(f.value), scale(f.low),
                                                                             scale(f.high), f.n)},
                     answered=c.answered)


def _by_question(rows, value) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for r in rows:
        v = value(r)
        if v is not None:
            out.setdefault(r.question_id or "", []).append(float(v))
    return out


def _figures(rows, summary: RunSummary, source, criteria, sampler: Resampler, similarity, key):
    """One candidate's figures. A failed attempt counts: in the failure rate, as an attempt with no acceptable
    answer, and at what it cost; times and scores are of the answers that came back."""
    ok = [r for r in rows if r.status == "ok"]
    seconds = lambda attr: _by_question(ok, lambda r: None if getattr(r, attr) is None else getattr(r, attr) / 1000)  # noqa: E731
    m: dict[str, Figure] = {"failure_rate": clustered_rate(_by_question(rows, lambda r: float(r.status != "ok")))}
    reps, raw = {}, {}
    for name, attr in (("ttft", "ttft_ms"), ("latency", "latency_ms")):
        by_q = seconds(attr)
        m[f"{name}_p50_s"], m[f"{name}_p95_s"] = quantile(by_q, 0.5), quantile(by_q, 0.95)
        reps[f"{name}_p95_s"] = sampler.percentile(by_q, 0.95)
    if ok and all(r.cost_usd is not None for r in ok):
        # what a failed call cost is paid too; one that failed before any token was metered cost nothing
        raw["cost"] = _by_question(rows, lambda r: Decimal(r.cost_usd) if r.cost_usd is not None else 0)
        m["cost_per_question_usd"] = question_mean(raw["cost"], lowest=0.0)
        reps["cost_per_question_usd"] = sampler.mean(raw["cost"])
    else:
        m["cost_per_question_usd"] = Figure(None, n=len(ok))
    scored = [(r, summary.scores.get(r.id, {}).get(source)) for r in ok] if source else []
    scored = [(r, s) for r, s in scored if s]
    low, high = (1.0, 5.0) if summary.rubric.scale == "1-5" else (0.0, 1.0)
    for c in criteria:
        by_q = _by_question([r for r, s in scored if c in s], lambda r, c=c: summary.scores[r.id][source][c])
        m[f"score_{c}"] = question_mean(by_q, low, high)
    answer_means = {r.id: statistics.fmean(s.values()) for r, s in scored}
    raw["score"] = _by_question([r for r, _ in scored], lambda r: answer_means[r.id])
    m["score_mean"] = question_mean(raw["score"], low, high)
    reps["score_mean"] = sampler.mean(raw["score"])
    m["acceptable_rate"] = _acceptable(rows, answer_means, summary.rubric.acceptable) if scored else Figure(None)
    by_q = {q: [s] for (model, variant, q), s in similarity.items() if (model, variant) == key and s is not None}
    m["consistency"] = question_mean(by_q, 0.0, 1.0)
    return m, reps, raw


def _acceptable(rows, answer_means: dict[str, float], bar: float) -> Figure:
    """The share of attempts that gave an acceptable answer: a failed attempt is not one. Answers nobody rated
    are left out, not counted as failures."""
    attempts = _by_question([r for r in rows if r.status != "ok" or r.id in answer_means],
                            lambda r: float(r.status == "ok" and answer_means[r.id] >= bar))
    return clustered_rate(attempts)


def _checked(c: Candidate, checks) -> Candidate:
    done = []
    for metric, bound, limit, default in checks:
        f = c.metrics.get(metric)
        judged = verdict(bound, limit, f, default)
        if metric == "failure_rate" and not c.answered:
            judged = "misses"  # nothing came back: never recommended, however few the attempts
        done.append(Check(metric, bound, limit, f, judged, default))
    return Candidate(c.model, c.variant, c.metrics, tuple(done), answered=c.answered)


def _mark_frontier(cands: list[Candidate]) -> list[Candidate]:
    points = {c.label: (c.cost, c.metrics["score_mean"].value) for c in cands}
    out = []
    for c in cands:
        cost, score = points[c.label]
        on = cost is not None and score is not None and not any(
            oc is not None and os_ is not None and oc <= cost and os_ >= score and (oc < cost or os_ > score)
            for name, (oc, os_) in points.items() if name != c.label)
        out.append(Candidate(c.model, c.variant, c.metrics, c.checks, on, c.answered))
    return out


def _rank(c: Candidate):
    """Meeting every constraint first, cheapest first; then those with no check missed (the most likely), then
    the rest, each by how far their point values fall short (each shortfall a share of its limit)."""
    cost, score = c.cost, c.metrics["score_mean"].value
    shortfall = sum(k.shortfall for k in c.checks if k.verdict != "meets")
    return (not c.meets, bool(c.misses) or not c.answered, round(shortfall, 9), len(c.uncertain), cost is None,
            cost if cost is not None else 0.0, -(score or 0.0), c.label)


def _pairs(leaders: list[Candidate], measured: Measured, margin: float) -> list[Pair]:
    out = []
    for i, a in enumerate(leaders):
        for b in leaders[i + 1:]:
            ka, kb = (a.model, a.variant or ""), (b.model, b.variant or "")
            ra, rb = measured.replicated[ka], measured.replicated[kb]
            probs = {metric: beats(ra.get(metric), rb.get(metric), LOWER_IS_BETTER[metric]) for metric in ra}
            power = repeats_needed(measured.raw[ka].get("score", {}), measured.raw[kb].get("score", {}),
                                   measured.repeats, margin)
            out.append(Pair(a.label, b.label, probs, power))
    return out
