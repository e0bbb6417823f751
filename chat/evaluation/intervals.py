"""95% intervals: a seeded two-stage bootstrap (questions, then repeats within them) and Wilson's for a rate."""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np

from chat.quantile import percentile

Z95 = 1.959963984540054
MIN_ANSWERS = 5  # below this a figure is shown alone: an interval from 4 answers would only look precise


@dataclass(frozen=True)
class Figure:
    """A figure people decide on, with its 95% interval (None when too few answers give one)."""

    value: float | None
    low: float | None = None
    high: float | None = None
    n: int = 0  # answers behind it

    @property
    def few(self) -> bool:
        return self.n < MIN_ANSWERS

    def as_json(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n}


def wilson(successes: int, n: int, effective_n: float | None = None) -> Figure:
    """A rate with Wilson's score interval, which stays inside 0..1 and behaves at 0 and n.

    effective_n: when answers come in clusters (repeats of one question), fewer than n independent ones;
    the interval is then Wilson's at that size, so ten repeats of one question do not count as ten questions.
    """
    if n == 0:
        return Figure(None, n=0)
    p = successes / n
    if n < MIN_ANSWERS:
        return Figure(p, n=n)
    shown_n = n
    n = min(n, effective_n) if effective_n else n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return Figure(p, max(0.0, centre - half), min(1.0, centre + half), shown_n)


class Resampler:
    """Bootstrap replicates of a run, shared by every candidate so comparisons are paired by question.

    Each replicate draws the run's questions with replacement, then, within each drawn question, as many
    answers with replacement as the run has repeats: every question weighs the same.
    """

    def __init__(self, questions: list[str], replicates: int = 2000, seed: int = 20261201, repeats: int = 1):
        self.questions = list(questions)
        self.index = {q: i for i, q in enumerate(self.questions)}
        self.replicates = replicates
        self.repeats = max(1, repeats)
        rng = np.random.default_rng(seed)
        self.drawn = rng.integers(0, len(self.questions), size=(replicates, len(self.questions)))
        self.within = rng.random((replicates, len(self.questions), self.repeats))
        self._flat: dict[tuple, np.ndarray] = {}  # answers per question -> where each draw lands in the table

    def samples(self, by_question: dict[str, list[float]]) -> np.ndarray | None:
        """(replicates, draws) values: questions drawn in this run's order, answers drawn within each.

        A question with no value for this candidate (every answer failed) draws from all its values, so the
        replicate keeps its shape and its pairing with the other candidates.
        """
        pooled = [v for values in by_question.values() for v in values]
        if not pooled:
            return None
        counts = [len(by_question.get(q) or ()) or len(pooled) for q in self.questions]
        width = max(counts)
        table = np.empty((len(self.questions), width))
        for q, i in self.index.items():
            values = by_question.get(q) or pooled
            table[i, :len(values)] = values
        key = tuple(counts)
        if key not in self._flat:  # candidates of one run mostly share their counts: the indices are drawn once
            n = np.asarray(counts)
            rep = (self.within * n[self.drawn][..., None]).astype(np.intp)  # each below its question's count
            self._flat[key] = (self.drawn[..., None] * width + rep).reshape(self.replicates, -1)
        return table.ravel()[self._flat[key]]

    def percentiles(self, by_question: dict[str, list[float]], ps: tuple[float, ...]
                    ) -> tuple[list[Figure], list[np.ndarray | None]]:
        """Each p-quantile with its interval, and its value in every replicate (for paired comparisons)."""
        values = [v for vs in by_question.values() for v in vs]
        if not values:
            return [Figure(None, n=0) for _ in ps], [None for _ in ps]
        # numpy's default percentile is chat.quantile's: the point and its replicates are the same figure
        points = [percentile(values, p) for p in ps]
        drawn = self.samples(by_question)
        reps = np.percentile(drawn, [p * 100 for p in ps], axis=1)
        return [self._figure(v, r, len(values)) for v, r in zip(points, reps)], list(reps)

    def mean(self, by_question: dict[str, list[float]]) -> tuple[Figure, np.ndarray | None]:
        values = [v for vs in by_question.values() for v in vs]
        if not values:
            return Figure(None, n=0), None
        reps = self.samples(by_question).mean(axis=1)
        return self._figure(statistics.fmean(values), reps, len(values)), reps

    @staticmethod
    def _figure(value: float, reps: np.ndarray, n: int) -> Figure:
        if n < MIN_ANSWERS:
            return Figure(value, n=n)
        low, high = np.percentile(reps, [2.5, 97.5])
        return Figure(value, float(low), float(high), n)


def effective_size(resampler: Resampler, by_question: dict[str, list[float]]) -> float | None:
    """How many independent answers a clustered 0/1 sample is worth: p(1-p) over the bootstrap's variance of p."""
    values = [v for vs in by_question.values() for v in vs]
    if len(values) < MIN_ANSWERS:
        return None
    p = statistics.fmean(values)
    _, reps = resampler.mean(by_question)
    spread = float(np.var(reps))
    if p in (0.0, 1.0) or spread == 0:
        return None  # nothing varies: Wilson's own n is all there is to go on
    return max(1.0, min(len(values), p * (1 - p) / spread))


def beats(a: np.ndarray | None, b: np.ndarray | None, lower_is_better: bool) -> float | None:
    """The share of paired replicates in which A's figure is better than B's (ties count half)."""
    if a is None or b is None:
        return None
    better = (a < b) if lower_is_better else (a > b)
    return float(better.mean() + 0.5 * (a == b).mean())


def repeats_needed(a: np.ndarray | None, b: np.ndarray | None, repeats: int, margin: float) -> int | None:
    """Repeats per question at which a difference of `margin` between A and B would clear the 95% interval,
    assuming the spread of the difference shrinks as 1/sqrt(repeats) (between-question spread does not; then
    more questions, not more repeats, are what help)."""
    if a is None or b is None or margin <= 0:
        return None
    se = float(np.std(a - b))
    if se == 0:
        return repeats
    return max(repeats, math.ceil(repeats * (Z95 * se / margin) ** 2))
