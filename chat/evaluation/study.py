"""A run's full results in one place, for the CLI, the UI and the exported report alike."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from chat.evaluation import report
from chat.engine.pricing import PriceTable
from chat.evaluation.ratings import DEFAULT_RUBRIC, RatingStats, Rubric, rating_stats
from chat.evaluation.results import ModelStats, QuestionStats, model_stats, question_stats, run_rows
from chat.evaluation.runs import RunError
from chat.storage import runs as queries
from chat.storage.store import Store


@dataclass(frozen=True)
class RunSummary:
    run: dict
    rows: list[dict]
    models: list[ModelStats]
    questions: list[QuestionStats]
    ratings: list[RatingStats]
    rubric: Rubric

    @property
    def question_set(self) -> dict:
        return json.loads(self.run["set_json"])

    def export(self, out_dir: Path, prices: PriceTable) -> tuple[Path, Path]:
        return report.write(out_dir, self.run, self.rows, self.models, self.questions, self.ratings,
                            [c.id for c in self.rubric.criteria], prices)


def list_runs(store: Store) -> list[dict]:
    store.flush()
    return queries.runs_with_counts(store)


def summarize(store: Store, run_id: str, rubric: Rubric = DEFAULT_RUBRIC) -> RunSummary:
    store.flush()
    found = queries.run(store, run_id)
    if found is None:
        raise RunError(f"no run {run_id!r} in {store.path}")
    rows = run_rows(store, run_id)
    return RunSummary(found, rows, model_stats(rows), question_stats(rows), rating_stats(store, rows, rubric), rubric)
