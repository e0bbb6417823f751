"""The answers themselves, side by side per question: first repeat shown, every repeat a click away."""
from __future__ import annotations

import html
import itertools

from chat.evaluation.meter_text import meter_line
from chat.evaluation.questionsets import Question
from chat.evaluation.results import label
from chat.storage.rows import Exchange
from chat.wording import english

CSS = """.q{margin:1.5rem 0;padding-top:.5rem;border-top:2px solid #ddd}.q h3{margin:.2rem 0}
.ref{background:#f6f8fa;border-left:4px solid #59a14f;padding:.4rem .7rem;margin:.5rem 0;white-space:pre-wrap}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,300px),1fr));gap:.8rem}
.card{border:1px solid #ccc;border-radius:6px;padding:.6rem .7rem;min-width:0}
.card h4{margin:0 0 .3rem}.answer{white-space:pre-wrap;overflow-wrap:anywhere}
.meter{color:#555;font-size:.8rem;margin-top:.4rem}.fail{color:#b00020}.scores{font-size:.8rem;margin-top:.3rem}
details{margin-top:.4rem;font-size:.9rem}details .answer{border-top:1px dashed #ccc;padding-top:.3rem;margin-top:.3rem}"""


def _scores(scores: dict | None, word=english) -> str:
    if not scores:
        return ""
    out = []
    for kind in ("human", "judge"):
        got = scores.get(kind)
        if got:
            who = word("people") if kind == "human" else word("judge")
            out.append(f"{who}: " + ", ".join(f"{html.escape(word(c))} {v:.1f}" for c, v in sorted(got.items())))
    return f"<div class=scores>{' · '.join(out)}</div>" if out else ""


def _body(row: dict, word=english) -> str:
    if row.status != "ok":
        partial = f"<div class=answer>{html.escape(row.reply)}</div>" if row.reply else ""
        return f"<div class=fail>{html.escape(word(row.status))}: {html.escape(row.error or '')}</div>{partial}"
    return f"<div class=answer>{html.escape(row.reply or '')}</div>"


def answers_html(questions: list[Question], rows: list[Exchange], scores: dict[str, dict], models: list[str],
                 meters: bool = True, word=english) -> str:
    """questions: in set order; models: the candidates' labels (results.label), in
    the order shown; scores: exchange id -> {human|judge: {criterion: mean}}; meters: False leaves out each
    answer's cost and timing (a blind report, where they would name the model)."""
    meter = (lambda r: f"<div class=meter>{html.escape(meter_line(r, word))}</div>") if meters else (lambda r: "")  # noqa: E731
    by_cell: dict[tuple[str, str], list[Exchange]] = {}
    cell = lambda r: (r.question_id or "", label(r.model, r.variant))  # noqa: E731
    for key, group in itertools.groupby(sorted(rows, key=lambda r: (*cell(r), r.repeat_index or 0)), key=cell):
        by_cell[key] = list(group)
    parts = []
    for q in questions:
        head = f"<h3>{html.escape(q.id)}. {html.escape(q.text)}</h3>"
        if q.note:
            head += f"<div class=meter>{html.escape(q.note)}</div>"
        if q.reference:
            head += f"<div class=ref><b>{word('Reference')}</b>\n{html.escape(q.reference)}</div>"
        cards = []
        for model in models:
            answers = by_cell.get((q.id, model), [])
            if not answers:
                cards.append(f"<div class=card><h4>{html.escape(model)}</h4><div class=meter>{word('no answer yet')}</div>"
                             "</div>")
                continue
            first, rest = answers[0], answers[1:]
            more = ""
            if rest:
                more = (f"<details><summary>{word('all {n} repeats', n=len(answers))}</summary>" + "".join(
                    f"<div><b>#{(r.repeat_index or 0) + 1}</b>{_body(r, word)}{meter(r)}"
                    f"{_scores(scores.get(r.id), word)}</div>" for r in rest) + "</details>")
            cards.append(f"<div class=card><h4>{html.escape(model)}</h4>{_body(first, word)}"
                         f"{meter(first)}{_scores(scores.get(first.id), word)}"
                         f"{more}</div>")
        parts.append(f"<section class=q>{head}<div class=grid>{''.join(cards)}</div></section>")
    return "".join(parts)
