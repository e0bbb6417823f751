"""A run's full results in one place, for the CLI, the UI and the exported report alike."""
from __future__ import annotations

import json
import secrets
import statistics
from dataclasses import dataclass, field, replace
from pathlib import Path

from chat.engine.pricing import PriceTable
from chat.engine.token_ratios import TokenRatios
from chat.evaluation import report
from chat.evaluation.decision import Constraints, decide
from chat.evaluation.projection import project
from chat.evaluation.ratings import DEFAULT_RUBRIC, RatingStats, Rubric, rating_stats
from chat.evaluation.results import ModelStats, QuestionStats, model_stats, question_stats, run_rows
from chat.evaluation.runs import NoSuchRun
from chat.storage import runs as queries
from chat.storage.rows import Exchange, Run
from chat.storage.scope import Scope
from chat.storage.store import Store
from chat.wording import english


@dataclass(frozen=True)
class RunSummary:
    run: Run
    rows: list[Exchange]
    models: list[ModelStats]
    questions: list[QuestionStats]
    ratings: list[RatingStats]
    rubric: Rubric
    scores: dict = field(default_factory=dict)  # exchange id -> {human|judge: {criterion: mean}}

    @property
    def question_set(self) -> dict:
        return self.run.question_set

    def export(self, out_dir: Path, prices: PriceTable, per_day: int = 1000,
               constraints: Constraints | None = None, word=english,
               ratios: TokenRatios | None = None) -> tuple[Path, Path]:
        """The CSV and the HTML report, which leads with the decision under these constraints; `word` writes the
        report in the reader's language; `ratios` translate the run's tokens into other models' for its appendix."""
        constraints = constraints or Constraints()
        if constraints.per_day is None:
            constraints = replace(constraints, per_day=per_day)
        return report.write(out_dir, report.Report(self.run, self.rows, self.models, self.questions, self.ratings,
                                                   [c.id for c in self.rubric.criteria], self.question_set["questions"],
                                                   self.scores, decision=decide(self, constraints)), prices, per_day,
                            word=word, ratios=ratios)

    def export_blind(self, out_dir: Path, prices: PriceTable, per_day: int = 1000,
                     word=english) -> tuple[Path, Path, Path]:
        """The report with models named A, B, C… in a random order; the key to the letters in a file of its own."""
        real = self.run.models
        order = sorted(real, key=lambda _: secrets.randbits(32))
        letters = {name: word("Model {letter}", letter=_letter(i)) for i, name in enumerate(order)}
        rename = lambda name: letters.get(name, name)  # noqa: E731
        rows = [replace(r, model=rename(r.model), provider=None, error=_hide(r.error, letters)) for r in self.rows]
        # a projection names a candidate, which may be a model asked one way: 'gpt-4o · terse'
        projections = [replace(p, model=_hide(p.model, letters),
                               break_even=tuple(replace(e, api_model=_hide(e.api_model, letters)) for e in p.break_even))
                       for p in project(self.models, prices, per_day)]
        run = replace(self.run, models_json=json.dumps(sorted(letters.values())))
        stem = f"run-{self.run.id}-blind"
        blind = report.Report(run, rows, model_stats(rows), question_stats(rows),
                              [replace(s, model=rename(s.model)) for s in self.ratings],
                              [c.id for c in self.rubric.criteria], self.question_set["questions"], self.scores,
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


def list_runs(store: Store, scope: Scope = Scope()) -> list[Run]:
    store.flush()
    return queries.runs_with_counts(store, scope)


def answer_scores(store: Store, rows: list[Exchange], ratings: list | None = None) -> dict[str, dict]:
    """Per answer, the mean score per criterion from people and from the judge, kept apart."""
    collected: dict[str, dict[str, dict[str, list[float]]]] = {}
    for r in queries.ratings_of(store, [row.id for row in rows]) if ratings is None else ratings:
        collected.setdefault(r.exchange_id, {}).setdefault(r.rater_kind, {}).setdefault(r.criterion, []) \
            .append(r.score)
    return {eid: {kind: {c: statistics.fmean(v) for c, v in crit.items()} for kind, crit in kinds.items()}
            for eid, kinds in collected.items()}


def summarize(store: Store, run_id: str, rubric: Rubric = DEFAULT_RUBRIC, scope: Scope = Scope()) -> RunSummary:
    """A run's results, if the reader's scope lets them see the run (NoSuchRun otherwise, as for no run at all)."""
    store.flush()
    found = queries.run(store, run_id, scope)
    if found is None:
        raise NoSuchRun(run_id, store.where)
    rows = run_rows(store, run_id)
    ids = {row.id for row in rows}
    # read once for both aggregates; a retried cell's earlier attempt is not among the rows and does not count
    ratings = [r for r in queries.ratings_of_run(store, run_id) if r.exchange_id in ids]
    return RunSummary(found, rows, model_stats(rows), question_stats(rows), rating_stats(store, rows, rubric, ratings),
                      rubric, answer_scores(store, rows, ratings))
