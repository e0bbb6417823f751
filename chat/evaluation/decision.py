"""From a run to a decision: each candidate's figures with 95% intervals, the team's constraints, a ranked
shortlist, the Pareto frontier of cost against quality, and one recommendation with its reason."""
from __future__ import annotations

import os
import statistics
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from chat.evaluation.intervals import Figure, Resampler, beats, effective_size, repeats_needed, wilson
from chat.evaluation.projection import DAYS_PER_MONTH
from chat.evaluation.results import candidate, label
from chat.wording import english, format_money

if TYPE_CHECKING:  # the report leads with a decision, and the summary writes the report
    from chat.evaluation.summary import RunSummary

REPLICATES = 2000
# what each figure is called, and whether less of it is better
LOWER_IS_BETTER = {"ttft_p50_s": True, "ttft_p95_s": True, "latency_p50_s": True, "latency_p95_s": True,
                   "cost_per_question_usd": True, "monthly_usd": True, "error_rate": True,
                   "score_mean": False, "acceptable_rate": False, "consistency": False}
NAMES = {"ttft_p50_s": "TTFT p50", "ttft_p95_s": "TTFT p95", "latency_p50_s": "latency p50",
         "latency_p95_s": "latency p95", "cost_per_question_usd": "cost per question", "monthly_usd": "monthly cost",
         "error_rate": "failure rate", "score_mean": "mean score", "acceptable_rate": "acceptable rate",
         "consistency": "consistency across repeats"}


class ConstraintError(ValueError):
    """A constraint cannot be applied as given; the message names it and what is allowed."""


@dataclass(frozen=True)
class Constraints:
    max_ttft_p95_s: float | None = None
    max_latency_p95_s: float | None = None
    min_score: dict = field(default_factory=dict)  # criterion -> the lowest mean score allowed
    min_acceptable: float | None = None  # 0..1: the share of rated answers that must be acceptable
    max_cost_per_question: Decimal | None = None
    per_day: int | None = None  # questions a day, for the monthly cost
    max_monthly: Decimal | None = None

    def checks(self) -> list[tuple[str, str, float]]:
        """(figure, 'max' | 'min', limit) for every constraint set."""
        out = []
        if self.max_ttft_p95_s is not None:
            out.append(("ttft_p95_s", "max", float(self.max_ttft_p95_s)))
        if self.max_latency_p95_s is not None:
            out.append(("latency_p95_s", "max", float(self.max_latency_p95_s)))
        for criterion, low in self.min_score.items():
            out.append((f"score_{criterion}", "min", float(low)))
        if self.min_acceptable is not None:
            out.append(("acceptable_rate", "min", float(self.min_acceptable)))
        if self.max_cost_per_question is not None:
            out.append(("cost_per_question_usd", "max", float(self.max_cost_per_question)))
        if self.max_monthly is not None:
            out.append(("monthly_usd", "max", float(self.max_monthly)))
        return out

    def as_json(self) -> dict:
        return {"max_ttft_p95_s": self.max_ttft_p95_s, "max_latency_p95_s": self.max_latency_p95_s,
                "min_score": dict(self.min_score), "min_acceptable": self.min_acceptable,
                "max_cost_per_question_usd": None if self.max_cost_per_question is None else float(self.max_cost_per_question),
                "per_day": self.per_day,
                "max_monthly_usd": None if self.max_monthly is None else float(self.max_monthly)}


@dataclass(frozen=True)
class Miss:
    """A constraint a candidate does not meet: its figure, the limit, and by how much (None: not measurable)."""

    metric: str
    bound: str  # max | min
    limit: float
    figure: Figure | None  # None or a None value: no answers, no ratings or no price to check it with

    @property
    def by(self) -> float | None:
        if self.figure is None or self.figure.value is None:
            return None
        return self.figure.value - self.limit if self.bound == "max" else self.limit - self.figure.value


@dataclass(frozen=True)
class Candidate:
    model: str
    variant: str | None
    metrics: dict[str, Figure]
    misses: tuple[Miss, ...] = ()
    frontier: bool = False  # no other candidate is both cheaper and better rated

    @property
    def label(self) -> str:
        return label(self.model, self.variant)

    @property
    def meets(self) -> bool:
        return not self.misses


@dataclass(frozen=True)
class Pair:
    """A paired comparison of two leading candidates: the chance A's figure is the better one, per figure."""

    a: str
    b: str
    p_a_better: dict[str, float | None]
    repeats_to_separate: int | None  # per question, for the mean score at the chosen margin


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

    @property
    def recommended(self) -> Candidate | None:
        return self.candidates[0] if self.candidates and self.candidates[0].meets else None

    def as_json(self) -> dict:
        rec = self.recommended
        return {"run_id": self.run_id, "recommended": None if rec is None else {"model": rec.model, "variant": rec.variant},
                "reason": reason(self), "scores_from": self.scores_from, "constraints": self.constraints.as_json(),
                "candidates": [{"model": c.model, "variant": c.variant, "meets": c.meets, "frontier": c.frontier,
                                "reasons": [miss_text(m) for m in c.misses],
                                "metrics": {k: f.as_json() for k, f in c.metrics.items()}} for c in self.candidates],
                "pairs": [{"a": p.a, "b": p.b, "p_a_better": p.p_a_better,
                           "repeats_to_separate": p.repeats_to_separate} for p in self.pairs]}


def _source(summary: RunSummary) -> str | None:
    kinds = {kind for s in summary.scores.values() for kind in s}
    return "human" if "human" in kinds else "judge" if "judge" in kinds else None


@dataclass(frozen=True)
class Measured:
    """A run's figures and bootstrap replicates, before any constraint: moving a constraint reuses them."""

    run_id: str
    answers: int  # the rows measured, so a view can tell when a run has grown since
    scores_from: str | None
    criteria: list[str]
    candidates: list[Candidate]
    replicated: dict  # (model, variant or '') -> {figure: replicate array}
    repeats: int
    ratings: int = 0  # scores measured, so a view can tell when someone has rated since

    def current(self, summary: RunSummary) -> bool:
        """Whether these figures are still the run's: no answer and no rating added since."""
        return (self.run_id, self.answers, self.ratings) == (summary.run.id, len(summary.rows), _ratings(summary))


def _ratings(summary: RunSummary) -> int:
    return sum(len(scores) for kinds in summary.scores.values() for scores in kinds.values())


def measure(summary: RunSummary, replicates: int = REPLICATES, seed: int = 20261201) -> Measured:
    """Every candidate's figures with their 95% intervals: the costly part of a decision (about 0.3 s for
    3,000 answers and 2,000 replicates on two cores; benchmarks/decision.py)."""
    criteria = [c.id for c in summary.rubric.criteria]
    source = _source(summary)
    questions = [q["id"] for q in summary.question_set.get("questions", [])] or sorted(
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
    built = [Candidate(key[0], key[1] or None, metrics) for key, (metrics, _) in zip(keys, figured)]
    return Measured(summary.run.id, len(summary.rows), source, criteria, built,
                    {key: reps for key, (_, reps) in zip(keys, figured)}, repeats, _ratings(summary))


def decide(run: RunSummary | Measured, constraints: Constraints = Constraints(), margin: float = 0.25,
           replicates: int = REPLICATES, seed: int = 20261201) -> Decision:
    """Every candidate's figures and intervals, checked against the constraints and ranked."""
    measured = run if isinstance(run, Measured) else measure(run, replicates, seed)
    criteria = measured.criteria
    unknown = [c for c in constraints.min_score if c not in criteria]
    if unknown:
        raise ConstraintError(f"no criterion {', '.join(map(repr, unknown))} in the rubric; it has {', '.join(criteria)}")
    if constraints.max_monthly is not None and not constraints.per_day:
        raise ConstraintError("a monthly limit needs the volume: say how many questions a day (--per-day N)")
    checks = constraints.checks()
    built = [_checked(_monthly(c, constraints.per_day), checks) for c in measured.candidates]
    ranked = sorted(_mark_frontier(built), key=_rank)
    pairs = _pairs(ranked[:3], measured.replicated, measured.repeats, margin)
    return Decision(measured.run_id, constraints, measured.scores_from, criteria, ranked, pairs, margin,
                    measured.repeats)


def _monthly(c: Candidate, per_day: int | None) -> Candidate:
    if not per_day:
        return c
    f, month = c.metrics["cost_per_question_usd"], per_day * DAYS_PER_MONTH
    scale = lambda v: None if v is None else v * month  # noqa: E731
    return Candidate(c.model, c.variant, {**c.metrics, "monthly_usd": Figure(scale(f.value), scale(f.low),
                                                                             scale(f.high), f.n)})


def _by_question(rows, value) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for r in rows:
        v = value(r)
        if v is not None:
            out.setdefault(r.question_id or "", []).append(float(v))
    return out


def _figures(rows, summary: RunSummary, source, criteria, sampler: Resampler, similarity, key):
    ok = [r for r in rows if r.status == "ok"]
    seconds = lambda attr: _by_question(ok, lambda r: None if getattr(r, attr) is None else getattr(r, attr) / 1000)  # noqa: E731
    failed = _by_question(rows, lambda r: float(r.status != "ok"))
    m: dict[str, Figure] = {"error_rate": wilson(len(rows) - len(ok), len(rows), effective_size(sampler, failed))}
    reps = {}
    for name, attr in (("ttft", "ttft_ms"), ("latency", "latency_ms")):
        (m[f"{name}_p50_s"], m[f"{name}_p95_s"]), (_, reps[f"{name}_p95_s"]) = sampler.percentiles(
            seconds(attr), (0.5, 0.95))
    priced = ok and all(r.cost_usd is not None for r in ok)
    if priced:
        cost = _by_question(ok, lambda r: Decimal(r.cost_usd))
        m["cost_per_question_usd"], reps["cost_per_question_usd"] = sampler.mean(cost)
    else:
        m["cost_per_question_usd"] = Figure(None, n=len(ok))
    scored = [(r, summary.scores.get(r.id, {}).get(source)) for r in ok] if source else []
    scored = [(r, s) for r, s in scored if s]
    for c in criteria:
        by_q = _by_question([r for r, s in scored if c in s], lambda r, c=c: summary.scores[r.id][source][c])
        m[f"score_{c}"], _ = sampler.mean(by_q)
    answer_means = {r.id: statistics.fmean(s.values()) for r, s in scored}
    overall = _by_question([r for r, _ in scored], lambda r: answer_means[r.id])
    m["score_mean"], reps["score_mean"] = sampler.mean(overall)
    bar = summary.rubric.acceptable
    hits = _by_question([r for r, _ in scored], lambda r: float(answer_means[r.id] >= bar))
    m["acceptable_rate"] = wilson(sum(v >= bar for v in answer_means.values()), len(answer_means),
                                  effective_size(sampler, hits))
    by_q = {q: [s] for (model, variant, q), s in similarity.items() if (model, variant) == key and s is not None}
    m["consistency"] = sampler.mean(by_q)[0] if len(by_q) >= 5 else Figure(
        statistics.fmean([v[0] for v in by_q.values()]) if by_q else None, n=len(by_q))
    return m, reps


def _checked(c: Candidate, checks) -> Candidate:
    misses = []
    for metric, bound, limit in checks:
        f = c.metrics.get(metric)
        if f is None or f.value is None:
            misses.append(Miss(metric, bound, limit, f))
        elif (bound == "max" and f.value > limit) or (bound == "min" and f.value < limit):
            misses.append(Miss(metric, bound, limit, f))
    return Candidate(c.model, c.variant, c.metrics, tuple(misses))


def _mark_frontier(cands: list[Candidate]) -> list[Candidate]:
    points = {c.label: (c.metrics["cost_per_question_usd"].value, c.metrics["score_mean"].value) for c in cands}
    out = []
    for c in cands:
        cost, score = points[c.label]
        on = cost is not None and score is not None and not any(
            oc is not None and os_ is not None and oc <= cost and os_ >= score and (oc < cost or os_ > score)
            for name, (oc, os_) in points.items() if name != c.label)
        out.append(Candidate(c.model, c.variant, c.metrics, c.misses, on))
    return out


def _rank(c: Candidate):
    cost = c.metrics["cost_per_question_usd"].value
    score = c.metrics["score_mean"].value
    # the cheapest candidate that is good enough: meeting every constraint first, then by cost, then quality
    return (len(c.misses), cost is None, cost if cost is not None else 0.0, -(score or 0.0), c.label)


def _pairs(leaders: list[Candidate], replicated, repeats: int, margin: float) -> list[Pair]:
    out = []
    for i, a in enumerate(leaders):
        for b in leaders[i + 1:]:
            ra, rb = replicated[(a.model, a.variant or "")], replicated[(b.model, b.variant or "")]
            probs = {metric: beats(ra.get(metric), rb.get(metric), LOWER_IS_BETTER[metric]) for metric in ra}
            out.append(Pair(a.label, b.label, probs,
                            repeats_needed(ra.get("score_mean"), rb.get("score_mean"), repeats, margin)))
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
        return f"{v:.0%}"
    return f"{v:.2f}"


def figure_text(metric: str, f: Figure | None, word=english) -> str:
    """'1.84 s (1.62–2.10)', or the value with how few answers it rests on."""
    if f is None or f.value is None:
        return word("unpriced") if metric.endswith("_usd") else "–"
    text = value_text(metric, f.value, word)
    if f.low is None:
        return word("{value} (only {n} answers: no interval)", value=text, n=f.n) if f.few else text
    return f"{text} ({value_text(metric, f.low, word)}–{value_text(metric, f.high, word)})"


def metric_name(metric: str, word=english) -> str:
    return word(NAMES[metric]) if metric in NAMES else word("{c} score", c=word(metric.removeprefix("score_")))


def miss_text(m: Miss, word=english) -> str:
    name = metric_name(m.metric, word)
    if m.figure is None or m.figure.value is None:
        why = ("unpriced" if m.metric.endswith("_usd") else "no ratings" if m.metric.startswith(("score_", "acceptable"))
               else "no answers")
        return word("{name}: {why}, so it cannot be checked against {limit}", name=name, why=word(why),
                    limit=value_text(m.metric, m.limit, word))
    template = "{name} {figure} is over {limit} by {by}" if m.bound == "max" else "{name} {figure} is under {limit} by {by}"
    return word(template, name=name, figure=figure_text(m.metric, m.figure, word),
                limit=value_text(m.metric, m.limit, word), by=value_text(m.metric, m.by, word))


def reason(d: Decision, word=english) -> str:
    """One sentence: who is recommended and why, against the runner-up."""
    rec = d.recommended
    if rec is None:
        if not d.candidates:
            return word("No answers yet: nothing to decide.")
        best = d.candidates[0]
        return word("No candidate meets every constraint; the closest is {label}, which misses {n}: {miss}.",
                    label=best.label, n=len(best.misses), miss=miss_text(best.misses[0], word))
    others = [c for c in d.candidates if c is not rec]
    if not others:
        return word("{name}: meets all constraints; it is the only candidate.", name=_named(rec, word))
    runner = others[0]
    parts = [word("{name}: meets all constraints", name=_named(rec, word))]
    a, b = rec.metrics["cost_per_question_usd"].value, runner.metrics["cost_per_question_usd"].value
    if a is not None and b:
        change = (b - a) / b
        if change > 0.005:
            parts.append(word("{pct} cheaper than {other}", pct=f"{change:.0%}", other=runner.label))
        elif change >= -0.005:
            parts.append(word("costs about the same as {other}", other=runner.label))
        else:
            parts.append(word("{pct} dearer than {other}", pct=f"{-change:.0%}", other=runner.label) + (
                "" if runner.meets else word(", which misses {miss}", miss=miss_text(runner.misses[0], word))))
    pair = next((p for p in d.pairs if {p.a, p.b} == {rec.label, runner.label}), None)
    p = None if pair is None else pair.p_a_better.get("score_mean")
    if p is not None and pair.a != rec.label:
        p = 1 - p
    if d.scores_from is None or p is None:
        parts.append(word("quality not compared (no ratings yet)"))
    elif 0.025 < p < 0.975:
        parts.append(word("quality indistinguishable from it at 95%"))
    else:
        parts.append(word("quality better than it at 95%" if p >= 0.975 else "quality worse than it at 95%"))
    return word("; ").join(parts) + "."


def _named(c: Candidate, word=english) -> str:
    return word("{model} (variant {variant})", model=c.model, variant=c.variant) if c.variant else c.model


KEY_METRICS = ("ttft_p95_s", "latency_p95_s", "cost_per_question_usd", "score_mean", "acceptable_rate", "consistency")


def _first_up(text: str) -> str:
    return text[:1].upper() + text[1:]


def shortlist_table(d: Decision, word=english) -> tuple[list[str], list[list[str]]]:
    """The ranked shortlist: each candidate, whether it meets every constraint (or what it misses), key figures."""
    head = ["#", word("Model"), word("Meets constraints"), *(_first_up(metric_name(m, word)) for m in KEY_METRICS),
            *(word("{c} score", c=word(c)) for c in d.criteria)]
    if d.constraints.per_day:
        head.append(word("Monthly at {n}/day", n=f"{d.constraints.per_day:,}"))
    rows = []
    for i, c in enumerate(d.candidates, 1):
        row = [str(i), c.label + (" ◆" if c.frontier else ""),
               word("yes") if c.meets else word("no: {misses}", misses="; ".join(miss_text(m, word) for m in c.misses)),
               *(figure_text(m, c.metrics.get(m), word) for m in KEY_METRICS),
               *(figure_text(f"score_{k}", c.metrics.get(f"score_{k}"), word) for k in d.criteria)]
        if d.constraints.per_day:
            row.append(figure_text("monthly_usd", c.metrics.get("monthly_usd"), word))
        rows.append(row)
    return head, rows


def pairs_table(d: Decision, word=english) -> tuple[list[str], list[list[str]]]:
    head = ["A", "B", *(word(h) for h in ("P(A faster, latency p95)", "P(A cheaper)", "P(A better rated)",
                                          "Repeats to separate"))]
    rows = []
    for p in d.pairs:
        pct = lambda k: "–" if p.p_a_better.get(k) is None else f"{p.p_a_better[k]:.0%}"  # noqa: E731
        need = "–" if p.repeats_to_separate is None else word("{n} (margin {margin} points)",
                                                               n=f"{p.repeats_to_separate:,}", margin=f"{d.margin:g}")
        rows.append([p.a, p.b, pct("latency_p95_s"), pct("cost_per_question_usd"), pct("score_mean"), need])
    return head, rows


def scores_note(d: Decision, word=english) -> str:
    return word({"human": "Scores are people's ratings.", "judge": "Scores are the judge model's ratings (no person has "
                 "rated this run yet)."}.get(d.scores_from, "No ratings yet: scores, the acceptable rate and quality "
                                                           "constraints wait for them."))
