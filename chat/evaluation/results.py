"""Run results: per-model latency, speed, cost and errors; per-question consistency across repeats."""
from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass
from decimal import Decimal

from chat.engine.token_ratios import billed_ratio, our_count
from chat.evaluation.caching import RunCache, run_cache
from chat.evaluation.questionsets import thawed
from chat.quantile import percentile
from chat.storage import runs as queries
from chat.storage.store import Store


def _mean(values):
    return statistics.fmean(values) if values else None


def _grams(text: str) -> set[str]:
    text = " ".join(text.split())
    return {text[i:i + 3] for i in range(max(1, len(text) - 2))}


def _jaccard(ga: set, gb: set) -> float:
    if not ga and not gb:
        return 1.0
    return len(ga & gb) / len(ga | gb)


def similarity(a: str, b: str) -> float:
    """Jaccard overlap of character trigrams: script-agnostic, so Korean and English answers compare alike."""
    return _jaccard(_grams(a), _grams(b))


def mean_similarity(texts: list[str]) -> float | None:
    """The mean similarity of every pair of texts (each text's trigrams taken once, not once per pair)."""
    grams = [_grams(t) for t in texts]
    pairs = [_jaccard(a, b) for a, b in itertools.combinations(grams, 2)]
    return _mean(pairs) if pairs else None


def label(model: str, variant: str | None) -> str:
    """How a candidate, a model asked one way, is named in tables, charts and reports."""
    return f"{model} · {variant}" if variant else model


def candidates(run) -> list[str]:
    """Every candidate of a run, labelled, in the order it was started with: each model asked each way."""
    variants = [v.name for v in thawed(run.set_json).variants] or [None]
    return [label(m, v) for m in run.models for v in variants]


def candidate(row) -> tuple[str, str]:
    """The (model, variant) an answer belongs to; '' for a run's only way of asking, so keys sort."""
    return row.model or "", row.variant or ""


def latest_cells(rows: list[dict]) -> list[dict]:
    """The last attempt of every (model, variant, question, repeat): a resumed run's retry replaces its failure."""
    latest: dict = {}
    for row in sorted(rows, key=lambda r: r.created_at):
        latest[(row.model, row.variant, row.question_id, row.repeat_index)] = row
    return list(latest.values())


@dataclass(frozen=True)
class ModelStats:
    model: str
    cells: int
    ok: int
    error_rate: float
    ttft_mean_ms: float | None
    ttft_p50_ms: float | None
    ttft_p95_ms: float | None
    latency_mean_ms: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    tokens_per_s: float | None
    mean_output_tokens: float | None
    cost_per_question: Decimal | None  # None: unpriced
    cost_per_1000: Decimal | None
    estimated_share: float  # fraction of answers whose tokens were estimated
    variant: str | None = None  # the way of asking (None: the run's only one)
    mean_input_tokens: float | None = None
    # the system prompt (the FAQ) in this model's tokens: what its vendor cached when it did, else our count of it
    # at the ratio each answer's own bill shows; None without one
    prefix_tokens: float | None = None
    token_ratio: float | None = None  # input tokens billed per token of our count (o200k_base), over the run
    token_ratio_answers: int = 0
    token_script: str | None = None  # hangul or latin: what most of the run's prompts were written in
    run_cache: RunCache | None = None  # how the run's vendor billed the cached FAQ, where it cached it

    @property
    def label(self) -> str:
        return label(self.model, self.variant)


@dataclass(frozen=True)
class QuestionStats:
    model: str
    question_id: str
    n: int
    mean_chars: float
    chars_cv: float | None  # spread of length: stdev / mean
    latency_stdev_ms: float | None
    similarity: float | None  # mean pairwise similarity of the answers across repeats
    variant: str | None = None

    @property
    def label(self) -> str:
        return label(self.model, self.variant)


def model_stats(rows: list[dict]) -> list[ModelStats]:
    out = []
    for (model, variant), group in itertools.groupby(sorted(rows, key=candidate), key=candidate):
        group = list(group)
        ok = [r for r in group if r.status == "ok"]
        ttft = [r.ttft_ms for r in ok if r.ttft_ms is not None]
        lat = [r.latency_ms for r in ok if r.latency_ms is not None]
        tps = [r.output_tokens_per_s for r in ok if r.output_tokens_per_s]
        costs = [r.cost_usd for r in ok]
        cost = None
        if ok and all(c is not None for c in costs):
            cost = sum((Decimal(c) for c in costs), Decimal(0)) / len(ok)
        out.append(ModelStats(
            model=model, variant=variant or None, cells=len(group), ok=len(ok), error_rate=1 - len(ok) / len(group),
            ttft_mean_ms=_mean(ttft), ttft_p50_ms=percentile(ttft, 0.5), ttft_p95_ms=percentile(ttft, 0.95),
            latency_mean_ms=_mean(lat), latency_p50_ms=percentile(lat, 0.5), latency_p95_ms=percentile(lat, 0.95),
            tokens_per_s=_mean(tps), mean_output_tokens=_mean([r.output_tokens for r in ok]),
            cost_per_question=cost, cost_per_1000=None if cost is None else cost * 1000,
            estimated_share=sum(r.usage_source == "estimate" for r in ok) / len(ok) if ok else 0.0,
            mean_input_tokens=_mean([r.input_tokens for r in ok if r.input_tokens is not None]),
            run_cache=run_cache(ok), **ratio_and_prefix(ok),
        ))
    return out


def _billed(ok: list) -> list[tuple]:
    """(answer, its billed ratio to our count, its script) for each answer whose input its provider reported."""
    out = []
    for r in ok:
        found = billed_ratio(r.messages_json, r.input_tokens) if r.usage_source == "provider" else None
        if found is not None:
            out.append((r, found[1], found[2]))
    return out


def ratio_and_prefix(ok: list) -> dict:
    """The vendor's tokens per token of our count over the run's answers (and the script they were in), and the
    system prompt in the model's own tokens as a cache would hold it (see ModelStats.prefix_tokens)."""
    billed = _billed(ok)
    out: dict = {}
    if billed:
        scripts = [script for _, _, script in billed]
        out.update(token_ratio=statistics.fmean(ratio for _, ratio, _ in billed), token_ratio_answers=len(billed),
                   token_script=max(set(scripts), key=scripts.count))
    cached = [(r.cached_tokens or 0) + (r.cache_write_tokens or 0) for r in ok]
    if any(cached):
        out["prefix_tokens"] = float(max(cached))  # the vendor's own figure for the prefix it cached
    else:
        # the system message's share of our count (its framing included), at each answer's billed ratio
        sizes = [our_count([{"role": "system", "content": r.system}]) * ratio for r, ratio, _ in billed if r.system]
        if sizes:
            out["prefix_tokens"] = statistics.fmean(sizes)
    return out


def question_stats(rows: list[dict]) -> list[QuestionStats]:
    out = []
    key = lambda r: (*candidate(r), r.question_id)  # noqa: E731
    for (model, variant, qid), group in itertools.groupby(sorted(rows, key=key), key=key):
        ok = [r for r in group if r.status == "ok"]
        if not ok:
            continue
        lengths = [len(r.reply or "") for r in ok]
        mean_len = statistics.fmean(lengths)
        lat = [r.latency_ms for r in ok]
        out.append(QuestionStats(
            model=model, variant=variant or None, question_id=qid, n=len(ok), mean_chars=mean_len,
            chars_cv=(statistics.pstdev(lengths) / mean_len) if len(ok) > 1 and mean_len else None,
            latency_stdev_ms=statistics.pstdev(lat) if len(ok) > 1 else None,
            similarity=mean_similarity([r.reply or "" for r in ok]),
        ))
    return out


def run_rows(store: Store, run_id: str) -> list[dict]:
    store.flush()
    # a cell still streaming has no answer yet
    return latest_cells(queries.answers(store, run_id))
