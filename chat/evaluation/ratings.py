"""Rubrics, human and judge ratings stored against exchanges, and their aggregates (never mixed)."""
from __future__ import annotations

import itertools
import statistics
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from chat import safe_yaml
from chat.clock import now_iso
from chat.evaluation.results import candidate, label
from chat.storage import runs as queries
from chat.storage.rows import RATER_KINDS, RaterKind, Rating, Vote
from chat.storage.store import Store
from chat.wording import Worded

SCALES = ("1-5", "pass/fail")


class RubricError(Worded):
    """The rubric file is malformed, or a rating does not fit it; the message names the file and the field (an
    edge words it in the reader's language)."""


@dataclass(frozen=True)
class Criterion:
    id: str
    label: str


@dataclass(frozen=True)
class Rubric:
    criteria: tuple[Criterion, ...]
    scale: str = "1-5"
    acceptable: float = 4.0  # an answer is acceptable when its mean score reaches this (1-5), or all pass

    def check(self, criterion: str, score: float) -> float:
        if criterion not in {c.id for c in self.criteria}:
            raise RubricError("unknown criterion {criterion}; the rubric has {criteria}", criterion=repr(criterion),
                              criteria=", ".join(c.id for c in self.criteria))
        allowed = (1, 2, 3, 4, 5) if self.scale == "1-5" else (0, 1)
        if isinstance(score, bool) or not isinstance(score, (int, float)) or score not in allowed:
            raise RubricError("score for {criterion} must be one of {allowed} on the {scale} scale, got {score}",
                              criterion=repr(criterion), allowed=allowed, scale=self.scale, score=repr(score))
        return float(score)


DEFAULT_RUBRIC = Rubric((
    Criterion("answers", "Contains the answer to the question"),
    Criterion("concise", "Understood the intent and answered concisely"),
    Criterion("natural", "Sounds natural, like a person"),
))


def load_rubric(path: str | Path | None, name: str | None = None) -> Rubric:
    """A rubric from YAML; `name` is what messages call the file (an upload's own name, never a server path)."""
    if not path:
        return DEFAULT_RUBRIC
    path = Path(path)
    where = name or str(path)
    try:
        data = safe_yaml.load(path.read_bytes())
    except OSError as exc:
        raise RubricError(f"{where}: cannot read the rubric ({exc.strerror})") from None
    except safe_yaml.YamlError as exc:
        raise RubricError(f"{where}: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RubricError(f"{where}: a rubric is a mapping with 'scale', 'acceptable' and 'criteria' "
                          f"(see examples/rubric_passfail.yaml), not {type(data).__name__}")

    def at(key=None) -> str:
        return f"{where}: line {data.line_of(key)}" if isinstance(data, safe_yaml.Mapping) else where

    unknown = set(data) - {"scale", "acceptable", "criteria", "name", "description"}
    if unknown:
        raise RubricError(f"{at()}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    scale = str(data.get("scale", "1-5"))
    if scale not in SCALES:
        raise RubricError(f"{at('scale')}: field 'scale' must be one of {', '.join(SCALES)}, got {scale[:40]!r}")
    rows = data.get("criteria")
    if not isinstance(rows, list) or not rows:
        raise RubricError(f"{at('criteria')}: field 'criteria' must list at least one {{id, label}}")
    if len(rows) > 20:
        raise RubricError(f"{at('criteria')}: at most 20 criteria, got {len(rows)}")
    criteria, seen = [], set()
    for n, entry in enumerate(rows, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), (str, int)) or not isinstance(entry.get("label"), str) \
                or not str(entry["id"]).strip() or not entry["label"].strip():
            raise RubricError(f"{at('criteria')}: criterion {n} needs an 'id' and a 'label' of text")
        cid = str(entry["id"]).strip()
        if cid in seen:
            raise RubricError(f"{at('criteria')}: criterion id {cid!r} appears twice")
        seen.add(cid)
        criteria.append(Criterion(cid, entry["label"].strip()[:200]))
    default_bar = 4.0 if scale == "1-5" else 1.0
    bar = data.get("acceptable", default_bar)
    low, high = (1, 5) if scale == "1-5" else (0, 1)
    if isinstance(bar, bool) or not isinstance(bar, (int, float)) or not low <= bar <= high:
        raise RubricError(f"{at('acceptable')}: field 'acceptable' must be a number from {low} to {high} on the "
                          f"{scale} scale, got {str(bar)[:40]!r}")
    return Rubric(tuple(criteria), scale, float(bar))


def rate(store: Store, exchange_id: str, scores: dict[str, float], rubric: Rubric, rater: str,
         kind: RaterKind = "human", rationale: str | None = None, blind: bool = False) -> None:
    """Store one rater's scores for one exchange (one row per criterion): every score valid, or none saved."""
    if kind not in RATER_KINDS:
        raise ValueError(f"rater kind is one of {', '.join(RATER_KINDS)}")
    rater = (rater or "").strip()
    if not rater:
        raise RubricError("say who is rating: a name, or log in")
    if not scores:
        raise RubricError("pick a score for at least one criterion")
    checked = {criterion: rubric.check(criterion, score) for criterion, score in scores.items()}
    now = now_iso()
    store.append_many("ratings", [
        Rating(uuid.uuid4().hex, exchange_id, now, rater[:200], kind, criterion, score, rubric.scale, rationale,
               int(blind)) for criterion, score in checked.items()])


def vote(store: Store, compare_id: str, exchange_id: str, rater: str, verdict: str, blind: bool) -> None:
    store.append("votes", Vote(uuid.uuid4().hex, compare_id, exchange_id, now_iso(), rater, verdict, int(blind)))


@dataclass(frozen=True)
class RatingStats:
    model: str
    kind: RaterKind
    rated: int  # answers with at least one rating of this kind
    means: dict  # criterion -> mean score
    acceptable: int
    cost_per_acceptable: Decimal | None
    variant: str | None = None

    @property
    def label(self) -> str:
        return label(self.model, self.variant)


def rating_stats(store: Store, rows: list[dict], rubric: Rubric, ratings: list | None = None) -> list[RatingStats]:
    """Per model and rater kind: mean score per criterion, acceptable answers and cost per acceptable one
    (`ratings`: the rows' ratings when the caller has read them already)."""
    if not rows:
        return []
    by_id = {r.id: r for r in rows}
    if ratings is None:
        store.flush()
        ratings = queries.ratings_of(store, list(by_id))
    out = []
    key = lambda r: (*candidate(by_id[r.exchange_id]), r.rater_kind)  # noqa: E731
    for (model, variant, kind), group in itertools.groupby(sorted(ratings, key=key), key=key):
        group = list(group)
        per_answer: dict[str, dict[str, list[float]]] = {}
        for r in group:
            per_answer.setdefault(r.exchange_id, {}).setdefault(r.criterion, []).append(r.score)
        means = {c.id: statistics.fmean([s for a in per_answer.values() for s in a.get(c.id, [])] or [0])
                 for c in rubric.criteria if any(c.id in a for a in per_answer.values())}
        acceptable = 0
        for scores in per_answer.values():
            answer_mean = statistics.fmean(statistics.fmean(v) for v in scores.values())
            acceptable += answer_mean >= rubric.acceptable
        costs = [by_id[e].cost_usd for e in per_answer]
        cost = None
        if acceptable and all(c is not None for c in costs):
            cost = sum((Decimal(c) for c in costs), Decimal(0)) / acceptable
        out.append(RatingStats(model, kind, len(per_answer), means, acceptable, cost, variant or None))
    return out
