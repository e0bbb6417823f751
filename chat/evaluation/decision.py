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
    MIN_ANSWERS,
    Figure,
    Power,
    Resampler,
    beats,
    clustered_rate,
    paired_difference,
    quantile,
    question_mean,
    repeats_needed,
    saving,
)
from chat.evaluation.projection import DAYS_PER_MONTH
from chat.evaluation.results import candidate, label
from chat.evaluation.summary import RunSummary
from chat.wording import N_, Worded, english, format_money

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

    def as_json(self) -> dict:
        rec = self.recommended
        return {"run_id": self.run_id, "recommended": None if rec is None else {"model": rec.model, "variant": rec.variant},
                "reason": reason(self), "scores_from": self.scores_from, "constraints": self.constraints.as_json(),
                "candidates": [{"model": c.model, "variant": c.variant, "meets": c.meets, "verdict": c.verdict(),
                                "frontier": c.frontier, "answered": c.answered,
                                "checks": [k.as_json() for k in c.checks],
                                "reasons": [check_text(k) for k in c.checks if k.verdict != "meets"],
                                "metrics": {k: f.as_json() for k, f in c.metrics.items()}} for c in self.candidates],
                "pairs": [{"a": p.a, "b": p.b, "p_a_better": p.p_a_better,
                           "repeats_to_separate": p.repeats_to_separate,
                           "add_questions": bool(p.power and p.power.more_questions)} for p in self.pairs]}


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


# ---- words --------------------------------------------------------------------------------------------------

def value_text(metric: str, v: float | None, word=english) -> str:
    if v is None:
        return "–"
    if metric.endswith("_usd"):
        return format_money(Decimal(repr(v)), word=word)
    if metric.endswith("_s"):
        return f"{v:,.2f} s"
    if metric.endswith("_rate"):
        return f"{v:.1%}" if 0 < v < 0.1 else f"{v:.0%}"
    return f"{v:.2f}"


def figure_parts(metric: str, f: Figure | None, word=english) -> tuple[str, str]:
    """The value, and its interval (or why it has none) for a second, smaller line."""
    if f is None or f.value is None:
        return (word("unpriced") if metric.endswith("_usd") else "–"), ""
    text = value_text(metric, f.value, word)
    if f.low is None:
        return text, word("only {n} answers: no interval", n=f.n) if f.few else ""
    if f.high is None:
        return text, word("at least {low}; too few answers for an upper bound", low=value_text(metric, f.low, word))
    low, high = value_text(metric, f.low, word), value_text(metric, f.high, word)
    return text, "" if low == high == text else f"{low}–{high}"  # a fixed price per answer varies not at all


def figure_text(metric: str, f: Figure | None, word=english) -> str:
    """'1.84 s (1.62–2.10)', or the value with why it has no interval, or what bound it has."""
    text, sub = figure_parts(metric, f, word)
    return f"{text} ({sub})" if sub else text


def metric_name(metric: str, word=english) -> str:
    return word(NAMES[metric]) if metric in NAMES else word("{c} score", c=word(metric.removeprefix("score_")))


def constraint_text(k: Check, word=english) -> str:
    """'latency p95 ≤ 3.00 s', with '(default)' for the failure bound nobody set."""
    sign = "≤" if k.bound == "max" else "≥"
    text = f"{metric_name(k.metric, word)} {sign} {value_text(k.metric, k.limit, word)}"
    return text + word(" (default)") if k.default else text


def check_text(k: Check, word=english) -> str:
    name = metric_name(k.metric, word)
    limit = value_text(k.metric, k.limit, word)
    if k.figure is None or k.figure.value is None:
        why = ("unpriced" if k.metric.endswith("_usd") else "no ratings" if k.metric.startswith(("score_", "acceptable"))
               else "no answers")
        return word("{name}: {why}, so it cannot be checked against {limit}", name=name, why=word(why), limit=limit)
    figure = figure_text(k.metric, k.figure, word)
    if k.verdict == "meets":
        return word("{name} {figure} meets {limit}", name=name, figure=figure, limit=limit)
    if k.verdict == "uncertain":
        return word("{name} {figure} is uncertain against {limit}", name=name, figure=figure, limit=limit)
    template = "{name} {figure} is over {limit} by {by}" if k.bound == "max" else "{name} {figure} is under {limit} by {by}"
    return word(template, name=name, figure=figure, limit=limit, by=value_text(k.metric, k.by, word))


def verdict_text(c: Candidate, word=english) -> str:
    """A candidate's verdict in a few words: meets every constraint, or which it misses, or is uncertain on."""
    if c.meets:
        return word("meets every constraint")
    if not c.answered:
        return word("misses: no successful answer")
    if c.misses:
        return word("misses: {names}", names=", ".join(metric_name(k.metric, word) for k in c.misses))
    return word("uncertain: {names}", names=", ".join(metric_name(k.metric, word) for k in c.uncertain))


def reason(d: Decision, word=english) -> str:
    """One sentence: who is recommended and why, against the runner-up; or why no one is, and what would tell."""
    rec = d.recommended
    if not d.candidates:
        return word("No answers yet: nothing to decide.")
    if rec is None:
        return _none_meets(d, word)
    others = [c for c in d.candidates if c is not rec]
    head = [word("{name}: meets all constraints", name=_named(rec, word)), _failing(rec, word)]
    if not others:
        return word("; ").join(p for p in [*head, word("it is the only candidate")] if p) + "."
    cheaper = _cheaper(d, rec)
    runner = runner_up(d)
    parts = [*head, _cost_clause(d, rec, runner, word), _quality_clause(d, rec, runner, word)]
    if len(cheaper) > 1:
        parts.append(word("{n} cheaper candidates do not meet every constraint", n=len(cheaper)))
    alike = _alike(d, rec, others)
    if alike is not None and len(others) > 1:
        parts.append(word("{n} of {m} other candidates cannot be told apart from it on quality", n=alike,
                          m=len(others)))
    return word("; ").join(p for p in parts if p) + "."


def _cheaper(d: Decision, rec: Candidate) -> list[Candidate]:
    return sorted((c for c in d.candidates if c is not rec and c.cost is not None and rec.cost is not None
                   and c.cost < rec.cost), key=lambda c: c.cost)


def runner_up(d: Decision) -> Candidate | None:
    """Whom the recommendation is set against: the cheapest cheaper candidate (why not it?), else the next ranked."""
    rec = d.recommended
    if rec is None:
        return None
    others = [c for c in d.candidates if c is not rec]
    return (_cheaper(d, rec) or others or [None])[0]


def _none_meets(d: Decision, word) -> str:
    best = d.candidates[0]
    if best.answered and not best.misses:
        return word("No candidate is shown to meet every constraint; the most likely is {label}, uncertain on {n}: "
                    "{what}; {settle}.", label=best.label, n=len(best.uncertain),
                    what=word("; ").join(check_text(k, word) for k in best.uncertain), settle=_settle(best, d, word))
    shown = list(best.misses[:2])
    failure = next((k for k in best.misses if k.metric == "failure_rate"), None)
    if failure is not None and failure not in shown:
        shown.append(failure)  # how often it fails is always said
    if not best.answered:
        return word("No candidate meets every constraint: none gave a successful answer.")
    return word("No candidate meets every constraint; the closest is {label}, which misses {n}: {miss}.",
                label=best.label, n=len(best.misses), miss=word("; ").join(check_text(k, word) for k in shown))


def _settle(c: Candidate, d: Decision, word) -> str:
    if any(k.figure is not None and k.figure.open_above for k in c.uncertain):
        return word("more answers would settle it (a p95 has an upper bound from 20 answers): more repeats, or more "
                    "questions")
    if any(k.figure is None or k.figure.value is None for k in c.uncertain):
        return word("a price or ratings would settle it")
    return word("more repeats, or more questions, would settle it")


def _cost_clause(d: Decision, rec: Candidate, runner: Candidate, word) -> str:
    other = runner.label
    if not runner.answered:
        return word("{other} gave no successful answer", other=other)
    tail = "" if runner.meets else _why_not(runner, word)
    if runner.cost is None:
        return word("{other} is unpriced", other=other) + tail
    s = saving(d.by_question(rec, "cost"), d.by_question(runner, "cost"))
    if s.value is None:
        return ""
    pct = lambda v: f"{v:.0%}"  # noqa: E731
    if abs(s.value) <= 0.005:
        return word("costs about the same as {other}", other=other) + tail
    sign = 1 if s.value > 0 else -1
    ends = None if s.low is None else sorted((pct(sign * s.low), pct(sign * s.high)), key=lambda t: float(t[:-1]))
    interval = "" if ends is None or ends[0] == ends[1] else f" ({ends[0]}–{ends[1]})"
    template = "{pct} cheaper{interval} than {other}" if sign > 0 else "{pct} dearer{interval} than {other}"
    return word(template, pct=pct(sign * s.value), interval=interval, other=other) + tail


def _why_not(c: Candidate, word) -> str:
    """Why a candidate is not the pick: its failures first, when it fails too often."""
    if c.misses:
        first = next((k for k in c.misses if k.metric == "failure_rate"), c.misses[0])
        return word(", which misses {miss}", miss=check_text(first, word))
    first = next((k for k in c.uncertain if k.metric == "failure_rate"), c.uncertain[0])
    return word(", which is uncertain: {what}", what=check_text(first, word))


def _failing(c: Candidate, word) -> str:
    """How often a candidate that passes the failure bound still fails, when its rate is above the bound: the default
    bound only rules out a rate whose whole interval is above it."""
    k = next((k for k in c.checks if k.metric == "failure_rate"), None)
    if k is None or k.figure is None or k.figure.value is None or k.figure.value <= k.limit:
        return ""
    return word("it fails {rate} of attempts, above the {limit} bound", rate=figure_text("failure_rate", k.figure, word),
                limit=value_text("failure_rate", k.limit, word))


def quality_gap(d: Decision, a: Candidate, b: Candidate) -> Figure | None:
    """A's mean score minus B's, paired by question; None when either has fewer than 5 rated answers."""
    if min(a.metrics["score_mean"].n, b.metrics["score_mean"].n) < MIN_ANSWERS:
        return None
    gap = paired_difference(d.by_question(a, "score"), d.by_question(b, "score"))
    return gap if gap.low is not None else None


def _quality_clause(d: Decision, rec: Candidate, runner: Candidate, word) -> str:
    other = runner.label
    if d.scores_from is None:
        return word("quality not compared (no ratings yet)")
    if not runner.metrics["score_mean"].n:
        return word("{other} has no rated answer to compare quality with", other=other)
    gap = quality_gap(d, rec, runner)
    if gap is None:
        return word("too few ratings to compare quality with {other} (at least 5 rated answers each)", other=other)
    if gap.low > 0:
        return word("quality better than {other} at 95%", other=other)
    if gap.high < 0:
        return word("quality worse than {other} at 95%", other=other)
    return word("quality indistinguishable from {other} at 95%", other=other)


def _alike(d: Decision, rec: Candidate, others: list[Candidate]) -> int | None:
    if d.scores_from is None:
        return None
    gaps = [quality_gap(d, rec, c) for c in others]
    return sum(g is not None and g.low <= 0 <= g.high for g in gaps)


def ratings_wanted(d: Decision, a: Candidate, b: Candidate) -> int:
    """How many more rated answers the thinner side needs before quality can be compared at all."""
    return max(0, MIN_ANSWERS - min(a.metrics["score_mean"].n, b.metrics["score_mean"].n))


def _named(c: Candidate, word=english) -> str:
    return word("{model} (variant {variant})", model=c.model, variant=c.variant) if c.variant else c.model


SHORT_METRICS = ("cost_per_1000_usd", "latency_p95_s", "failure_rate", "score_mean", "acceptable_rate")
FULL_METRICS = ("ttft_p95_s", "latency_p50_s", "latency_p95_s", "cost_per_question_usd", "failure_rate", "score_mean",
                "acceptable_rate", "consistency")


def _first_up(text: str) -> str:
    return text[:1].upper() + text[1:]


def _per_thousand(c: Candidate) -> Figure:
    f = c.metrics["cost_per_question_usd"]
    k = lambda v: None if v is None else v * 1000  # noqa: E731
    return Figure(k(f.value), k(f.low), k(f.high), f.n)


def _figure(c: Candidate, metric: str) -> Figure | None:
    return _per_thousand(c) if metric == "cost_per_1000_usd" else c.metrics.get(metric)


def shortlist_cells(d: Decision, word=english) -> tuple[list[str], list[list[tuple[str, str]]]]:
    """The shortlist a manager reads first, seven columns: candidate, verdict, cost per 1,000 questions, latency p95,
    failure rate, mean score, acceptable rate. Each cell is (value, its interval or why it has none)."""
    head = [word("Candidate"), word("Verdict"), *(_first_up(metric_name(m, word)) for m in SHORT_METRICS)]
    rows = []
    for c in d.candidates:
        rows.append([(c.label + (" ◆" if c.frontier else ""), ""), (verdict_text(c, word), ""),
                     *(figure_parts(m, _figure(c, m), word) for m in SHORT_METRICS)])
    return head, rows


def shortlist_table(d: Decision, word=english) -> tuple[list[str], list[list[str]]]:
    head, rows = shortlist_cells(d, word)
    return head, [[f"{a} ({b})" if b else a for a, b in row] for row in rows]


def full_table(d: Decision, word=english) -> tuple[list[str], list[list[str]]]:
    """Every figure of every candidate, with its interval."""
    head = ["#", word("Candidate"), *(_first_up(metric_name(m, word)) for m in FULL_METRICS),
            *(word("{c} score", c=word(c)) for c in d.criteria)]
    if d.constraints.per_day:
        head.append(word("Monthly at {n}/day", n=f"{d.constraints.per_day:,}"))
    rows = []
    for i, c in enumerate(d.candidates, 1):
        row = [str(i), c.label, *(figure_text(m, c.metrics.get(m), word) for m in FULL_METRICS),
               *(figure_text(f"score_{k}", c.metrics.get(f"score_{k}"), word) for k in d.criteria)]
        if d.constraints.per_day:
            row.append(figure_text("monthly_usd", c.metrics.get("monthly_usd"), word))
        rows.append(row)
    return head, rows


VERDICT_MARK = {"meets": "✓", "misses": "✗", "uncertain": "?"}


def checks_table(d: Decision, word=english) -> tuple[list[str], list[list[str]]]:
    """Each candidate against each constraint: the verdict (meets, misses, uncertain) and the figure it rests on."""
    if not d.candidates:
        return [word("Candidate")], []
    head = [word("Candidate"), *(constraint_text(k, word) for k in d.candidates[0].checks)]
    rows = [[c.label, *(f"{VERDICT_MARK[k.verdict]} {word(k.verdict)} · {figure_text(k.metric, k.figure, word)}"
                        for k in c.checks)] for c in d.candidates]
    return head, rows


def pairs_table(d: Decision, word=english) -> tuple[list[str], list[list[str]]]:
    head = ["A", "B", *(word(h) for h in ("P(A faster, latency p95)", "P(A cheaper)", "P(A better rated)",
                                          "Repeats to separate"))]
    rows = []
    for p in d.pairs:
        pct = lambda k: "–" if p.p_a_better.get(k) is None else f"{p.p_a_better[k]:.0%}"  # noqa: E731
        rows.append([p.a, p.b, pct("latency_p95_s"), pct("cost_per_question_usd"), pct("score_mean"),
                     power_text(p.power, d, word)])
    return head, rows


def power_text(power: Power | None, d: Decision, word=english) -> str:
    if power is None:
        return "–"
    if power.more_questions:
        questions = len({q for raw in d.raw.values() for q in raw.get("score", {})})
        return word("add questions: with {k} questions no number of repeats separates {margin} points",
                    k=questions, margin=f"{d.margin:g}")
    return word("{n} (margin {margin} points)", n=f"{power.repeats:,}", margin=f"{d.margin:g}")


SCORES_FROM = {"human": N_("Scores are people's ratings."),
               "judge": N_("Scores are the judge model's ratings (no person has rated this run yet)."),
               None: N_("No ratings yet: scores, the acceptable rate and quality constraints wait for them.")}


def scores_note(d: Decision, word=english) -> str:
    return word(SCORES_FROM[d.scores_from])


def cache_note(d: Decision, word=english) -> str:
    """Whose costs bill the FAQ as cached at the team's volume, and how often it will be found cached there."""
    if not d.cached or not d.constraints.per_day:
        return ""
    shares = word("; ").join(word("{label}: {day} of questions ({run} in this run)", label=name, day=f"{day:.0%}",
                                  run=f"{run:.0%}") for name, (run, day) in sorted(d.cached.items()))
    return word("Costs at {n} a day bill the FAQ as its vendor caches it, with the questions at random over "
                "9:00–18:00 and a 5-minute cache; the run asked them seconds apart, so it found the FAQ cached more "
                "often. Found cached: {shares}.", n=f"{d.constraints.per_day:,}", shares=shares)
