"""The decision in words: each figure with its interval, each check's verdict, the one sentence a team repeats to its
managers (claiming only what the intervals support), and the tables the app, the CLI and the report show."""
from __future__ import annotations

from decimal import Decimal

from chat.evaluation.decision import NAMES, Candidate, Check, Decision
from chat.evaluation.intervals import MIN_ANSWERS, Figure, Power, paired_difference, saving
from chat.wording import N_, english, format_money


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


def decision_json(d: Decision) -> dict:
    """The decision as the command line's --json prints it: its figures, checks, verdicts and sentences."""
    rec = d.recommended
    return {"run_id": d.run_id, "recommended": None if rec is None else {"model": rec.model, "variant": rec.variant},
            "reason": reason(d), "scores_from": d.scores_from, "constraints": d.constraints.as_json(),
            "candidates": [{"model": c.model, "variant": c.variant, "meets": c.meets, "verdict": c.verdict(),
                            "frontier": c.frontier, "answered": c.answered,
                            "checks": [k.as_json() for k in c.checks],
                            "reasons": [check_text(k) for k in c.checks if k.verdict != "meets"],
                            "metrics": {k: f.as_json() for k, f in c.metrics.items()}} for c in d.candidates],
            "pairs": [{"a": p.a, "b": p.b, "p_a_better": p.p_a_better,
                       "repeats_to_separate": p.repeats_to_separate,
                       "add_questions": bool(p.power and p.power.more_questions)} for p in d.pairs]}
