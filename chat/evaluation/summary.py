"""A run's full results in one place, for the CLI, the UI and the exported report alike."""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from chat.evaluation.questionsets import QuestionSet, thawed
from chat.evaluation.ratings import DEFAULT_RUBRIC, RatingStats, Rubric, rating_stats
from chat.evaluation.results import ModelStats, QuestionStats, model_stats, question_stats, run_rows
from chat.evaluation.runs import NoSuchRun
from chat.storage import runs as queries
from chat.storage.rows import Exchange, Run
from chat.storage.scope import Scope
from chat.storage.store import Store


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
    def question_set(self) -> QuestionSet:
        """The set as the run asked it, read back from what the run kept."""
        return thawed(self.run.set_json)


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
