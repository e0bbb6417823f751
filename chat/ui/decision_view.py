"""The Runs tab's decision view: the team's constraints in, a ranked shortlist, the frontier and a recommendation out."""
from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

import gradio as gr
import pandas as pd

from chat.engine import Engine
from chat.evaluation.decision import DEFAULT_MAX_FAILURE_RATE, ConstraintError, Constraints, Measured, decide, measure
from chat.evaluation.decision_words import (
    VERDICT_MARK,
    cache_note,
    checks_table,
    constraint_text,
    figure_text,
    pairs_table,
    ratings_wanted,
    reason,
    runner_up,
    scores_note,
    shortlist_table,
)
from chat.evaluation.projection import MAX_PER_DAY
from chat.evaluation.ratings import DEFAULT_RUBRIC, Rubric
from chat.evaluation.runs import RunError
from chat.evaluation.summary import summarize
from chat.ui.access import Access, scope
from chat.ui.components import CheckedNumber
from chat.ui.i18n import LANGS, error, language, say, t, translate, words
from chat.ui.newest import newest
from chat.ui.untrusted import plain
from chat.wording import currency

LATENCY_BANDS = ((1.0, "p95 under 1 s"), (3.0, "p95 1–3 s"), (10.0, "p95 3–10 s"), (math.inf, "p95 10 s or more"))


def _number(value, what: str, low: float = 0, high: float = math.inf, word=words("en")) -> float | None:
    """A constraint box: empty is no constraint; anything else a number in range, else one line saying so."""
    what = word(what)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        value = value.strip().removeprefix("$").removesuffix("%").strip()
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise error(word("{what} must be a number, got {value}", what=what, value=repr(str(value)[:30])), word.lang) from None
    if not math.isfinite(number) or not low <= number <= high:
        raise error(word("{what} must be from {low} to {high}, got {value}", what=what, low=f"{low:g}",
                         high=f"{high:g}", value=f"{number:g}"), word.lang)
    return number


WON_UNITS = tuple(sorted({translate("won", lang) for lang in LANGS}))  # the won as each language writes it


def _usd(value, what: str, word) -> Decimal | None:
    """An amount in dollars ('0.002', '$0.002'), or in won when won are shown (CHAT_CURRENCY=KRW): '₩3', or 3 and
    the won as the reader's language writes it."""
    text = value.strip() if isinstance(value, str) else None
    unit = next((u for u in WON_UNITS if text and text.endswith(u)), "")
    if text and (text.startswith("₩") or unit):
        rate = currency().rate
        if currency().code != "KRW":
            raise error(word("{what} in won needs CHAT_CURRENCY=KRW and CHAT_USD_RATE; or type dollars, e.g. 0.002",
                             what=word(what)), word.lang)
        won = _number(text.removeprefix("₩").removesuffix(unit).replace(",", ""), what, 0, 10_000_000_000, word)
        return None if won is None else Decimal(repr(won)) / rate
    number = _number(value, what, 0, 1_000_000, word)
    try:
        return None if number is None else Decimal(repr(number))
    except InvalidOperation:
        raise error(word("{what} must be an amount in USD", what=word(what)), word.lang) from None


def constraints_from(max_ttft, max_latency, min_acceptable_pct, max_cost, per_day, max_monthly, min_scores,
                     rubric: Rubric, request: gr.Request | None = None, max_failure_pct=None) -> Constraints:
    """The constraint boxes read: each empty one is no constraint; a bad one is one line in the reader's words."""
    word = words(language(request))
    scale_high = 5 if rubric.scale == "1-5" else 1
    scores = {c.id: v for c, raw in zip(rubric.criteria, min_scores)
              if (v := _number(raw, word("lowest {c} score", c=word(c.id)), 0, scale_high, word)) is not None}
    acceptable = _number(min_acceptable_pct, "lowest acceptable rate (%)", 0, 100, word)
    failure = _number(max_failure_pct, "highest failure rate (%)", 0, 100, word)
    volume = _number(per_day, "questions a day", 1, MAX_PER_DAY, word)
    if volume is not None and volume != int(volume):
        raise error(word("questions a day must be a whole number"), word.lang)
    return Constraints(_number(max_ttft, "slowest TTFT p95 (s)", 0, 3600, word),
                       _number(max_latency, "slowest latency p95 (s)", 0, 3600, word), scores,
                       None if acceptable is None else acceptable / 100,
                       _usd(max_cost, "highest cost per question", word), None if volume is None else int(volume),
                       _usd(max_monthly, "highest monthly cost", word),
                       None if failure is None else failure / 100)


def _band(seconds: float | None, word) -> str:
    if seconds is None:
        return word("latency unknown")
    return word(next(name for limit, name in LATENCY_BANDS if seconds < limit))


def show_decision(engine: Engine, access: Access, run_id: str, cached: Measured | None, max_ttft, max_latency,
                  min_acceptable_pct, max_cost, per_day, max_monthly, max_failure_pct=None, request: gr.Request = None,
                  *min_scores, rubric: Rubric = DEFAULT_RUBRIC):
    """The recommendation, the shortlist, the cost-quality frontier and the paired comparisons; the measured
    figures are kept so that moving a constraint only re-checks them (Gradio passes the request only to a
    positional parameter, so it comes before the per-criterion scores)."""
    return newest("decision", request, lambda: _decision(
        engine, access, run_id, cached, max_ttft, max_latency, min_acceptable_pct, max_cost, per_day, max_monthly,
        max_failure_pct, request, *min_scores, rubric=rubric))


def _decision(engine: Engine, access: Access, run_id: str, cached: Measured | None, max_ttft, max_latency,
              min_acceptable_pct, max_cost, per_day, max_monthly, max_failure_pct=None, request: gr.Request = None,
              *min_scores, rubric: Rubric = DEFAULT_RUBRIC):
    empty = pd.DataFrame()
    if not run_id:
        return say("Pick a run to decide on.", language(request)), empty, empty, gr.update(value=None), empty, None
    constraints = constraints_from(max_ttft, max_latency, min_acceptable_pct, max_cost, per_day, max_monthly,
                                   min_scores, rubric, request, max_failure_pct)
    lang = language(request)
    word = words(lang)
    try:
        s = summarize(engine.store, run_id, rubric, scope(access, request))
    except RunError as exc:
        raise error(exc.worded(words(lang)), lang) from None
    if not isinstance(cached, Measured) or not cached.current(s):
        cached = measure(s)
    try:
        d = decide(cached, constraints)
    except ConstraintError as exc:
        raise error(exc.worded(words(lang)), lang) from None
    frontier = [c.label for c in d.candidates if c.frontier]
    plot = _chart(d, word)
    text = "\n\n".join([f"### {plain(reason(d, word))}", _checks_md(d, word), _wait_md(d, word), plain(cache_note(d, word)),
                         plain(scores_note(d, word)) + " " + word(
                             "Intervals are 95%, with the question as the unit. ◆ marks the "
                             "cost–quality frontier") + (f": {plain(', '.join(frontier))}."
                                                         if frontier else ".")])
    head, rows = shortlist_table(d, word)
    check_head, check_rows = checks_table(d, word)
    pair_head, pair_rows = pairs_table(d, word)
    plot = gr.update(value=plot if len(plot) else None, x_title=word("cost per question (USD)"), y_title=word("mean score"),
                     color_title=word("Verdict"), color_map=_colours(word), x_lim=[_left(d), _right(d)],
                     y_lim=[-0.3, 5.3] if rubric.scale == "1-5" else [-0.06, 1.06])  # a point at 0 is drawn whole
    return (text, pd.DataFrame(rows, columns=head), pd.DataFrame(check_rows, columns=check_head), plot,
            pd.DataFrame(pair_rows, columns=pair_head), cached)


OFF_CHART = -1.0
CHART_COLOURS = {"recommended": "#2b6b2b", "meets": "#59a14f", "uncertain": "#edc948", "misses": "#e15759"}


def _left(d) -> float:
    """0, or a little below when an unpriced candidate sits at $0, so its point is drawn whole."""
    return -0.03 * _right(d) if any(c.cost is None for c in d.candidates) else 0.0


def _right(d) -> float:
    """The cost axis reaches past the dearest candidate, so no point sits on the edge."""
    return max((c.cost or 0.0 for c in d.candidates), default=0.0) * 1.15 or 1e-6


def _colours(word) -> dict[str, str]:
    return {word(k): v for k, v in CHART_COLOURS.items()}


def _chart(d, word) -> pd.DataFrame:
    """Every candidate a point, the recommended one in its own colour. One with no price sits at $0 and one with no
    rating at 0, each saying so, rather than vanishing from the chart."""
    rec = d.recommended
    rows = []
    for c in d.candidates:
        cost, score = c.cost, c.metrics["score_mean"].value
        missing = [word("unpriced")] * (cost is None) + [word("no ratings")] * (score is None)
        rows.append({"model": c.label, "cost_usd": cost or 0.0, "score": score or 0.0,
                     "verdict": word("recommended" if c is rec else c.verdict()),
                     "latency": _band(c.metrics["latency_p95_s"].value, word),
                     "frontier": word("yes") if c.frontier else word("no"), "note": ", ".join(missing) or "–"})
    # Gradio builds the colour scale from the first data it is given and later only swaps the data: a verdict it
    # did not see then is drawn with no colour, invisible (how a candidate once vanished from this chart). A point
    # for every verdict below both axes (clipped away, never seen) keeps them all in the scale.
    rows += [{"model": "", "cost_usd": OFF_CHART, "score": OFF_CHART, "verdict": word(k), "latency": "",
              "frontier": "", "note": ""} for k in CHART_COLOURS]
    return pd.DataFrame(rows, columns=["model", "cost_usd", "score", "verdict", "latency", "frontier", "note"])


def _checks_md(d, word) -> str:
    """The leading candidate's constraints, each with its verdict and the figure it rests on."""
    if not d.candidates:
        return ""
    lead = d.candidates[0]
    lines = [f"- {VERDICT_MARK[k.verdict]} {plain(constraint_text(k, word))}: "
             f"**{word(k.verdict)}** · {plain(figure_text(k.metric, k.figure, word))}"
             for k in lead.checks]
    return word("Constraints, checked for {label}:", label=plain(lead.label)) + "\n\n" + "\n".join(lines)


def _wait_md(d, word) -> str:
    rec, runner = d.recommended, runner_up(d)
    if rec is None or runner is None or d.scores_from is None or not runner.metrics["score_mean"].n:
        return ""
    more = ratings_wanted(d, rec, runner)
    if not more:
        return ""
    return word("To compare quality, rate at least {n} more answers of the thinner side ({a} has {na}, {b} has {nb}).",
                n=more, a=plain(rec.label), na=rec.metrics["score_mean"].n,
                b=plain(runner.label), nb=runner.metrics["score_mean"].n)


def _box(label, elem_id: str, example: str) -> gr.Textbox:
    return gr.Textbox(label=label, elem_id=elem_id, placeholder=t("none (e.g. {n})", n=example), max_lines=1)


def build(engine: Engine, access: Access, picker: gr.Dropdown, rubric: Rubric = DEFAULT_RUBRIC):
    """The decision view's components and wiring. Returns its handler with its inputs and outputs (the tab
    refreshes it after a run or a rating), the constraint boxes (the export writes the report under them) and
    the questions-a-day box (the tab's projection uses the same volume)."""
    with gr.Accordion(t("Decide: your constraints, the shortlist and the recommendation"), open=True):
        with gr.Row():
            # text boxes, not number boxes: an empty box is no constraint, where a number box would send 0
            max_ttft = _box(t("Slowest TTFT p95 (s)"), "decide-max-ttft", "1.5")
            max_latency = _box(t("Slowest latency p95 (s)"), "decide-max-latency", "3")
            min_acceptable = _box(t("Lowest acceptable rate (%)"), "decide-min-acceptable", "90")
            max_cost = _box(t("Highest cost per question (USD, or ₩ when won are shown)"), "decide-max-cost",
                            "0.002")
        with gr.Row():
            per_day = CheckedNumber(value=1000, minimum=1, maximum=MAX_PER_DAY, precision=0, elem_id="run-per-day",
                                    label=t("Questions a day (monthly cost, projection and break-even)"))
            max_monthly = _box(t("Highest monthly cost (USD, or ₩ when won are shown)"), "decide-max-monthly",
                               "50")
            max_failure = gr.Textbox(label=t("Highest failure rate (%)"), elem_id="decide-max-failure", max_lines=1,
                                     placeholder=t("none (default {n})", n=f"{DEFAULT_MAX_FAILURE_RATE * 100:g}"))
            min_scores = [_box(t("Lowest {criterion} score", criterion=c.id), f"decide-min-{c.id}", "4")
                          for c in rubric.criteria]
        verdict = gr.Markdown(elem_id="decide-verdict")
        shortlist = gr.Dataframe(label=t("Shortlist (meets every constraint first, cheapest first; 95% intervals)"),
                                 interactive=False, elem_id="decide-shortlist", wrap=True)
        checks = gr.Dataframe(label=t("Every candidate against every constraint (✓ meets, ✗ misses, ? uncertain)"),
                              interactive=False, elem_id="decide-checks", wrap=True)
        pareto = gr.ScatterPlot(x="cost_usd", y="score", color="verdict", label=t("Cost against quality (colour: verdict)"),
                                elem_id="decide-pareto", tooltip="all", x_lim=[0, None])
        pairs = gr.Dataframe(label=t("Leading candidates compared, paired by question"), interactive=False,
                             elem_id="decide-pairs")
    cached = gr.State(None)
    inputs = [picker, cached, max_ttft, max_latency, min_acceptable, max_cost, per_day, max_monthly, max_failure,
              *min_scores]
    outputs = [verdict, shortlist, checks, pareto, pairs, cached]
    handler = bind_decision(engine, access, rubric)
    for box in inputs[2:]:
        box.submit(handler, inputs, outputs, api_name=False)
        box.blur(handler, inputs, outputs, api_name=False)
    return (handler, inputs, outputs, [max_ttft, max_latency, min_acceptable, max_cost, max_monthly, max_failure,
                                       *min_scores], per_day)


def bind_decision(engine: Engine, access: Access, rubric: Rubric):
    from chat.ui.bind import bind

    return bind(show_decision, engine, access, rubric=rubric)
