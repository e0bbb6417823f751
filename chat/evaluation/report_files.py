"""A run's report files: the CSV and the HTML report, which leads with the decision, and the blind report with the
models named by letter and the key to the letters in a file of its own."""
from __future__ import annotations

import json
import secrets
from dataclasses import replace
from pathlib import Path

from chat.engine.pricing import PriceTable
from chat.engine.token_ratios import TokenRatios
from chat.evaluation import report
from chat.evaluation.decision import Constraints, decide
from chat.evaluation.projection import project
from chat.evaluation.results import model_stats, question_stats
from chat.evaluation.summary import RunSummary
from chat.wording import english


def write_report(summary: RunSummary, out_dir: Path, prices: PriceTable, per_day: int = 1000,
                 constraints: Constraints | None = None, word=english,
                 ratios: TokenRatios | None = None) -> tuple[Path, Path]:
    """The CSV and the HTML report, which leads with the decision under these constraints; `word` writes the
    report in the reader's language; `ratios` translate the run's tokens into other models' for its appendix."""
    constraints = constraints or Constraints()
    if constraints.per_day is None:
        constraints = replace(constraints, per_day=per_day)
    s = summary
    found = report.Report(s.run, s.rows, s.models, s.questions, s.ratings, [c.id for c in s.rubric.criteria],
                          list(s.question_set.questions), s.scores, decision=decide(s, constraints))
    return report.write(out_dir, found, prices, per_day, word=word, ratios=ratios)

def write_blind(summary: RunSummary, out_dir: Path, prices: PriceTable, per_day: int = 1000,
                word=english) -> tuple[Path, Path, Path]:
    """The report with models named A, B, C… in a random order; the key to the letters in a file of its own."""
    real = summary.run.models
    order = sorted(real, key=lambda _: secrets.randbits(32))
    letters = {name: word("Model {letter}", letter=_letter(i)) for i, name in enumerate(order)}
    rename = lambda name: letters.get(name, name)  # noqa: E731
    rows = [replace(r, model=rename(r.model), provider=None, error=_hide(r.error, letters)) for r in summary.rows]
    # a projection names a candidate, which may be a model asked one way: 'gpt-4o · terse'
    projections = [replace(p, model=_hide(p.model, letters),
                           break_even=tuple(replace(e, api_model=_hide(e.api_model, letters)) for e in p.break_even))
                   for p in project(summary.models, prices, per_day)]
    run = replace(summary.run, models_json=json.dumps(sorted(letters.values())))
    stem = f"run-{summary.run.id}-blind"
    blind = report.Report(run, rows, model_stats(rows), question_stats(rows),
                          [replace(s, model=rename(s.model)) for s in summary.ratings],
                          [c.id for c in summary.rubric.criteria], list(summary.question_set.questions), summary.scores,
                          projections, names="letters")
    csv_path, html_path = report.write(out_dir, blind, prices, per_day, stem=stem, word=word)
    key_path = out_dir / f"{stem}-key.txt"
    key_path.write_text("".join(f"{letter}: {name}\n" for name, letter in sorted(letters.items(), key=lambda kv: kv[1])),
                        encoding="utf-8")
    return csv_path, html_path, key_path


def _hide(text: str | None, letters: dict[str, str]) -> str | None:
    """An error message with the model names in it replaced by their letters (longest first: ids nest)."""
    for name in sorted(letters, key=len, reverse=True):
        text = text.replace(name, letters[name]) if text else text
    return text


def _letter(i: int) -> str:
    """A, B, … Z, AA, AB, …"""
    out = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        out = chr(65 + rem) + out
    return out
