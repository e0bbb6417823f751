"""The engine: resolves a model, streams it, meters the reply and logs every exchange."""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal

from chat.clock import now_iso
from chat.engine.budget import Budget, CapExceeded
from chat.engine.endpoints import build_provider
from chat.engine.history import build_messages
from chat.engine.local_models import LocalModels
from chat.engine.meter import Meter
from chat.engine.models import MAX_NAME, Model, UnknownModel, resolve
from chat.engine.options import CACHE, MAX_TOKENS, TEMPERATURE, BadOption
from chat.engine.pricing import Cost, PriceTable, cost_of, load_prices
from chat.engine.providers import (
    Finished,
    Provider,
    ProviderError,
    Queued,
    ReasoningDelta,
    Request,
    Started,
    TextDelta,
    UsageReport,
)
from chat.engine.settings import max_seconds, timeouts
from chat.engine.shutdown import FLUSH_S, GRACE_S
from chat.engine.token_priors import Script
from chat.engine.token_ratios import Ratio, TokenRatios, our_count, script_of, sent_text
from chat.engine.tokens import count_messages, count_text, most_tokens
from chat.engine.usage import Usage
from chat.failures import (
    BadParameter,
    EmptyMessage,
    Failure,
    Internal,
    MessageTooLong,
    ModelUnavailable,
    NoSuchModel,
    OverWindow,
    ProviderFailed,
    Reason,
    Refused,
    SetupFailed,
    ShuttingDown,
    Stopped,
    TooSlow,
)
from chat.failures import Endpoint as EndpointFacts
from chat.redact import redact
from chat.storage.rows import Exchange, Status
from chat.storage.store import Store
from chat.wording import explain

log = logging.getLogger(__name__)
MAX_PROMPT_CHARS = 4_000_000  # about a million tokens: no model's window holds more
START_ROW_WAIT_S = 2.0  # how long a request waits for its 'streaming' row before it goes to the spill file


BadRequest = BadOption  # a request parameter out of range: the message names the field and what is allowed


# Anthropic's lowest minimum for a cached prefix; pricing.yaml's cache_min_tokens says where a model's is higher
CACHE_MIN_TOKENS = 1024


def check_params(temperature, max_tokens) -> tuple[float | None, int | None]:
    """(temperature, max_tokens) as numbers in range, else BadRequest naming the field."""
    return TEMPERATURE.check(temperature), MAX_TOKENS.check(max_tokens)


@dataclass(frozen=True)
class ChatRequest:
    model: str
    prompt: str
    system: str | None = None
    history: tuple = ()  # earlier [{role, content}] turns
    max_tokens: int | None = None
    temperature: float | None = None
    session_id: str = ""
    compare_id: str | None = None
    run_id: str | None = None
    exchange_id: str | None = None  # lets a caller find the row later, e.g. after Stop
    question_id: str | None = None  # question-set runs: which question and which repeat
    repeat_index: int | None = None
    variant: str | None = None  # runs: which way of asking (system prompt, temperature, max tokens) this is
    user: str | None = None  # the login that asked, when auth is on
    spend_key: str | None = None  # whose session cap this counts against (browser session); default session_id
    browser_session: str | None = None  # the browser a web request came from: a shared link shows each only theirs
    cache: str | None = None  # auto (the default) or off: chat.engine.options.CACHE


@dataclass(frozen=True)
class Caller:
    """Who is asking, as a request carries it (the field names are ChatRequest's)."""

    spend_key: str | None = None
    user: str | None = None
    browser_session: str | None = None


@dataclass(frozen=True)
class Chunk:
    """A piece of reply text."""

    text: str


@dataclass(frozen=True)
class Thinking:
    """A piece of reasoning text (not part of the reply)."""

    text: str


@dataclass(frozen=True)
class Waiting:
    """The request is in line for a model that serves one request at a time."""

    ahead: int


@dataclass(frozen=True)
class Result:
    """The end of an exchange: the very record that was logged, plus typed views of it."""

    record: Exchange
    usage: Usage
    cost: Cost | None
    failure: Failure | None = None  # what went wrong, as data: the UI words it in the reader's language

    @property
    def status(self) -> Status:
        return self.record.status

    @property
    def error(self) -> str | None:
        return self.record.error

    @property
    def ok(self) -> bool:
        return self.record.ok


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def failed(exc: ProviderError, model: Model, partial: bool) -> ProviderFailed:
    """A provider's error as data, with what its words need to know of the endpoint."""
    ep = model.endpoint
    price = model.price
    free = price is None or (price.usd_per_hour is None and not price.rates.input and not price.rates.output)
    stall, connect, _ = timeouts()
    return ProviderFailed(exc.kind, str(exc), EndpointFacts(ep.name, ep.key_var, ep.resolved_base_url(), ep.facts.aws,
                                                            ep.facts.local),
                          model.name, model.api_model, exc.status_code, partial, exc.billable, free, stall, connect)


@dataclass
class _Attempt:
    """What one exchange has gathered so far; becomes the logged row at the end, whatever happened."""

    id: str
    created_at: str
    req: ChatRequest
    model: Model | None = None
    messages: list = field(default_factory=list)
    trimmed: int = 0
    reply: list = field(default_factory=list)
    reasoning: list = field(default_factory=list)
    report: UsageReport | None = None
    finish_reason: str | None = None  # why the model stopped, as the provider said it (in our words)
    status: Status = "ok"
    failure: Failure | None = None
    meter: Meter = field(default_factory=Meter)
    sent: bool = False
    billable: bool = True  # False when the request provably never reached a model (connect failure, HTTP refusal)
    reservation: object = None
    ratio: Ratio | None = None  # the model's tokens per token of our count, for this prompt's script
    params: dict = field(default_factory=dict)
    started: bool = False  # its 'streaming' row was written
    result: Result | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class Engine:
    """Knows providers, meter and store together; yields Chunk/Thinking/Waiting values, then one Result."""

    def __init__(self, store: Store | None = None, prices: PriceTable | None = None, budget: Budget | None = None,
                 local: LocalModels | None = None):
        self.prices = prices or load_prices()
        self.local = local or LocalModels()  # which model files it may load: any, unless the web app says
        self.store = store or Store()
        self.budget = budget or Budget()
        if self.budget.store is None:
            self.budget.store = self.store
        self.ratios = TokenRatios(self.store, self.prices)  # each model's tokens per token of ours, from the log
        self.closing = threading.Event()
        self.runs_asked: set[str] = set()  # runs this process has asked for answers (whose rows may still be queued)
        self._active: dict[str, _Attempt] = {}
        self._active_lock = threading.Lock()

    def resolve(self, name: str) -> Model:
        model = resolve(name, self.prices)
        if model.endpoint.facts.local:
            self.local.check(model.api_model)  # before anything looks at the file: the refusal tells nothing of it
        return model

    def token_ratio(self, model: Model, script: Script, wait: bool = True) -> Ratio:
        """The model's tokens per token of our count: learned from its logged answers, else its family's prior.
        A request asks with wait=False: it takes what is known now and never waits on the log."""
        return self.ratios.ratio(model.name, script, model.endpoint.name,
                                 model.price.priced_as if model.price is not None else None, wait)

    @staticmethod
    def _cacheable(model: Model, messages: list[dict], ratio: Ratio) -> bool:
        """Worth marking: the vendor caches only what is marked, and only a prefix of its minimum length."""
        if not model.endpoint.facts.marks_cache or len(messages) < 2:
            return False
        minimum = (model.price.cache_min_tokens if model.price is not None else None) or CACHE_MIN_TOKENS
        return ratio.tokens(our_count(messages[:-1])) >= minimum

    @property
    def active(self) -> int:
        with self._active_lock:
            return len(self._active)

    def stream(self, req: ChatRequest) -> Iterator[Chunk | Thinking | Waiting | Result]:
        att = _Attempt(req.exchange_id or uuid.uuid4().hex, now_iso(), req, messages=[{"role": "user", "content": req.prompt}])
        if req.run_id:
            self.runs_asked.add(req.run_id)
        with self._active_lock:
            self._active[att.id] = att
        try:
            yield from self._run(att)
        except GeneratorExit:
            att.status, att.failure = "aborted", Stopped("stop")
            raise
        except (KeyboardInterrupt, SystemExit):
            att.status, att.failure = "aborted", Stopped("signal")
            raise
        except Exception as exc:  # a bug must still leave a row and a readable message
            log.exception("engine failure")
            att.status, att.failure = "error", Internal(type(exc).__name__, str(exc))
        finally:
            result = self._finish(att)
        yield result

    def close(self, grace_s: float = GRACE_S, flush_s: float = FLUSH_S) -> None:
        """Shut down: refuse new requests, let streams in flight end as 'aborted', log them all, flush.

        Streams notice at their next chunk; one still silent after grace_s is logged from here, with its partial text.
        """
        self.closing.set()
        deadline = time.monotonic() + grace_s
        while self.active and time.monotonic() < deadline:
            time.sleep(0.02)
        with self._active_lock:
            left = list(self._active.values())
        for att in left:
            if att.status == "ok":
                att.status, att.failure = "aborted", Stopped("shutdown")
            self._finish(att)
        self.store.close(flush_s)

    def _refuse(self, att: _Attempt, reason: Reason) -> None:
        att.status, att.failure = "error", Refused(reason)

    def _run(self, att: _Attempt) -> Iterator[Chunk | Thinking | Waiting]:
        """Pre-flight (every check and the spend reservation, a refusal recorded on the attempt), then the call."""
        ready = self._preflight(att)
        if ready is not None:
            yield from self._stream(att, *ready)

    def _preflight(self, att: _Attempt) -> tuple[Provider, Request] | None:
        """The request as it will be sent, its row written as streaming; None once a check has refused it."""
        checked = self._checked(att)
        if checked is None:
            return None
        model, temperature, max_tokens, cache = checked
        messages = self._fitted(att, model, max_tokens)
        if messages is None:
            return None
        temperature = self._record_params(att, model, temperature, max_tokens)
        script = script_of(sent_text(messages))  # read once: a long FAQ is read through to find its script
        att.ratio = self.token_ratio(model, script, wait=False)
        marked = self._cache_choice(att, model, messages, cache)
        max_tokens = self._reserve(att, model, messages, max_tokens, script)
        if att.failure is not None:
            return None
        try:
            provider = build_provider(model.endpoint)
        except Exception as exc:
            return self._refuse(att, SetupFailed(model.endpoint.name, redact(str(exc))))
        # the trace of a call that may be paid for is on disk before the call is made
        self.store.write_now("exchanges", replace(self._record(att), status="streaming"), START_ROW_WAIT_S)
        att.started = True
        return provider, Request(model.api_model, messages, max_tokens, temperature, cache_prefix=marked)

    def _checked(self, att: _Attempt) -> tuple[Model, float | None, int | None, str] | None:
        """The model, usable, and the request's parameters in range; None once refused."""
        req: ChatRequest = att.req
        if self.closing.is_set():
            return self._refuse(att, ShuttingDown())
        try:
            model = self.resolve(req.model)
        except UnknownModel as exc:
            return self._refuse(att, NoSuchModel(exc.said()))
        att.model = model
        usable, why = model.status()
        if not usable:
            return self._refuse(att, ModelUnavailable(model.name, why))
        if not req.prompt or not req.prompt.strip():
            return self._refuse(att, EmptyMessage())
        if len(req.prompt) + len(req.system or "") > MAX_PROMPT_CHARS:
            return self._refuse(att, MessageTooLong(len(req.prompt) + len(req.system or ""), MAX_PROMPT_CHARS))
        try:
            temperature, max_tokens = check_params(req.temperature, req.max_tokens)
            cache = CACHE.check(req.cache)
        except BadOption as exc:
            return self._refuse(att, BadParameter(exc.said()))
        return model, temperature, max_tokens, cache

    def _fitted(self, att: _Attempt, model: Model, max_tokens: int | None) -> list[dict] | None:
        """The messages, the history trimmed to the window; None (refused) when the question alone is too long."""
        req: ChatRequest = att.req
        messages, trimmed = build_messages(
            req.system, list(req.history), req.prompt, model.api_model, model.context_window, max_tokens
        )
        att.messages, att.trimmed = messages, trimmed
        window = model.context_window
        if not window or most_tokens(messages) + (max_tokens or 0) <= window:
            return messages  # fits by its bytes alone: the tokenizer is not needed before the call
        input_tokens = count_messages(messages, model.api_model)[0]
        if input_tokens + (max_tokens or 0) > window:
            return self._refuse(att, OverWindow(model.name, input_tokens, max_tokens, window))
        return messages

    @staticmethod
    def _record_params(att: _Attempt, model: Model, temperature: float | None, max_tokens: int | None) -> float | None:
        """The row's parameters and whose price it is; the temperature sent (None where the model takes none)."""
        att.params = {"max_tokens": max_tokens, "temperature": temperature}
        if model.price is not None and model.price.priced_as:
            att.params["priced_as"] = model.price.priced_as
        if model.price is not None and model.price.priced_from:
            att.params["priced_from"] = model.price.priced_from  # not pricing.yaml: the row says whose price it is
        if temperature is not None and not model.takes_temperature:
            att.params.update(temperature=None, temperature_omitted=f"{model.name} takes no temperature; "
                                                                      f"{temperature:g} was not sent")
            return None
        return temperature

    def _cache_choice(self, att: _Attempt, model: Model, messages: list[dict], cache: str) -> bool:
        """Whether the request marks its prefix for the vendor's cache, recorded on the row either way."""
        marked = cache == "auto" and self._cacheable(model, messages, att.ratio)
        if marked:
            att.params["cache_marked"] = True  # the request asked the vendor to cache its prefix
        elif cache == "off":
            att.params["cache"] = "off"  # caching was turned off for this one
        return marked

    def _reserve(self, att: _Attempt, model: Model, messages: list[dict], max_tokens: int | None,
                 script: Script) -> int | None:
        """The spend caps' reservation (a refusal recorded on the attempt); the max tokens to send."""
        req: ChatRequest = att.req
        try:
            # the most input the vendor may bill: our count at the model's upper ratio (its prior's, until known)
            att.reservation = self.budget.reserve(att.id, req.spend_key or req.session_id, req.user, model,
                                                  lambda: att.ratio.tokens(our_count(messages), "high"), max_tokens)
        except CapExceeded as exc:
            self._refuse(att, exc.reason)
            return max_tokens
        if att.reservation is not None:  # the ratio the cap reserved the input at, and where it came from
            att.params["token_ratio"] = {"script": script, "reserved": round(att.ratio.high, 4),
                                         "source": att.ratio.source, "answers": att.ratio.answers}
            if max_tokens is None:
                # the reserved output is the real bound only if the model is told so
                max_tokens = att.reservation.output_tokens
                att.params.update(max_tokens=max_tokens, max_tokens_from="spend cap reservation")
        return max_tokens

    def _stream(self, att: _Attempt, provider: Provider, request: Request) -> Iterator[Chunk | Thinking | Waiting]:
        """The call: each event metered as it comes, the whole bounded by CHAT_MAX_SECONDS from the model's start."""
        model: Model = att.model
        meter = att.meter = Meter()
        att.sent = True
        limit = max_seconds()
        events = provider.stream(request)
        try:
            for event in events:
                if self.closing.is_set():
                    att.status, att.failure = "aborted", Stopped("shutdown")
                    return
                if isinstance(event, Queued):
                    meter.queued()
                    yield Waiting(event.ahead)
                    continue  # the wait is not the model's time: CHAT_MAX_SECONDS starts when it starts
                shown = self._take(att, meter, event)
                if shown is not None:
                    yield shown
                if limit and meter.elapsed() > limit:
                    att.status, att.failure = "timeout", TooSlow(model.endpoint.name, limit)
                    return
        except ProviderError as exc:
            if self.closing.is_set():
                # the app is stopping: whatever broke the stream (a worker ended with it, say) is part of the stop
                att.status, att.failure = "aborted", Stopped("shutdown")
                return
            att.status = "timeout" if exc.kind in ("timeout", "connect_timeout") else "error"
            att.billable = exc.billable
            att.failure = failed(exc, model, partial=bool(att.reply))
        finally:
            events.close()  # on Stop this closes the HTTP stream now, not at garbage collection

    @staticmethod
    def _take(att: _Attempt, meter: Meter, event) -> Chunk | Thinking | None:
        """One event of the stream onto the attempt and the meter; what the reader sees of it, if anything."""
        if isinstance(event, TextDelta):
            meter.mark(True)
            att.reply.append(event.text)
            return Chunk(event.text)
        if isinstance(event, ReasoningDelta):
            meter.mark(False)
            att.reasoning.append(event.text)
            return Thinking(event.text)
        if isinstance(event, UsageReport):
            att.report = event
        elif isinstance(event, Finished):
            att.finish_reason = event.reason
        elif isinstance(event, Started):
            meter.started()
        return None

    def _usage(self, att: _Attempt, reply: str) -> tuple[Usage, str, str | None]:
        """(usage, 'provider' | 'estimate', estimate method)."""
        report: UsageReport | None = att.report
        model: Model | None = att.model
        name = model.api_model if model else att.req.model
        reported = report.usage if report else None
        complete = reported is not None and att.status == "ok" and (reported.output_tokens > 0 or not reply)
        if complete:
            return reported, "provider", None
        if not att.sent or (not att.billable and not reply and not att.reasoning and reported is None) or \
                (att.status == "error" and not reply and not att.reasoning and reported is None):
            # nothing reached a model, or it refused the request outright: nothing was consumed
            return Usage(), "estimate", None
        est_in, method = count_messages(att.messages, name)
        if att.ratio is not None and not att.ratio.exact and method.startswith("tiktoken"):
            # our count in this vendor's tokens, at the ratio its logged answers show (or its family's prior)
            est_in = att.ratio.tokens(our_count(att.messages))
            method = f"tiktoken:o200k_base x{att.ratio.mean:.2f} ({att.ratio.source})"
        est_out, _ = count_text(reply + "".join(att.reasoning), name)
        if reported is not None:
            # the cut-off stream still told us its input exactly; only the output is estimated
            return (
                Usage(
                    input_tokens=reported.input_tokens or est_in,
                    output_tokens=max(reported.output_tokens, est_out),
                    cached_tokens=reported.cached_tokens,
                    cache_write_tokens=reported.cache_write_tokens,
                    reasoning_tokens=reported.reasoning_tokens,
                    cache_write_1h_tokens=reported.cache_write_1h_tokens,
                ),
                "estimate",
                method,
            )
        return Usage(input_tokens=est_in, output_tokens=est_out), "estimate", method

    def _record(self, att: _Attempt) -> Exchange:
        """What is known of the exchange before its reply: who asked what of which model."""
        req: ChatRequest = att.req
        model: Model | None = att.model
        return Exchange(**{
            "id": att.id,
            "session_id": req.session_id,
            "created_at": att.created_at,
            "provider": model.endpoint.name if model else None,
            # a refused name is logged as far as a name goes: a 10 KB one must not land in every menu and chart
            "model": model.name if model else (req.model or "")[:MAX_NAME],
            "system": req.system,
            "prompt": req.prompt,
            "messages_json": json.dumps(att.messages, ensure_ascii=False),
            "status": att.status,
            "params_json": json.dumps(att.params or {"max_tokens": req.max_tokens, "temperature": req.temperature},
                                      default=str),
            "pricing_hash": self.prices.hash,
            "compare_id": req.compare_id,
            "run_id": req.run_id,
            "question_id": req.question_id,
            "repeat_index": req.repeat_index,
            "variant": req.variant,
            "user": req.user,
            "browser_session": req.browser_session,
            "process": self.store.process,
        })

    def _finish(self, att: _Attempt) -> Result:
        # the stream's own thread and close() may both get here; the first one logs the row
        with att.lock:
            if att.result is not None:
                return att.result
            att.result = result = self._finish_once(att)
        with self._active_lock:
            self._active.pop(att.id, None)
        return result

    def _finish_once(self, att: _Attempt) -> Result:
        req: ChatRequest = att.req
        model: Model | None = att.model
        timing = att.meter.finish()
        reply = "".join(att.reply)
        usage, source, method = self._usage(att, reply)
        # a compute-priced model costs the time it held the machine; a call that never reached it held none
        held_s = timing.latency_ms / 1000 if att.sent and att.billable else 0.0
        cost = cost_of(usage, model.price, held_s) if model else None
        token_cost = cost is not None and cost.basis == "tokens"
        tps = timing.tokens_per_s(usage.output_tokens)
        report: UsageReport | None = att.report
        record = replace(self._record(att), **{
            "reply": reply,
            "error": explain(att.failure) if att.failure else None,
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cached_tokens": usage.cached_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
            "cache_write_1h_tokens": usage.cache_write_1h_tokens,
            "reasoning_tokens": usage.reasoning_tokens,
            "usage_source": source,
            "estimate_method": method,
            "uncached_input_cost": _money(cost.uncached_input) if token_cost else None,
            "cached_input_cost": _money(cost.cached_input) if token_cost else None,
            "cache_write_cost": _money(cost.cache_write) if token_cost else None,
            "input_cost": _money(cost.input) if token_cost else None,
            "output_cost": _money(cost.output) if token_cost else None,
            "cost_usd": _money(cost.total) if cost else None,
            "compute_cost": _money(cost.compute) if cost and cost.compute is not None else None,
            "cost_basis": cost.basis if cost else None,
            "provider_latency_ms": report.latency_ms if report else None,
            "usage_adjusted": report.adjusted if report else None,
            "ttft_ms": timing.ttft_ms,
            "ttft_any_ms": timing.ttft_any_ms,
            "latency_ms": timing.latency_ms,
            "queue_ms": timing.queue_ms,
            "output_tokens_per_s": tps,
            "gap_p50_ms": timing.gap_p50_ms,
            "gap_p95_ms": timing.gap_p95_ms,
            "trimmed_turns": att.trimmed,
            "finish_reason": att.finish_reason if att.status == "ok" else None,
            "usage_json": json.dumps(report.raw) if report else None,
        })
        try:
            self.budget.settle(att.reservation, cost.total if cost else None, att.id, req.spend_key or req.session_id,
                               req.user)
        except Exception:
            log.exception("could not settle the spend of exchange %s", att.id)
        try:
            write = self.store.upsert if att.started else self.store.append
            write("exchanges", record)
        except Exception:
            log.exception("could not queue exchange %s for the log", record.id)
        if source == "provider" and model is not None and usage.input_tokens:
            self.ratios.answered(model.name)  # one more billed input to learn the model's token ratio from
        return Result(record, usage, cost, att.failure)
