"""Run report: a CSV of results and a self-contained HTML page (tables and inline SVG charts, no network)."""
from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Literal

from chat.engine.pricing import PriceTable, costs_elsewhere
from chat.engine.token_ratios import TokenRatios, run_costs_elsewhere
from chat.engine.usage import Usage
from chat.evaluation import spreadsheet
from chat.evaluation.answers import CSS as ANSWERS_CSS
from chat.evaluation.answers import answers_html
from chat.evaluation.decision import Decision
from chat.evaluation.decision_words import (
    VERDICT_MARK,
    cache_note,
    checks_table,
    constraint_text,
    figure_text,
    full_table,
    pairs_table,
    reason,
    scores_note,
    shortlist_cells,
)
from chat.evaluation.estimate import beside_actual
from chat.evaluation.meter_text import ratio_text
from chat.evaluation.projection import Projection, project
from chat.evaluation.questionsets import Question
from chat.evaluation.ratings import RatingStats
from chat.evaluation.results import ModelStats, QuestionStats, candidates, label
from chat.storage.rows import Exchange, Run
from chat.wording import english, format_money, format_usd, rate_note

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7"]
# what people decide on first (cost, then the slow end of latency) comes before the detail, so a 1280 px page
# shows it without scrolling sideways
MODEL_COLUMNS = [
    ("model", "Model"), ("cells", "Answers"), ("error_rate", "Error rate"), ("cost_per_question", "Cost / question"),
    ("cost_per_1000", "Cost / 1,000 questions"), ("ttft_p95_ms", "TTFT p95 ms"), ("latency_p95_ms", "Latency p95 ms"),
    ("ttft_p50_ms", "TTFT p50 ms"), ("latency_p50_ms", "Latency p50 ms"), ("tokens_per_s", "Tokens/s"),
    ("ttft_mean_ms", "TTFT mean ms"), ("latency_mean_ms", "Latency mean ms"),
    ("mean_output_tokens", "Mean output tokens"), ("estimated_share", "Tokens estimated"),
]


def _cell(key, value, word=english) -> str:
    if value is None:
        return word("unpriced") if key.startswith("cost") else "–"
    if isinstance(value, Decimal):
        return format_money(value, word=word)
    if key in ("error_rate", "estimated_share"):
        return f"{value:.0%}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def model_table(stats: list[ModelStats], word=english) -> tuple[list[str], list[list[str]]]:
    return [word(h) for _, h in MODEL_COLUMNS], [[s.label, *(_cell(k, getattr(s, k), word) for k, _ in MODEL_COLUMNS[1:])]
                                                 for s in stats]


def question_table(stats: list[QuestionStats], word=english) -> tuple[list[str], list[list[str]]]:
    head = [word(h) for h in ("Model", "Question", "Answers", "Mean length (chars)", "Length spread (CV)",
                              "Latency stdev ms", "Similarity")]
    rows = [[s.label, s.question_id, str(s.n), f"{s.mean_chars:,.0f}", _cell("cv", s.chars_cv),
             _cell("lat", s.latency_stdev_ms), "–" if s.similarity is None else f"{s.similarity:.2f}"] for s in stats]
    return head, rows


def rating_table(stats: list[RatingStats], criteria: list[str], word=english) -> tuple[list[str], list[list[str]]]:
    head = [word("Model"), word("Rated by"), word("Answers rated"), *(word(c) for c in criteria), word("Acceptable"),
            word("Cost / acceptable answer")]
    rows = [[s.label, word(s.kind), str(s.rated),
             *[f"{s.means[c]:.2f}" if c in s.means else "–" for c in criteria],
             # none acceptable has no cost per acceptable answer, priced or not: not the same as unpriced
             str(s.acceptable), word("no acceptable answer") if not s.acceptable else
             _cell("cost", s.cost_per_acceptable, word)]
            for s in stats]
    return head, rows


def elsewhere_table(rows: list[dict], prices: PriceTable, word=english,
                    ratios: TokenRatios | None = None) -> tuple[list[str], list[list[str]]]:
    """What the run's answers would have cost on each priced model. With the ratios, each model's tokens are
    translated into the other's (learned from its answers, or its family's prior); without, counted as they are."""
    ok = [r for r in rows if r.status == "ok"]
    if ratios is None:
        usage = sum((Usage.of_row(r) for r in ok), Usage())
        return [word("Model"), word("Approx. cost of this run's tokens")], [
            [m, "≈" + format_money(c.total, word=word)] for m, c in costs_elsewhere(usage, prices)]
    return [word("Model"), word("Approx. cost of this run's text"), word("Its tokens")], [
        [e.model, "≈" + format_money(e.cost.total, word=word), ratio_text(e.ratio, word)]
        for e in run_costs_elsewhere(ratios, ok)]



def to_csv(stats: list[ModelStats]) -> str:
    buf = io.StringIO()
    writer = spreadsheet.writer(buf)
    writer.writerow(["model", "variant", *(k for k, _ in MODEL_COLUMNS[1:])])
    for s in stats:
        writer.writerow([s.model, s.variant or "", *("" if getattr(s, k) is None else str(getattr(s, k))
                                                     for k, _ in MODEL_COLUMNS[1:])])
    return buf.getvalue()


def _table(head, rows) -> str:
    """A table that becomes one card per row on a phone: each cell carries its column's name."""
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td data-label=\"{html.escape(h)}\">{html.escape(c)}</td>"
                                    for h, c in zip(head, row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _axes(w, h, pad, xlabel, ylabel) -> str:
    return (f'<line x1="{pad}" y1="{h - pad}" x2="{w - 10}" y2="{h - pad}" stroke="#333"/>'
            f'<line x1="{pad}" y1="10" x2="{pad}" y2="{h - pad}" stroke="#333"/>'
            f'<text x="{w / 2}" y="{h - 8}" text-anchor="middle">{html.escape(xlabel)}</text>'
            f'<text x="14" y="{h / 2}" transform="rotate(-90 14 {h / 2})" text-anchor="middle">{html.escape(ylabel)}</text>')


def _svg(w: int, h: int, label: str) -> str:
    """An SVG chart's opening tag, named for a screen reader in the reader's language."""
    return f'<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{html.escape(label)}">'


def scatter_svg(stats: list[ModelStats], word=english) -> str:
    pts = [(s.label, s.latency_p50_ms, float(s.cost_per_question)) for s in stats
           if s.latency_p50_ms is not None and s.cost_per_question is not None]
    w, h, pad = 640, 360, 60
    if not pts:
        return f"<p>{word('No priced, successful answers to plot.')}</p>"
    xmax = max(p[1] for p in pts) * 1.15 or 1
    ymax = max(p[2] for p in pts) * 1.15 or 1
    parts = []
    for i, (name, x_val, y_val) in enumerate(pts):
        x = pad + x_val / xmax * (w - pad - 20)
        y = h - pad - y_val / ymax * (h - pad - 20)
        # labels near the right edge go on the left of their dot so they stay inside the chart
        anchor, dx = ("end", -10) if x > w * 0.65 else ("start", 10)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="7" fill="{PALETTE[i % len(PALETTE)]}"><title>{html.escape(name)}'
                     f'</title></circle><text x="{x + dx:.1f}" y="{y + 4:.1f}" text-anchor="{anchor}">{html.escape(name)}</text>')
    dots = "".join(parts)
    axes = _axes(w, h, pad, word("median latency (ms) → up to {top}", top=f"{xmax:,.0f}"), word("cost per question (USD)"))
    return _svg(w, h, word("latency against cost")) + f'{axes}{dots}</svg>'


def bars_svg(stats: list[ModelStats], word=english) -> str:
    items = [(s.label, float(s.cost_per_question)) for s in stats if s.cost_per_question is not None]
    if not items:
        return f"<p>{word('No priced answers.')}</p>"
    w, bar, pad = 640, 28, 200
    top = max(v for _, v in items) or 1
    rows = "".join(
        f'<text x="{pad - 8}" y="{20 + i * (bar + 8) + bar * 0.65}" text-anchor="end">{html.escape(m)}</text>'
        f'<rect x="{pad}" y="{20 + i * (bar + 8)}" width="{max(1, v / top * (w - pad - 120)):.1f}" height="{bar}" '
        f'fill="{PALETTE[i % len(PALETTE)]}"/><text x="{pad + v / top * (w - pad - 120) + 6:.1f}" '
        f'y="{20 + i * (bar + 8) + bar * 0.65}">{format_usd(Decimal(str(v)))}</text>' for i, (m, v) in enumerate(items))
    h = 30 + len(items) * (bar + 8)
    return _svg(w, h, word("cost per question")) + f"{rows}</svg>"


def latency_svg(rows: list[dict], word=english) -> str:
    models = sorted({label(r.model, r.variant) for r in rows if r.status == "ok"})
    if not models:
        return f"<p>{word('No successful answers.')}</p>"
    w, lane, pad = 640, 34, 200
    top = max(r.latency_ms for r in rows if r.status == "ok") * 1.05 or 1
    parts = []
    for i, m in enumerate(models):
        y = 20 + i * lane
        parts.append(f'<text x="{pad - 8}" y="{y + 5}" text-anchor="end">{html.escape(m)}</text>')
        for r in rows:
            if label(r.model, r.variant) == m and r.status == "ok":
                parts.append(f'<circle cx="{pad + r.latency_ms / top * (w - pad - 20):.1f}" cy="{y}" r="4" '
                             f'fill="{PALETTE[i % len(PALETTE)]}" fill-opacity="0.6"/>')
    h = 40 + len(models) * lane
    parts.append(f'<text x="{pad}" y="{h - 6}">0 ms</text><text x="{w - 20}" y="{h - 6}" text-anchor="end">{top:,.0f} ms</text>')
    return _svg(w, h, word("latency distribution")) + "".join(parts) + "</svg>"


CSS = """body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}svg{max-width:100%;height:auto}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:right;overflow-wrap:break-word;word-break:keep-all}
.name{white-space:nowrap}small{color:#666;font-size:.78rem;white-space:nowrap}.v-meets{color:#2b6b2b}
.v-misses{color:#a12b2b}.v-uncertain{color:#8a5a00}ul.constraints li.meets .mark{color:#2b6b2b}
ul.constraints li.misses .mark{color:#a12b2b}ul.constraints li.uncertain .mark{color:#8a5a00}.sub{color:#666}
td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}svg text{font-size:12px}.note{color:#666;font-size:.85rem}
.verdict{font-size:1.1rem;font-weight:600;background:#eef6ee;border-left:6px solid #59a14f;padding:.7rem 1rem}
.verdict.none{background:#fbeeee;border-left-color:#e15759}ul.constraints{margin:.3rem 0 .8rem}
@media (max-width:600px){body{margin:.6rem}h1{font-size:1.4rem}
table,thead,tbody,tr,td{display:block;width:100%;box-sizing:border-box}thead{display:none}
tr{border:1px solid #ccc;border-radius:6px;margin:.6rem 0;padding:.3rem .5rem}
td{border:none;border-bottom:1px dotted #ddd;text-align:right;padding:.25rem 0;display:flex;
justify-content:space-between;gap:.8rem}td:last-child{border-bottom:none}td:first-child{text-align:right;font-weight:600}
td::before{content:attr(data-label);flex:0 0 40%;text-align:left;color:#555;font-weight:normal}
table.shortlist tr{padding:.15rem .4rem;margin:.25rem 0}table.shortlist td{display:inline;border:none;padding:0 .5rem 0 0;
font-size:.78rem;white-space:nowrap}table.shortlist td::before{content:attr(data-label) " ";color:#666}
table.shortlist td:first-child,table.shortlist td:nth-child(2){font-size:.9rem;text-align:left}
table.shortlist td:first-child::before,table.shortlist td:nth-child(2)::before{content:none}
table.shortlist td:nth-child(2)::after{content:"";display:block}table.shortlist small{display:none}
.verdict{font-size:.95rem;padding:.5rem .7rem}h2{font-size:1.15rem;margin:.6rem 0 .3rem}h3{font-size:1rem;margin:.5rem 0 .2rem}
h1{font-size:1.2rem;margin:.3rem 0}ul.constraints{font-size:.85rem;padding-left:1.1rem}p.note{margin:.3rem 0}}"""


def projection_table(projections: list[Projection], per_day: int, word=english) -> tuple[list[str], list[list[str]]]:
    head = [word("Model"), word("Priced by"), word("Cost / question"), word("Per month at {n}/day", n=f"{per_day:,}"),
            word("With the FAQ cached"), word("Always-on machines"), word("Cheaper than (from questions/day)")]
    rows = []
    for p in projections:
        machines = "–"
        evens = "–"
        if p.basis == "compute":
            machines = word("{n} × {each}/month = {total} (one serves ≤ {capacity}/day)", n=p.machines,
                            each=format_money(p.machine_monthly, word=word),
                            total=format_money(p.always_on_monthly, word=word), capacity=f"{p.capacity_per_day:,}")
            evens = "; ".join(word("{model} from {n}/day", model=e.api_model, n=f"{e.per_day:,}") if e.per_day is not None
                              else word("{model}: never (beyond one machine's capacity)", model=e.api_model)
                              for e in p.break_even) or "–"
        rows.append([p.model, word(p.basis), _cell("cost", p.cost_per_question, word), _cell("cost", p.monthly, word),
                     cached_text(p, word), machines, evens])
    return head, rows


def token_lines(stats: list[ModelStats], word=english) -> list[str]:
    """One line per model: how many tokens its vendor billed per token of our count, e.g. 'Korean costs 1.30× the
    tokens on claude-haiku-4-5 (from 30 answers)'."""
    lines = []
    for s in stats:
        if s.token_ratio is None:
            continue
        script = word("Korean") if s.token_script == "hangul" else word("Latin text")
        lines.append(word("{script} costs {ratio}× the tokens on {model} (from {n} answers)", script=script,
                          ratio=f"{s.token_ratio:.2f}", model=s.label, n=f"{s.token_ratio_answers:,}"))
    if not lines:
        return []
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return [f"<h2>{word('Tokens each vendor bills')}</h2>",
            f"<p class=note>{html.escape(word(TOKENS_NOTE))}</p><ul class=constraints>{items}</ul>"]


TOKENS_NOTE = ("Per token of our own count (o200k_base, OpenAI's tokenizer) of what was sent, from the input tokens "
               "each vendor reported for this run's answers.")


def cached_text(p: Projection, word=english) -> str:
    """'$41 ($212 without; 99% of questions find it cached)', or '–' where the vendor would not cache the FAQ."""
    if p.cached is None:
        return "–"
    return word("{cached} ({plain} without; {share} of questions find it cached)",
                cached=format_money(p.cached_monthly, word=word), plain=format_money(p.uncached_monthly, word=word),
                share=f"{p.cached.hit_share:.0%}")


PROJECTION_NOTE = ("Per month = the measured cost per question × questions a day × 30. A self-hosted model priced by "
                   "the hour is metered by the time each answer held the machine; kept on all month it costs its "
                   "hourly price × 720, and it is cheaper than an API model once the API's cost of a day's questions "
                   "passes the machine's day.")
CACHING_NOTE = ("With the FAQ cached: the system prompt is billed as its vendor bills a cached prefix, written on a miss "
                "and read on a hit. A question finds it cached when the one before came within the cache's 5 minutes, "
                "questions arriving at random over 9:00–18:00.")
ELSEWHERE_SHOWN = 10


@dataclass(frozen=True)
class Report:
    """What one run's report shows."""

    run: Run
    rows: list[Exchange]
    stats: list[ModelStats]
    qstats: list[QuestionStats]
    rstats: list[RatingStats]
    criteria: list[str]
    questions: list[Question] = field(default_factory=list)  # in set order
    scores: dict = field(default_factory=dict)  # exchange id -> {human|judge: {criterion: mean}}
    projections: list[Projection] | None = None  # None: projected from stats at the report's volume
    names: Literal["models", "letters"] = "models"  # letters: a blind report, whose key is kept elsewhere
    decision: Decision | None = None  # what the report leads with (a blind report has none: costs name models)


def frontier_svg(d: Decision, word=english) -> str:
    """Cost per question against mean score; the dot's size is its latency p95; the frontier joined by a line."""
    pts = [(c.label, c.metrics["cost_per_question_usd"].value, c.metrics["score_mean"].value,
            c.metrics["latency_p95_s"].value, c.frontier) for c in d.candidates
           if c.metrics["cost_per_question_usd"].value is not None and c.metrics["score_mean"].value is not None]
    if not pts:
        return f"<p class=note>{word('No candidate is both priced and rated yet, so there is no cost–quality chart.')}</p>"
    w, h, pad = 640, 360, 60
    xmax = max(p[1] for p in pts) * 1.15 or 1
    lo, hi = min(p[2] for p in pts), max(p[2] for p in pts)
    lo, hi = max(0.0, lo - 0.5), hi + 0.3
    slow = max((p[3] or 0) for p in pts) or 1
    x = lambda v: pad + v / xmax * (w - pad - 20)  # noqa: E731
    y = lambda v: h - pad - (v - lo) / ((hi - lo) or 1) * (h - pad - 20)  # noqa: E731
    line = sorted((p for p in pts if p[4]), key=lambda p: p[1])
    parts = ['<polyline fill="none" stroke="#59a14f" stroke-width="2" stroke-dasharray="6 4" points="'
             + " ".join(f"{x(p[1]):.1f},{y(p[2]):.1f}" for p in line) + '"/>'] if len(line) > 1 else []
    for i, (name, cost, score, latency, on) in enumerate(pts):
        r = 5 + 10 * ((latency or 0) / slow)
        anchor, dx = ("end", -r - 4) if x(cost) > w * 0.65 else ("start", r + 4)
        parts.append(f'<circle cx="{x(cost):.1f}" cy="{y(score):.1f}" r="{r:.1f}" fill="{PALETTE[i % len(PALETTE)]}" '
                     f'fill-opacity="0.75" stroke="{"#2b6b2b" if on else "none"}" stroke-width="2"><title>'
                     f'{html.escape(name)}</title></circle><text x="{x(cost) + dx:.1f}" y="{y(score) + 4:.1f}" '
                     f'text-anchor="{anchor}">{html.escape(name)}{" ◆" if on else ""}</text>')
    axes = _axes(w, h, pad, word("cost per question (USD) → up to {top}", top=format_usd(Decimal(repr(xmax)))),
                 word("mean score ({lo}–{hi})", lo=f"{lo:.1f}", hi=f"{hi:.1f}"))
    note = word("Larger dots are slower (latency p95); ◆ and the dashed line mark the frontier: no other candidate is "
                "both cheaper and better rated.")
    return (_svg(w, h, word("cost against quality")) +
            f"{axes}{''.join(parts)}</svg><p class=note>{html.escape(note)}</p>")


def constraints_html(d: Decision, word=english) -> str:
    """Each constraint with its verdict for the recommended candidate (or the most likely one, when none is)."""
    if not d.candidates:
        return f"<p class=note>{word('No constraints were set: the shortlist is simply cheapest first.')}</p>"
    lead = d.candidates[0]
    items = [f"<li class={k.verdict}><span class=mark>{VERDICT_MARK[k.verdict]}</span> "
             f"{html.escape(constraint_text(k, word))}: <b>{html.escape(word(k.verdict))}</b> "
             f"<span class=sub>{html.escape(figure_text(k.metric, k.figure, word))}</span></li>" for k in lead.checks]
    return f"<ul class=constraints>{''.join(items)}</ul>"


def checked_note(d: Decision, word=english) -> str:
    if not d.candidates:
        return ""
    who = word("Checked for {label}: a check is met only when the whole 95% interval is on the right side of the limit, "
               "missed when the whole interval is on the wrong side, and uncertain otherwise.", label=d.candidates[0].label)
    return f"<p class=note>{html.escape(who)}</p>"


def shortlist_html(d: Decision, word=english) -> str:
    """The seven-column shortlist: each figure on one line, its interval on a smaller second line."""
    head, rows = shortlist_cells(d, word)
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = []
    for c, row in zip(d.candidates, rows):
        cells = []
        for i, (h, (main, sub)) in enumerate(zip(head, row)):
            text = f"<span class=name>{html.escape(main)}</span>" if i == 0 else html.escape(main)
            small = f"<br><small>{html.escape(sub)}</small>" if sub else ""
            cls = f" class=\"v-{c.verdict()}\"" if i == 1 else ""
            cells.append(f"<td data-label=\"{html.escape(h)}\"{cls}>{text}{small}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table class=shortlist><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _names_whole(text: str, d: Decision) -> str:
    """The sentence escaped, each candidate's name kept on one line (a name broken at its hyphens reads as two)."""
    names = sorted({c.label for c in d.candidates}, key=len, reverse=True)
    if not names:
        return html.escape(text)
    pattern = re.compile("|".join(re.escape(n) for n in names))
    out, last = [], 0
    for m in pattern.finditer(text):
        out += [html.escape(text[last:m.start()]), f"<span class=name>{html.escape(m.group())}</span>"]
        last = m.end()
    return "".join(out) + html.escape(text[last:])


def decision_html(d: Decision, word=english) -> list[str]:
    rec = d.recommended
    intervals = word("Intervals are 95%, with the question as the unit: a t interval over question means, Wilson's at the "
                     "effective number of answers for rates, order statistics for percentiles; a figure from fewer "
                     "than 5 answers shows no interval.")
    out = [f"<section class=first><h2>{word('Recommendation')}</h2>"
           f"<p class=\"verdict{'' if rec else ' none'}\">{_names_whole(reason(d, word), d)}</p>",
           f"<h3>{word('Constraints')}</h3>", constraints_html(d, word),
           f"<h3>{word('Shortlist')}</h3>", shortlist_html(d, word), "</section>", checked_note(d, word),
           f"<p class=note>{html.escape(scores_note(d, word))} {html.escape(intervals)} "
           f"{html.escape(cache_note(d, word))}</p>",
           f"<h3>{word('Every candidate against every constraint')}</h3>", _table(*checks_table(d, word)),
           f"<h3>{word('Cost against quality')}</h3>", frontier_svg(d, word),
           f"<details><summary>{word('Every figure, with its interval')}</summary>{_table(*full_table(d, word))}"
           "</details>"]
    if d.pairs:
        paired = word("Paired by question: the chance A's figure is the better one, and the repeats per question that "
                      "would tell a difference of the margin apart 80% of the time.")
        out += [f"<h3>{word('Leading candidates compared')}</h3><p class=note>{html.escape(paired)}</p>",
                _table(*pairs_table(d, word))]
    return out


def _elsewhere(rows, prices, word=english, ratios: TokenRatios | None = None) -> list[str]:
    head, table = elsewhere_table(rows, prices, word, ratios)
    shown, rest = table[:ELSEWHERE_SHOWN], table[ELSEWHERE_SHOWN:]
    note = word("Approximate: the same text is a different number of tokens on each vendor's tokenizer. The {n} "
                "cheapest of {total} priced models.", n=len(shown), total=len(table)) if ratios is None else word(
        "The same text on each model: this run's tokens translated into each model's through its tokens per token of "
        "our count (learned from its answers, or its family's prior). The {n} cheapest of {total} priced models.",
        n=len(shown), total=len(table))
    out = [f"<h2>{word('Appendix: what these tokens would cost elsewhere')}</h2>", f"<p class=note>{html.escape(note)}</p>",
           _table(head, shown)]
    if rest:
        out.append(f"<details><summary>{word('the other {n} models', n=len(rest))}</summary>{_table(head, rest)}</details>")
    return out


def to_html(r: Report, prices: PriceTable, per_day: int = 1000, word=english, ratios: TokenRatios | None = None) -> str:
    """The report page; `word` writes it in the reader's language (English by default: the CLI's)."""
    run, rows, stats, qstats, rstats, criteria, questions = r.run, r.rows, r.stats, r.qstats, r.rstats, r.criteria, r.questions
    blind = r.names == "letters"
    scores = r.scores
    models = candidates(run)
    projections = project(stats, prices, per_day) if r.projections is None else r.projections
    day = (run.created_at or "")[:10]
    title = f"{html.escape(run.set_name or word('Question set'))} · {html.escape(day)}" + (
        f" ({word('blind')})" if blind else "")
    failed = sum(r.status != "ok" for r in rows)
    line = word("{n} calls ({ok} answered, {failed} failed) · {models} · {repeats} repeats each · run {run} · costs "
                "from pricing.yaml", n=len(rows), ok=len(rows) - failed, failed=failed, models=", ".join(models),
                repeats=run.repeats, run=run.id)
    sections = [f"<h1>{title}</h1>", f"<p class=note>{html.escape(line)}</p>"]
    if rate_note():
        sections.append(f"<p class=note>{html.escape(rate_note(word=word))}</p>")
    if blind:
        sections.append("<p class=note>" + html.escape(word(
            "Blind report: models are named by letter and the key is in a separate file. Cost and speed are left out "
            "until the key is opened, because they would give the models away.")) + "</p>")
    elif r.decision is not None:
        sections += decision_html(r.decision, word)
    guessed = beside_actual(run, rows, word)
    if guessed and not blind:
        sections.append(f"<p class=note>{html.escape(guessed)}</p>")
    if rstats:
        ratings = rating_table(rstats, criteria, word)
        sections += [f"<h2>{word('Ratings')}</h2><p class=note>{word('Human and judge ratings are kept apart.')}</p>",
                     _table(*(_without_cost(*ratings, word) if blind else ratings))]
    if not blind:
        sections += [
            f"<h2>{word('Per model')}</h2>", _table(*model_table(stats, word)),
            *token_lines(stats, word),
            f"<h2>{word('Projected monthly cost at {n} questions a day', n=f'{per_day:,}')}</h2>",
            f"<p class=note>{html.escape(word(PROJECTION_NOTE))}</p>",
            f"<p class=note>{html.escape(word(CACHING_NOTE))}</p>",
            _table(*projection_table(projections, per_day, word)),
            f"<h2>{word('Latency against cost')}</h2>", scatter_svg(stats, word),
            f"<h2>{word('Cost per question')}</h2>", bars_svg(stats, word),
            f"<h2>{word('Latency distribution')}</h2>", latency_svg(rows, word),
        ]
    if questions:
        meter = "" if blind else " " + word("Meter: tokens in and out, cost, time to first token and in total.")
        first = word("Each question's first repeat per model; open “all repeats” for the rest.")
        sections += [f"<h2>{word('Answers side by side')}</h2><p class=note>{html.escape(first + meter)}</p>",
                     answers_html(questions, rows, scores or {}, models, meters=not blind, word=word)]
    spread = word("Length spread is the coefficient of variation of answer length; similarity is the mean pairwise "
                  "overlap of character trigrams between the repeated answers (1 = identical).")
    consistency = question_table(qstats, word)
    sections += [f"<h2>{word('Consistency across repeats')}</h2>", f"<p class=note>{html.escape(spread)}</p>",
                 _table(*(_without_latency(*consistency, word) if blind else consistency))]
    if not blind:  # it names every priced model beside its cost, which would undo the letters
        sections += _elsewhere(rows, prices, word, ratios)
    lang = getattr(word, "lang", "en")  # chat.ui.i18n.words says which language it writes
    return (f"<!doctype html><html lang={lang}><head><meta charset=utf-8><meta name=viewport "
            f"content='width=device-width, initial-scale=1'><title>{title}</title><style>{CSS}{ANSWERS_CSS}</style>"
            f"</head><body>{''.join(sections)}</body></html>")


def _without_cost(head, rows, word=english):
    keep = [i for i, h in enumerate(head) if h != word("Cost / acceptable answer")]
    return [head[i] for i in keep], [[row[i] for i in keep] for row in rows]


def _without_latency(head, rows, word=english):
    keep = [i for i, h in enumerate(head) if h != word("Latency stdev ms")]
    return [head[i] for i in keep], [[row[i] for i in keep] for row in rows]


def write(out_dir: Path, r: Report, prices: PriceTable, per_day: int = 1000, stem: str | None = None,
          word=english, ratios: TokenRatios | None = None) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = stem or f"run-{r.run.id}"
    csv_path = out_dir / f"{stem}.csv"
    html_path = out_dir / f"{stem}.html"
    csv_path.write_text(to_csv(r.stats), encoding="utf-8")
    html_path.write_text(to_html(r, prices, per_day, word, ratios), encoding="utf-8")
    return csv_path, html_path
