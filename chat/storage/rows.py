"""How an exchange row is stored: each message text once, by content address; money as numbers."""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import MISSING, dataclass, fields
from typing import ClassVar, Literal, get_args

Status = Literal["ok", "error", "aborted", "timeout", "interrupted", "streaming"]
STATUSES: tuple[Status, ...] = get_args(Status)  # an exchange's status column holds one of these, nothing else
MONEY = ("cost_usd", "input_cost", "output_cost", "uncached_input_cost", "cached_input_cost", "cache_write_cost",
         "compute_cost")


def message_id(role: str, content) -> str:
    """The content address of a message (role and text), so each is stored once however often it is sent."""
    return hashlib.sha256(f"{role}\x00{content}".encode("utf-8", "surrogatepass")).hexdigest()[:24]


class MessageCache:
    """Ids the writer knows are on disk, so a conversation's repeated messages cost no insert each turn.

    An id counts as known only once its transaction commits; a rollback forgets what it inserted.
    """

    LIMIT = 100_000

    def __init__(self):
        self.known: set[str] = set()
        self.pending: set[str] = set()

    def commit(self) -> None:
        if len(self.known) + len(self.pending) > self.LIMIT:
            self.known.clear()
        self.known |= self.pending
        self.pending.clear()

    def rollback(self) -> None:
        self.pending.clear()

    def clear(self) -> None:
        self.known.clear()
        self.pending.clear()


def split_exchange(conn, row: dict, cache: MessageCache | None = None) -> dict:
    """A row as the engine logs it -> the stored shape: messages stored once by id, money as numbers."""
    row = dict(row)
    if "system" in row:
        system = row.pop("system")
        row["system_id"] = _put_message(conn, "system", system, cache) if system else None
    if "messages_json" in row:
        raw = row.pop("messages_json")
        messages = json.loads(raw) if raw else []
        row["message_ids"] = json.dumps([_put_message(conn, m.get("role"), m.get("content"), cache)
                                         for m in messages])
    if any(key in row for key in MONEY):
        exact = {key: str(row[key]) for key in MONEY if row.get(key) is not None}
        row["cost_exact"] = json.dumps(exact) if exact else None
        for key in exact:
            row[key] = float(row[key])
    return row


def _put_message(conn, role, content, cache: MessageCache | None) -> str:
    if not isinstance(content, str):
        content = json.dumps(content, ensure_ascii=False)
    key = message_id(role, content)
    if cache is None or key not in cache.known:
        conn.execute("INSERT INTO messages (id, role, content) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
                     [key, role, content])
        if cache is not None:
            cache.pending.add(key)
    return key


def exact_money(row: dict) -> dict:
    """A stored row with its money as exact Decimal strings again (the REAL columns are for SQL)."""
    exact = row.pop("cost_exact", None)
    if exact:
        row.update(json.loads(exact))
    return row


UsageSource = Literal["provider", "estimate"]
# why the model stopped: its own end, the max tokens it was given, a provider's filter, a tool call; a provider's
# other words are kept as it said them
FinishReason = Literal["stop", "max_tokens", "content_filter", "tool_use"] | str
CostBasis = Literal["tokens", "compute"]
RaterKind = Literal["human", "judge"]
RATER_KINDS: tuple[RaterKind, ...] = get_args(RaterKind)


class _Record:
    """A typed row: built from a stored row (any schema version) and turned back into one only in storage.

    Unknown columns are dropped and a column an older database never had reads as None. Indexing by column
    name (`ex["model"]`) is kept for serialisers and tests; code reads attributes.
    """

    QUERIED: ClassVar[tuple[str, ...]] = ()  # fields a query fills in, never written

    @classmethod
    def from_row(cls, row: dict):
        # a stored row is already the record's shape: filling the instance directly skips the frozen __init__'s
        # per-field setattr, which made reading a 3,000-answer run's rows a third of its summary's time
        absent = _required(cls) - row.keys()
        if absent:
            raise TypeError(f"{cls.__name__} row lacks {', '.join(sorted(absent))}")
        values = dict(_defaults(cls))
        values.update({k: row[k] for k in _names(cls) if k in row})
        record = object.__new__(cls)
        record.__dict__.update(values)
        return record

    def to_row(self) -> dict:
        """The columns a table stores (a figure a query adds, such as a run's answer count, is not one)."""
        return {k: getattr(self, k) for k in _names(type(self)) if k not in type(self).QUERIED}

    def __getitem__(self, key: str):
        if key not in _names(type(self)):
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default=None):
        return getattr(self, key) if key in _names(type(self)) else default


@functools.cache
def _names(cls) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


@functools.cache
def _defaults(cls) -> dict:
    """Each field's default; a field with none (the id) must be in the row."""
    return {f.name: f.default for f in fields(cls) if f.default is not MISSING}


@functools.cache
def _required(cls) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls) if f.default is MISSING)


@dataclass(frozen=True)
class Exchange(_Record):
    """One exchange as logged: what was asked of which model, what came back, what it cost, how fast.

    Money fields hold the exact Decimal text (`Decimal(x)` to compute); None is unpriced, never $0.
    """

    id: str
    created_at: str | None = None  # UTC, 'Z', milliseconds
    session_id: str | None = None
    user: str | None = None  # the login under --auth
    browser_session: str | None = None  # the browser a web request came from, for a shared link without logins
    provider: str | None = None  # the endpoint's name
    model: str | None = None  # the model as the user named it
    status: Status = "ok"
    error: str | None = None  # the English line that says what went wrong and what to do
    system: str | None = None
    prompt: str | None = None
    messages_json: str | None = None  # what was sent, trimmed history included
    reply: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None
    cache_write_1h_tokens: int | None = None
    reasoning_tokens: int | None = None
    usage_source: UsageSource | None = None
    estimate_method: str | None = None  # how tokens were counted when estimated
    uncached_input_cost: str | None = None
    cached_input_cost: str | None = None
    cache_write_cost: str | None = None
    input_cost: str | None = None
    output_cost: str | None = None
    cost_usd: str | None = None  # None: unpriced, never $0
    compute_cost: str | None = None
    cost_basis: CostBasis | None = None
    provider_latency_ms: float | None = None
    usage_adjusted: str | None = None  # how the adapter reconciled the provider's usage, when it had to
    ttft_ms: float | None = None
    ttft_any_ms: float | None = None
    latency_ms: float | None = None
    queue_ms: float | None = None
    output_tokens_per_s: float | None = None
    gap_p50_ms: float | None = None
    gap_p95_ms: float | None = None
    trimmed_turns: int | None = None
    params_json: str | None = None
    usage_json: str | None = None
    pricing_hash: str | None = None
    compare_id: str | None = None
    run_id: str | None = None
    question_id: str | None = None
    repeat_index: int | None = None
    finish_reason: str | None = None  # FinishReason; None: the reply did not end (failed, stopped) or an older row
    variant: str | None = None  # which way of asking in a run (a study's `variants:`); None: the run's only way
    process: str | None = None  # the writer process, so a restart can mark its unfinished rows

    @classmethod
    def from_row(cls, row: dict) -> Exchange:
        return super().from_row(exact_money(dict(row)))

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class Run(_Record):
    """A question set run against models, as it was started (the set is frozen into it)."""

    id: str
    created_at: str | None = None
    set_name: str | None = None
    set_digest: str | None = None  # which version of the set's questions were run
    set_json: str | None = None  # the questions, system prompt and references as run
    models_json: str | None = None
    repeats: int | None = None
    concurrency: int | None = None
    params_json: str | None = None
    user: str | None = None  # who started it under --auth
    browser_session: str | None = None  # the browser that started it on a shared link
    answers: int | None = None  # logged answers, when the query counted them

    QUERIED: ClassVar[tuple[str, ...]] = ("answers",)

    @property
    def models(self) -> list[str]:
        return json.loads(self.models_json or "[]")

    @property
    def params(self) -> dict:
        """max_tokens, temperature and the estimate made before it started (older runs have no estimate)."""
        return json.loads(self.params_json or "{}")


@dataclass(frozen=True)
class Rating(_Record):
    """One score one rater gave one answer on one criterion."""

    id: str
    exchange_id: str | None = None
    created_at: str | None = None
    rater: str | None = None  # a person's name or login, or the judge model
    rater_kind: RaterKind | None = None
    criterion: str | None = None
    score: float | None = None
    scale: str | None = None  # 1-5 | pass/fail
    rationale: str | None = None
    blind: int | None = None  # 1 when the rater did not see the model's name


@dataclass(frozen=True)
class Vote(_Record):
    """A reader's verdict on one column of a side-by-side comparison."""

    id: str
    compare_id: str | None = None
    exchange_id: str | None = None
    created_at: str | None = None
    rater: str | None = None
    vote: str | None = None  # best | good | bad, as the Compare tab offers them
    blind: int | None = None  # 1 when the reader did not see the models' names


SpendState = Literal["reserved", "settled"]


@dataclass(frozen=True)
class SpendEntry(_Record):
    """One exchange's line in the spend ledger: its worst case while it runs, then what it cost (pico-USD)."""

    exchange_id: str
    day: str | None = None  # the UTC day it counts against
    created_at: str | None = None
    session_key: str | None = None
    user: str | None = None
    amount_pusd: int | None = None
    state: SpendState | None = None
