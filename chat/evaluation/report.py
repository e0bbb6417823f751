"""Run report: a CSV of results and a self-contained HTML page (tables and inline SVG charts, no network)."""
from __future__ import annotations

import html
import io
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Literal

from chat.engine.pricing import PriceTable, costs_elsewhere
from chat.engine.usage import Usage
from chat.evaluation import spreadsheet
from chat.evaluation.answers import CSS as ANSWERS_CSS
from chat.evaluation.answers import answers_html
from chat.evaluation.estimate import beside_actual
from chat.evaluation.projection import Projection, project
from chat.evaluation.ratings import RatingStats
from chat.evaluation.results import ModelStats, QuestionStats, candidates, label
from chat.storage.rows import Exchange, Run
from chat.wording import format_usd

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7"]
MODEL_COLUMNS = [
    ("model", "Model"), ("cells", "Answers"), ("error_rate", "Error rate"), ("ttft_mean_ms", "TTFT mean ms"),
    ("ttft_p50_ms", "TTFT p50 ms"), ("ttft_p95_ms", "TTFT p95 ms"), ("latency_mean_ms", "Latency mean ms"),
    ("latency_p50_ms", "Latency p50 ms"), ("latency_p95_ms", "Latency p95 ms"), ("tokens_per_s", "Tokens/s"),
    ("mean_output_tokens", "Mean output tokens"), ("cost_per_question", "Cost / question"),
    ("cost_per_1000", "Cost / 1,000 questions"), ("estimated_share", "Tokens estimated"),
]


def _cell(key, value) -> str:
    if value is None:
        return "unpriced" if key.startswith("cost") else "–"
    if isinstance(value, Decimal):
        return format_usd(value)
    if key in ("error_rate", "estimated_share"):
        return f"{value:.0%}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def model_table(stats: list[ModelStats]) -> tuple[list[str], list[list[str]]]:
    return [h for _, h in MODEL_COLUMNS], [[s.label, *(_cell(k, getattr(s, k)) for k, _ in MODEL_COLUMNS[1:])]
                                           for s in stats]


def question_table(stats: list[QuestionStats]) -> tuple[list[str], list[list[str]]]:
    head = ["Model", "Question", "Answers", "Mean length (chars)", "Length spread (CV)", "Latency stdev ms", "Similarity"]
    rows = [[s.label, s.question_id, str(s.n), f"{s.mean_chars:,.0f}", _cell("cv", s.chars_cv),
             _cell("lat", s.latency_stdev_ms), "–" if s.similarity is None else f"{s.similarity:.2f}"] for s in stats]
    return head, rows


def rating_table(stats: list[RatingStats], criteria: list[str]) -> tuple[list[str], list[list[str]]]:
    head = ["Model", "Rated by", "Answers rated", *criteria, "Acceptable", "Cost / acceptable answer"]
    rows = [[s.label, s.kind, str(s.rated), *[f"{s.means[c]:.2f}" if c in s.means else "–" for c in criteria],
             # none acceptable has no cost per acceptable answer, priced or not: not the same as unpriced
             str(s.acceptable), "no acceptable answer" if not s.acceptable else _cell("cost", s.cost_per_acceptable)]
            for s in stats]
    return head, rows


def elsewhere_table(rows: list[dict], prices: PriceTable) -> tuple[list[str], list[list[str]]]:
    usage = sum((Usage.of_row(r) for r in rows if r.status == "ok"), Usage())
    return ["Model", "Approx. cost of this run's tokens"], [[m, "≈" + format_usd(c.total)] for m, c in costs_elsewhere(usage, prices)]


def to_csv(stats: list[ModelStats]) -> str:
    buf = io.StringIO()
    writer = spreadsheet.writer(buf)
    writer.writerow(["model", "variant", *(k for k, _ in MODEL_COLUMNS[1:])])
    for s in stats:
        writer.writerow([s.model, s.variant or "", *("" if getattr(s, k) is None else str(getattr(s, k))
                                                     for k, _ in MODEL_COLUMNS[1:])])
    return buf.getvalue()


def _table(head, rows) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _axes(w, h, pad, xlabel, ylabel) -> str:
    return (f'<line x1="{pad}" y1="{h - pad}" x2="{w - 10}" y2="{h - pad}" stroke="#333"/>'
            f'<line x1="{pad}" y1="10" x2="{pad}" y2="{h - pad}" stroke="#333"/>'
            f'<text x="{w / 2}" y="{h - 8}" text-anchor="middle">{html.escape(xlabel)}</text>'
            f'<text x="14" y="{h / 2}" transform="rotate(-90 14 {h / 2})" text-anchor="middle">{html.escape(ylabel)}</text>')


def scatter_svg(stats: list[ModelStats]) -> str:
    pts = [(s.label, s.latency_p50_ms, float(s.cost_per_question)) for s in stats
           if s.latency_p50_ms is not None and s.cost_per_question is not None]
    w, h, pad = 640, 360, 60
    if not pts:
        return "<p>No priced, successful answers to plot.</p>"
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
    return (f'<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="latency against cost">'
            f'{_axes(w, h, pad, "median latency (ms) → up to " + f"{xmax:,.0f}", "cost per question (USD)")}{dots}</svg>')


def bars_svg(stats: list[ModelStats]) -> str:
    items = [(s.label, float(s.cost_per_question)) for s in stats if s.cost_per_question is not None]
    if not items:
        return "<p>No priced answers.</p>"
    w, bar, pad = 640, 28, 200
    top = max(v for _, v in items) or 1
    rows = "".join(
        f'<text x="{pad - 8}" y="{20 + i * (bar + 8) + bar * 0.65}" text-anchor="end">{html.escape(m)}</text>'
        f'<rect x="{pad}" y="{20 + i * (bar + 8)}" width="{max(1, v / top * (w - pad - 120)):.1f}" height="{bar}" '
        f'fill="{PALETTE[i % len(PALETTE)]}"/><text x="{pad + v / top * (w - pad - 120) + 6:.1f}" '
        f'y="{20 + i * (bar + 8) + bar * 0.65}">{format_usd(Decimal(str(v)))}</text>' for i, (m, v) in enumerate(items))
    h = 30 + len(items) * (bar + 8)
    return f'<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="cost per question">{rows}</svg>'


def latency_svg(rows: list[dict]) -> str:
    models = sorted({label(r.model, r.variant) for r in rows if r.status == "ok"})
    if not models:
        return "<p>No successful answers.</p>"
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
    return f'<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="latency distribution">{"".join(parts)}</svg>'


CSS = """body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1200px}
@media (max-width:600px){body{margin:.6rem}}table{display:block;overflow-x:auto}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}svg{max-width:100%;height:auto}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}
td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}svg text{font-size:12px}.note{color:#666;font-size:.85rem}"""


def projection_table(projections: list[Projection], per_day: int) -> tuple[list[str], list[list[str]]]:
    head = ["Model", "Priced by", "Cost / question", f"Per month at {per_day:,}/day", "Always-on machines",
            "Cheaper than (from questions/day)"]
    rows = []
    for p in projections:
        machines = "–"
        evens = "–"
        if p.basis == "compute":
            machines = (f"{p.machines} × {format_usd(p.machine_monthly)}/month = {format_usd(p.always_on_monthly)} "
                        f"(one serves ≤ {p.capacity_per_day:,}/day)")
            evens = "; ".join(f"{e.api_model} from {e.per_day:,}/day" if e.per_day is not None
                              else f"{e.api_model}: never (beyond one machine's capacity)" for e in p.break_even) or "–"
        rows.append([p.model, p.basis, _cell("cost", p.cost_per_question), _cell("cost", p.monthly), machines, evens])
    return head, rows


PROJECTION_NOTE = ("Per month = the measured cost per question × questions a day × 30. A self-hosted model priced by "
                   "the hour is metered by the time each answer held the machine; kept on all month it costs its "
                   "hourly price × 720, and it is cheaper than an API model once the API's cost of a day's questions "
                   "passes the machine's day. Change the volume: python -m chat report RUN --per-day N.")


@dataclass(frozen=True)
class Report:
    """What one run's report shows."""

    run: Run
    rows: list[Exchange]
    stats: list[ModelStats]
    qstats: list[QuestionStats]
    rstats: list[RatingStats]
    criteria: list[str]
    questions: list[dict] = field(default_factory=list)  # [{id, text, reference?, note?}] in set order
    scores: dict = field(default_factory=dict)  # exchange id -> {human|judge: {criterion: mean}}
    projections: list[Projection] | None = None  # None: projected from stats at the report's volume
    names: Literal["models", "letters"] = "models"  # letters: a blind report, whose key is kept elsewhere


def to_html(r: Report, prices: PriceTable, per_day: int = 1000) -> str:
    run, rows, stats, qstats, rstats, criteria, questions = r.run, r.rows, r.stats, r.qstats, r.rstats, r.criteria, r.questions
    blind = r.names == "letters"
    scores = r.scores
    models = candidates(run)
    projections = project(stats, prices, per_day) if r.projections is None else r.projections
    title = f"Run {html.escape(run.id)}: {html.escape(run.set_name)}" + (" (blind)" if blind else "")
    sections = [
        f"<h1>{title}</h1>",
        f"<p class=note>{len(rows)} answers · models {html.escape(', '.join(models))} · {run.repeats} repeats · "
        f"created {html.escape(run.created_at)} · costs from pricing.yaml</p>",
    ]
    guessed = beside_actual(run, rows)
    if guessed:
        sections.append(f"<p class=note>{html.escape(guessed)}</p>")
    if blind:
        sections.append("<p class=note>Models are named by letter; the key is in a separate file. Costs and speeds "
                        "are shown and may hint at who is who.</p>")
    sections += [
        "<h2>Per model</h2>", _table(*model_table(stats)),
        f"<h2>Projected monthly cost at {per_day:,} questions a day</h2>", f"<p class=note>{PROJECTION_NOTE}</p>",
        _table(*projection_table(projections, per_day)),
        "<h2>Latency against cost</h2>", scatter_svg(stats),
        "<h2>Cost per question</h2>", bars_svg(stats),
        "<h2>Latency distribution</h2>", latency_svg(rows),
    ]
    if questions:
        sections += ["<h2>Answers</h2><p class=note>Each question's first repeat per model; open “all repeats” for the "
                     "rest. Meter: tokens in and out, cost, time to first token and in total.</p>",
                     answers_html(questions, rows, scores or {}, models)]
    sections += [
        "<h2>Consistency across repeats</h2>",
        "<p class=note>Length spread is the coefficient of variation of answer length; similarity is the mean pairwise "
        "overlap of character trigrams between the repeated answers (1 = identical).</p>", _table(*question_table(qstats)),
    ]
    if rstats:
        sections += ["<h2>Ratings</h2><p class=note>Human and judge ratings are kept apart.</p>",
                     _table(*rating_table(rstats, criteria))]
    if not blind:  # it names every priced model beside its cost, which would undo the letters
        sections += ["<h2>What these tokens would cost elsewhere</h2>",
                     "<p class=note>Approximate: the same text is a different number of tokens on each vendor's "
                     "tokenizer.</p>", _table(*elsewhere_table(rows, prices))]
    return (f"<!doctype html><html><head><meta charset=utf-8><meta name=viewport content='width=device-width, "
            f"initial-scale=1'><title>{title}</title><style>{CSS}{ANSWERS_CSS}</style></head><body>"
            f"{''.join(sections)}</body></html>")


def write(out_dir: Path, r: Report, prices: PriceTable, per_day: int = 1000, stem: str | None = None) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = stem or f"run-{r.run.id}"
    csv_path = out_dir / f"{stem}.csv"
    html_path = out_dir / f"{stem}.html"
    csv_path.write_text(to_csv(r.stats), encoding="utf-8")
    html_path.write_text(to_html(r, prices, per_day), encoding="utf-8")
    return csv_path, html_path
