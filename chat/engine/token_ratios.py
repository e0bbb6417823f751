"""How many tokens a model's vendor bills for what we count as one, learned from the log, per script.

Our own count is tiktoken's o200k_base over the messages with OpenAI's chat framing (chat.engine.tokens): the
same count for every model, so two models' ratios translate one's tokens into the other's. Each logged answer
whose input the provider reported gives one ratio per distinct prompt sent; their mean and 95% interval are the
model's. Until a model has answered, its family's prior from pricing.yaml stands in, marked as one.
"""
from __future__ import annotations

import json
import logging
import math
import statistics
import threading
import time
from dataclasses import dataclass, fields
from typing import Literal

from chat.engine.models import resolve
from chat.engine.pricing import Cost, PriceTable, cost_of
from chat.engine.token_priors import SCRIPTS, Script, prior_for
from chat.engine.tokens import count_messages
from chat.engine.usage import Usage
from chat.storage.backend import StoreError, database_errors
from chat.storage.billed import billed_inputs
from chat.storage.grams import HANGUL
from chat.storage.store import Store

log = logging.getLogger(__name__)
REFERENCE_MODEL = "gpt-4o"  # whose tokenizer (o200k_base) is our count for every model
LEARN_FROM = 200  # latest answers per model
SAFE_AFTER = 3  # distinct prompts before a learned upper bound replaces the prior's for caps
STALE_S = 5.0  # a model's ratio is learned again at most this often after a new answer
REFRESH_S = 60.0  # and at least this often while it is used
FALLBACK = {"hangul": (1.5, 2.0), "latin": (1.2, 1.5)}  # a pricing.yaml without token_ratios: wide and safe
# Student's t at 97.5% by degrees of freedom; beyond 30, the normal's 1.96 is within 2%
_T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


@dataclass(frozen=True)
class Ratio:
    """Vendor tokens per token of our count, for one model and script."""

    mean: float
    low: float
    high: float  # what a spend cap reserves
    answers: int  # distinct prompts it was learned from; 0 for a prior
    source: Literal["learned", "prior"]
    family: str  # the prior's family (or where the fallback came from)

    @property
    def exact(self) -> bool:
        """Our tokenizer is the vendor's (its family's prior says exactly 1), and nothing learned says otherwise."""
        return self.source == "prior" and self.low == self.mean == 1.0

    def tokens(self, counted: int, bound: Literal["mean", "low", "high"] = "mean") -> int:
        """Our count in this vendor's tokens: rounded up for the high a cap reserves, to nearest otherwise."""
        value = counted * getattr(self, bound)
        return math.ceil(value - 1e-9) if bound == "high" else round(value)


def script_of(text: str) -> Script:
    """'hangul' for text mostly in Hangul, 'latin' otherwise (letters only: digits and marks cost the same).
    A plain loop with the ranges inline: on a long Korean FAQ it measured faster than two regular-expression passes
    (640 against 740 µs) and than a loop over the ranges (4,300 µs)."""
    (a, b), (c, d), (e, f) = HANGUL
    hangul = latin = 0
    for ch in text:
        o = ord(ch)
        if a <= o <= b or c <= o <= d or e <= o <= f:
            hangul += 1
        elif ch.isalpha():
            latin += 1
    return "hangul" if hangul >= latin and hangul else "latin"


def billed_ratio(messages_json: str | None, billed: int | None) -> tuple[list[dict], float, Script] | None:
    """One logged answer's messages, the tokens its vendor billed per token of our count, and their script; None
    when the answer says nothing of it."""
    if not messages_json or not billed:
        return None
    messages = json.loads(messages_json)
    counted = our_count(messages)
    return (messages, billed / counted, script_of(sent_text(messages))) if counted else None


def sent_text(messages: list[dict]) -> str:
    return "\n".join(str(m.get("content") or "") for m in messages)


def our_count(messages: list[dict]) -> int:
    """Our count of what was sent: o200k_base, with OpenAI's framing, whichever model it went to."""
    return count_messages(messages, REFERENCE_MODEL)[0]


def learned(pairs: list[tuple[str, int]]) -> dict[Script, list[float]]:
    """Each distinct prompt's ratio of billed to counted tokens, by script (the latest answer of each prompt)."""
    out = {s: [] for s in SCRIPTS}
    for sent, billed in dict(reversed(pairs)).items():  # repeats of one prompt are one observation, not n
        found = billed_ratio(sent, billed)
        if found is not None:
            out[found[2]].append(found[1])
    return out


def interval(ratios: list[float]) -> tuple[float, float, float]:
    """(mean, low, high) at 95%; with one observation the interval is that point."""
    mean = statistics.fmean(ratios)
    if len(ratios) < 2:
        return mean, mean, mean
    half = _T975[min(len(ratios) - 2, len(_T975) - 1)] * statistics.stdev(ratios) / math.sqrt(len(ratios))
    return mean, mean - half, mean + half


class TokenRatios:
    """Each model's ratios, learned from the log and kept a while; `forget` after a new answer of the model."""

    def __init__(self, store: Store, prices: PriceTable):
        self.store, self.prices = store, prices
        self._cache: dict[str, tuple[float, dict[Script, list[float]]]] = {}
        self._stale: set[str] = set()
        self._learning: list[str] = []  # models to learn apart from the requests, in turn (a thread while any)
        self._lock = threading.Lock()

    def ratio(self, model: str, script: Script, endpoint: str | None = None, priced_as: str | None = None,
              wait: bool = True) -> Ratio:
        """model: the name its answers are logged under; its family is found by the name it is priced as, and only
        among the families that hold on its endpoint. wait=False (a request): never wait on the log."""
        seen = self._observed(model, wait)[script]
        prior = self._prior(priced_as or model, script, endpoint)
        if not seen:
            return prior
        mean, low, high = interval(seen)
        low, high = min(low, min(seen)), max(high, max(seen))
        if len(seen) < SAFE_AFTER:
            high = max(high, prior.high)  # too few prompts to bound it: the prior's high still stands
        return Ratio(mean, max(low, 0.0), high, len(seen), "learned", prior.family)

    def answered(self, model: str) -> None:
        """The model's provider reported another input: learn again at the next look (at most every STALE_S)."""
        with self._lock:
            self._stale.add(model)

    def forget(self, model: str) -> None:
        """Learn again at the next look, now."""
        with self._lock:
            self._cache.pop(model, None)

    def _prior(self, model: str, script: Script, endpoint: str | None) -> Ratio:
        prior = prior_for(self.prices.token_priors, model, endpoint)
        if prior is None:
            ratio, high = FALLBACK[script]
            return Ratio(ratio, ratio, high, 0, "prior", "built-in fallback")
        guess = prior.guesses[script]
        return Ratio(guess.ratio, guess.low, guess.high, 0, "prior", prior.family)

    def _observed(self, model: str, wait: bool = True) -> dict[Script, list[float]]:
        with self._lock:
            cached = self._cache.get(model)
            age = time.monotonic() - cached[0] if cached is not None else None
            # answers this process logged make it stale; other processes' answers are picked up within REFRESH_S
            fresh = age is not None and age < REFRESH_S and (model not in self._stale or age < STALE_S)
            if fresh:
                return cached[1]
            if not wait:
                # a request never waits on the log for this: what is known (or the prior) now; the model is learned
                # by one thread of the process's own, in turn with any others asked for, ready for the next request
                if model not in self._learning:
                    self._learning.append(model)
                    if len(self._learning) == 1:
                        threading.Thread(target=self._learn_apart, daemon=True, name="token-ratios").start()
                return cached[1] if cached is not None else {s: [] for s in SCRIPTS}
            self._stale.discard(model)
        return self._learn(model)

    def _learn_apart(self) -> None:
        while True:
            with self._lock:
                if not self._learning:
                    return
                model = self._learning[0]
                self._stale.discard(model)
            try:
                self._learn(model)
            finally:
                with self._lock:
                    self._learning.remove(model)

    def _learn(self, model: str) -> dict[Script, list[float]]:
        try:
            pairs = billed_inputs(self.store, model, LEARN_FROM)
        except (*database_errors(), StoreError, ValueError) as exc:
            # the log is out of reach (a server down, a file locked): what was known, or the prior, stands in
            log.warning("token ratios for %s: the log cannot be read now (%s); using what was known", model,
                        " ".join(str(exc).split())[:200])
            with self._lock:  # tried again at the next refresh, not at every request while the log is away
                cached = self._cache.get(model)
                observed = cached[1] if cached is not None else {s: [] for s in SCRIPTS}
                self._cache[model] = (time.monotonic(), observed)
            return observed
        observed = learned(pairs)
        with self._lock:
            self._cache[model] = (time.monotonic(), observed)
        return observed


_OUTPUT_SIDE = {"output_tokens", "reasoning_tokens"}


def translated(usage: Usage, factor_in: float, factor_out: float) -> Usage:
    """Token counts as another model would count the same text: input and output each by their own factor."""
    return Usage(**{f.name: round(getattr(usage, f.name) * (factor_out if f.name in _OUTPUT_SIDE else factor_in))
                    for f in fields(Usage)})


@dataclass(frozen=True)
class Elsewhere:
    model: str
    cost: Cost
    ratio: Ratio  # the other model's ratio for the input's script, which the input was translated through


def costs_elsewhere(engine, record) -> list[Elsewhere]:
    """What this exchange's text would cost on every other priced model, cheapest first: its tokens translated
    through this model's ratio to our count and then the other's (each learned or a prior), the prompt's and the
    reply's each by its own script."""
    scripts = script_of(record.prompt or ""), script_of(record.reply or "")
    try:
        model = engine.resolve(record.model)
        this = tuple(engine.token_ratio(model, s, wait=False) for s in scripts)
    except Exception:  # a name that no longer resolves: its counts are taken as our own
        this = None
    return _priced_elsewhere(engine.ratios, [(Usage.of_row(record), scripts, this)], skip=record.model)


def run_costs_elsewhere(ratios: TokenRatios, records) -> list[Elsewhere]:
    """What a run's answers would have cost had every one gone to each priced model, cheapest first: each model's
    tokens translated through its own ratio and the other model's, by the scripts of the prompts and replies."""
    groups: dict[tuple, Usage] = {}
    for r in records:
        key = (r.model, script_of(r.prompt or ""), script_of(r.reply or ""))
        groups[key] = groups.get(key, Usage()) + Usage.of_row(r)
    counted = []
    for (name, *scripts), usage in groups.items():
        try:
            model = resolve(name, ratios.prices)
            this = tuple(ratios.ratio(model.name, s, model.endpoint.name,
                                      model.price.priced_as if model.price is not None else None, wait=False)
                         for s in scripts)
        except Exception:  # a name that no longer resolves: its counts are taken as our own
            this = None
        counted.append((usage, tuple(scripts), this))
    return _priced_elsewhere(ratios, counted)


def _priced_elsewhere(ratios: TokenRatios, counted, skip: str | None = None) -> list[Elsewhere]:
    """counted: (usage, (prompt script, reply script), this model's ratios for them or None: our own count)."""
    if not counted:
        return []
    main = max(counted, key=lambda c: c[0].input_tokens)[1][0]  # the script most of the input was in
    out = []
    for price in ratios.prices:
        if price.model == skip or price.basis != "tokens" or not (price.rates.input or price.rates.output):
            continue
        # shown at once with what is known (each model learned apart): a page never waits on the log for sixty models
        other = {s: ratios.ratio(price.model, s, price.provider, wait=False) for s in SCRIPTS}
        total = None
        for usage, (s_in, s_out), this in counted:
            mine = this or (other[s_in], other[s_out])
            cost = cost_of(translated(usage, other[s_in].mean / mine[0].mean, other[s_out].mean / mine[1].mean), price)
            total = cost if total is None else _added(total, cost)
        out.append(Elsewhere(price.model, total, other[main]))
    return sorted(out, key=lambda e: e.cost.total)


def _added(a: Cost, b: Cost) -> Cost:
    return Cost(a.uncached_input + b.uncached_input, a.cached_input + b.cached_input, a.cache_write + b.cache_write,
                a.output + b.output)
