"""95% intervals that hold at the sizes teams run (10 questions x 3 or x 10 repeats), checked by simulation in
tests/test_coverage.py; docs/methods.md says each method in a paragraph.

Answers to one question are alike (a hard question is slow and badly rated every time), so every interval here
treats the question, not the answer, as the unit: a mean is a t interval over the question means, a rate and a
percentile use the effective number of independent answers. Where the data cannot bound a figure on one side
(a p95 from 30 answers has no upper bound), that side is None and the words say so.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np

from chat.quantile import percentile

Z95 = 1.959963984540054
Z80 = 0.8416212335729143  # 80% power, one side
MIN_ANSWERS = 5  # below this a figure is shown alone: an interval from 4 answers would only look precise
# Student's t, 97.5% point, by degrees of freedom (1..30); past 30 a Cornish-Fisher expansion is exact to 1e-4
_T975 = (12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281, 2.2010, 2.1788, 2.1604,
         2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555,
         2.0518, 2.0484, 2.0452, 2.0423)


def t975(df: int) -> float:
    if df < 1:
        return math.inf
    if df <= len(_T975):
        return _T975[df - 1]
    z = Z95
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df)


@dataclass(frozen=True)
class Figure:
    """A figure people decide on, with its 95% interval. Both ends None: too few answers for any interval; only
    `high` None: the data bound it from below only (a p95 from too few answers)."""

    value: float | None
    low: float | None = None
    high: float | None = None
    n: int = 0  # answers (or attempts, for a rate) behind it

    @property
    def few(self) -> bool:
        return self.n < MIN_ANSWERS

    @property
    def open_above(self) -> bool:
        return self.value is not None and self.low is not None and self.high is None

    def as_json(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n}


def _values(by_question: dict[str, list[float]]) -> list[float]:
    return [v for vs in by_question.values() for v in vs]


def question_mean(by_question: dict[str, list[float]], lowest: float = -math.inf,
                  highest: float = math.inf) -> Figure:
    """The mean over questions (each weighs the same, however many of its answers succeeded), with a t interval
    over the question means: k questions give k - 1 degrees of freedom, however many repeats each has."""
    means = [statistics.fmean(vs) for vs in by_question.values() if vs]
    n = sum(len(vs) for vs in by_question.values())
    if not means:
        return Figure(None, n=0)
    value = statistics.fmean(means)
    if n < MIN_ANSWERS or len(means) < 2:
        return Figure(value, n=n)
    half = _t_half(means)
    return Figure(value, max(lowest, value - half), min(highest, value + half), n)


def _t_half(means: list[float]) -> float:
    """Half the 95% t interval of the mean of k question-level values: k - 1 degrees of freedom."""
    return t975(len(means) - 1) * statistics.stdev(means) / math.sqrt(len(means))


def effective_n(by_question: dict[str, list[float]], shrink: bool = True) -> float:
    """How many independent answers a clustered 0/1 sample is worth: p(1-p) over the between-question variance of
    the pooled share (k/(k-1) unbiased), shrunk by (t/z)^2 because that variance rests on only k questions; at
    most n. With no 0 or no 1 at all, sqrt(k n)."""
    groups = [vs for vs in by_question.values() if vs]
    n = sum(len(vs) for vs in groups)
    k = len(groups)
    if n == 0:
        return 0.0
    p = sum(map(sum, groups)) / n
    if k < 2:
        return float(n)
    if p in (0.0, 1.0):
        # nothing varies, so nothing tells how the rest would cluster: between every answer counting (n) and only
        # every question (k), their geometric mean. Ten clean questions do not rule out one question in fifteen
        # that always fails: (14/15)^10 is one half.
        return math.sqrt(k * n)
    var = k / (k - 1) * sum((len(vs) * (statistics.fmean(vs) - p)) ** 2 for vs in groups) / (n * n)
    if var <= 0:
        return float(n)
    return max(1.0, min(n, p * (1 - p) / var / ((t975(k - 1) / Z95) ** 2 if shrink else 1)))


def wilson(successes: int, n: int, effective: float | None = None) -> Figure:
    """A rate with Wilson's score interval at the effective size, which stays inside 0..1 and behaves at 0 and n."""
    if n == 0:
        return Figure(None, n=0)
    p = successes / n
    if n < MIN_ANSWERS:
        return Figure(p, n=n)
    m = min(n, effective) if effective else n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * m)) / (1 + z2 / m)
    half = Z95 * math.sqrt(p * (1 - p) / m + z2 / (4 * m * m)) / (1 + z2 / m)
    return Figure(p, 0.0 if p == 0 else max(0.0, centre - half), 1.0 if p == 1 else min(1.0, centre + half), n)


def clustered_rate(by_question: dict[str, list[float]]) -> Figure:
    """The share of 1s among 0/1 values grouped by question, with Wilson's interval at the effective size."""
    values = _values(by_question)
    return wilson(int(sum(values)), len(values), effective_n(by_question))


def _binomial_cdf(m: int, p: float) -> list[float]:
    """P(B <= j) for B ~ Binomial(m, p), j = 0..m, summed in log space so that m in the thousands stays exact."""
    out, total = [], 0.0
    for j in range(m + 1):
        total += math.exp(math.lgamma(m + 1) - math.lgamma(j + 1) - math.lgamma(m - j + 1)
                          + (j * math.log(p) if j else 0.0) + ((m - j) * math.log1p(-p) if m - j else 0.0))
        out.append(min(1.0, total))
    return out


def quantile(by_question: dict[str, list[float]], q: float) -> Figure:
    """The q-quantile with a distribution-free interval: order statistics whose ranks come from the binomial at the
    effective number of answers (how clustered the answers above and below the point are). No upper end when even
    the slowest answer is not above the quantile with 97.5% confidence (a p95 needs 72 independent answers)."""
    values = sorted(_values(by_question))
    n = len(values)
    if not values:
        return Figure(None, n=0)
    point = percentile(values, q)
    if n < MIN_ANSWERS:
        return Figure(point, n=n)
    below = {k: [float(v <= point) for v in vs] for k, vs in by_question.items()}
    # unshrunk: the order statistics' own discreteness is conservative enough (tests/test_coverage.py)
    m = max(1, int(effective_n(below, shrink=False)))
    cdf = _binomial_cdf(m, q)
    lower = max((j for j in range(1, m + 1) if cdf[j - 1] <= 0.025), default=0)
    upper = next((j for j in range(1, m + 1) if cdf[j - 1] >= 0.975), None)
    low = values[max(0, math.floor(n * lower / m) - 1)] if lower else None
    high = None if upper is None else values[min(n - 1, math.ceil(n * upper / m) - 1)]
    if high is None and n >= PARAMETRIC_FROM and values[0] > 0:
        high = max(point, _lognormal_upper(by_question, q))
    return Figure(point, low if low is not None else values[0], high, n)


PARAMETRIC_FROM = 20  # answers: below this a tail percentile keeps only its lower bound


def _lognormal_upper(by_question: dict[str, list[float]], q: float) -> float:
    """An upper 97.5% confidence bound on the q-quantile when times are log-normal across questions and repeats:
    the one-sided normal tolerance bound on the log scale (Natrella's approximation), at the effective number of
    answers that the split between questions and repeats gives. Used only where the order statistics give none."""
    groups = [[math.log(v) for v in vs] for vs in by_question.values() if vs]
    n, k = sum(map(len, groups)), len(groups)
    means = [statistics.fmean(g) for g in groups]
    centre = statistics.fmean(means)
    df_within = n - k
    within = sum((x - m) ** 2 for g, m in zip(groups, means) for x in g) / df_within if df_within else 0.0
    per_question = k / sum(1 / len(g) for g in groups)  # harmonic mean of answers per question
    between = max(0.0, (statistics.variance(means) if k > 1 else 0.0) - within / per_question)
    total = between + within
    if total <= 0:
        return math.exp(centre)
    design = 1 + (n / k - 1) * between / total
    m = max(3.0, min(n, n / design))
    zq, zc = statistics.NormalDist().inv_cdf(q), Z95
    a = 1 - zc * zc / (2 * (m - 1))
    b = zq * zq - zc * zc / m
    factor = (zq + math.sqrt(max(0.0, zq * zq - a * b))) / a
    return math.exp(centre + factor * math.sqrt(total))


# ---- paired comparisons ------------------------------------------------------------------------------------


def paired_difference(a: dict[str, list[float]], b: dict[str, list[float]]) -> Figure:
    """A's mean minus B's over the questions both answered, with a t interval over the per-question differences
    (pairing by question removes the question's own difficulty from the comparison). n: the fewer answers."""
    shared = [q for q in a if a[q] and b.get(q)]
    n = min(sum(len(a[q]) for q in shared), sum(len(b[q]) for q in shared)) if shared else 0
    diffs = [statistics.fmean(a[q]) - statistics.fmean(b[q]) for q in shared]
    if not diffs:
        return Figure(None, n=0)
    value = statistics.fmean(diffs)
    if len(diffs) < 2 or n < MIN_ANSWERS:
        return Figure(value, n=n)
    half = _t_half(diffs)
    return Figure(value, value - half, value + half, n)


def saving(a: dict[str, list[float]], b: dict[str, list[float]]) -> Figure:
    """How much cheaper A is than B, as a share of B's cost (1 - ratio of question means), with a jackknife t
    interval over questions on the log of the ratio."""
    shared = [q for q in a if a[q] and b.get(q)]
    ma = {q: statistics.fmean(a[q]) for q in shared}
    mb = {q: statistics.fmean(b[q]) for q in shared}
    total_a, total_b = sum(ma.values()), sum(mb.values())
    if not shared or total_a <= 0 or total_b <= 0:
        return Figure(None, n=0)
    value = 1 - total_a / total_b
    k = len(shared)
    logs = [math.log((total_a - ma[q]) / (total_b - mb[q])) for q in shared
            if total_a - ma[q] > 0 and total_b - mb[q] > 0] if k > 2 else []
    if len(logs) < k or k < 3:
        return Figure(value, n=k)
    centre = statistics.fmean(logs)
    se = math.sqrt((k - 1) / k * sum((x - centre) ** 2 for x in logs))
    log_ratio = math.log(total_a / total_b)
    half = t975(k - 1) * se
    return Figure(value, 1 - math.exp(log_ratio + half), 1 - math.exp(log_ratio - half), k)


@dataclass(frozen=True)
class Power:
    """Repeats per question at which a true difference of `margin` would clear the 95% interval 80% of the time;
    None with `more_questions` when the spread between questions alone rules that out at this many questions."""

    repeats: int | None
    more_questions: bool = False


def repeats_needed(a: dict[str, list[float]], b: dict[str, list[float]], repeats: int, margin: float) -> Power | None:
    """From the run's own scores: the spread of the per-question difference splits into a part between questions
    (more repeats do not shrink it) and a part within them (it shrinks as 1/repeats)."""
    shared = [q for q in a if len(a[q]) and len(b.get(q) or ())]
    if len(shared) < 3 or margin <= 0:
        return None
    within = lambda d: statistics.fmean([statistics.variance(d[q]) for q in shared if len(d[q]) > 1] or [0.0])  # noqa: E731
    wa, wb = within(a), within(b)
    diffs = [statistics.fmean(a[q]) - statistics.fmean(b[q]) for q in shared]
    noise = statistics.fmean([wa / len(a[q]) + wb / len(b[q]) for q in shared])
    between = max(0.0, statistics.variance(diffs) - noise)
    k = len(shared)
    room = k * (margin / (t975(k - 1) + Z80)) ** 2  # the variance of one question's difference that still separates
    if between >= room:
        return Power(None, more_questions=True)
    if wa + wb == 0:
        return Power(max(1, repeats))
    return Power(max(1, math.ceil((wa + wb) / (room - between))))


class Resampler:
    """Bootstrap replicates of a run, shared by every candidate so comparisons are paired by question: the chance
    one candidate's figure is better than another's (the pairs table). The intervals people decide on are not
    these percentiles: over 10 questions they run 10-40% too narrow (see the module's doc).

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
        pooled = _values(by_question)
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

    def percentile(self, by_question: dict[str, list[float]], q: float) -> np.ndarray | None:
        drawn = self.samples(by_question)
        return None if drawn is None else np.percentile(drawn, q * 100, axis=1)

    def mean(self, by_question: dict[str, list[float]]) -> np.ndarray | None:
        drawn = self.samples(by_question)
        return None if drawn is None else drawn.mean(axis=1)


def beats(a: np.ndarray | None, b: np.ndarray | None, lower_is_better: bool) -> float | None:
    """The share of paired replicates in which A's figure is better than B's (ties count half)."""
    if a is None or b is None:
        return None
    better = (a < b) if lower_is_better else (a > b)
    return float(better.mean() + 0.5 * (a == b).mean())
