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
from chat.engine.endpoints import build_provider, max_seconds, timeouts
from chat.engine.history import build_messages
from chat.engine.meter import Meter
from chat.engine.models import Model, UnknownModel, resolve
from chat.engine.options import MAX_TOKENS, TEMPERATURE, BadOption
from chat.engine.pricing import Cost, PriceTable, cost_of, load_prices
from chat.engine.providers import ProviderError, Queued, ReasoningDelta, Request, Started, TextDelta, UsageReport
from chat.engine.tokens import count_messages, count_text
from chat.engine.usage import Usage
from chat.redact import redact
from chat.storage.rows import Exchange, Status
from chat.storage.store import Store

log = logging.getLogger(__name__)
MAX_PROMPT_CHARS = 4_000_000  # about a million tokens: no model's window holds more
START_ROW_WAIT_S = 2.0  # how long a request waits for its 'streaming' row before it goes to the spill file


BadRequest = BadOption  # a request parameter out of range: the message names the field and what is allowed


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
    user: str | None = None  # the login that asked, when auth is on
    spend_key: str | None = None  # whose session cap this counts against (browser session); default session_id
    browser_session: str | None = None  # the browser a web request came from: a shared link shows each only theirs


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


def explain(exc: ProviderError, model: Model, partial: bool) -> str:
    """A short message saying what went wrong and what to do; never the raw traceback."""
    ep = model.endpoint
    code = f" (HTTP {exc.status_code})" if exc.status_code else ""
    detail = str(exc).strip().rstrip(".")
    if ep.facts.aws and exc.kind in ("auth", "not_found", "rate_limit", "bad_request") \
            and " — " in detail:
        text = f"{ep.name} refused {model.api_model!r}{code}: {detail}"  # the Converse adapter names the AWS fix
    elif ep.facts.aws and exc.kind == "server" and " — " in detail:
        text = f"{ep.name} failed{code}: {detail}"
    elif exc.kind == "auth":
        where = f"check {ep.key_var} in .env" if ep.key_var else "check the endpoint's credentials"
        text = f"{ep.name} rejected the credentials{code}: {where}"
    elif exc.kind == "rate_limit":
        text = f"{ep.name} is rate limiting or overloaded{code} ({detail}): wait a moment and retry, or lower concurrency"
    elif exc.kind == "timeout":
        stall = timeouts()[0]
        text = f"{ep.name} sent nothing for {stall:g}s, so the request timed out: retry, or raise CHAT_TIMEOUT"
    elif exc.kind == "connect_timeout":
        url = ep.resolved_base_url() or "its default address"
        connect = timeouts()[1]
        text = (f"could not connect to {ep.name} at {url} within {connect:g}s (CHAT_CONNECT_TIMEOUT): is it running "
                "and reachable? Nothing was sent, nothing billed")
    elif exc.kind == "cut_off":
        text = f"{ep.name} ended the stream without its end marker{code}: the reply was cut off"
    elif exc.kind == "connection" and not partial and not exc.billable:
        url = ep.resolved_base_url() or "its default address"
        text = f"{detail} — is {ep.name} running at {url}? Nothing was sent, nothing billed"
    elif exc.kind == "connection":
        url = ep.resolved_base_url() or "its default address"
        text = f"{detail} — is {ep.name} running at {url}?" if not partial else f"{detail}"
    elif ep.facts.local and exc.kind != "timeout":
        text = detail  # the embedded runner says exactly which file is wrong, or how its process ended
        if exc.kind == "unavailable":
            text = f"{model.name} is unavailable: {detail}"
        price = model.price
        if exc.kind == "crashed" and (price is None or (price.usd_per_hour is None and not price.rates.input
                                                          and not price.rates.output)):
            text += "; nothing was billed"
    elif exc.kind == "not_found":
        text = f"{ep.name} does not serve model {model.api_model!r}{code}: check the name (python -m chat models)"
    elif exc.kind == "bad_request":
        text = f"{ep.name} refused the request{code}: {detail}"
    else:
        text = f"{ep.name} failed{code}: {detail}; try again later"
    if partial:
        text += " — the reply was cut off; the partial text is kept"
    return redact(text)


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
    status: str = "ok"
    error: str | None = None
    meter: Meter = field(default_factory=Meter)
    sent: bool = False
    billable: bool = True  # False when the request provably never reached a model (connect failure, HTTP refusal)
    reservation: object = None
    params: dict = field(default_factory=dict)
    started: bool = False  # its 'streaming' row was written
    result: Result | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class Engine:
    """Knows providers, meter and store together; yields Chunk/Thinking/Waiting values, then one Result."""

    def __init__(self, store: Store | None = None, prices: PriceTable | None = None, budget: Budget | None = None):
        self.prices = prices or load_prices()
        self.store = store or Store()
        self.budget = budget or Budget()
        if self.budget.store is None:
            self.budget.store = self.store
        self.closing = threading.Event()
        self._active: dict[str, _Attempt] = {}
        self._active_lock = threading.Lock()

    def resolve(self, name: str) -> Model:
        return resolve(name, self.prices)

    @property
    def active(self) -> int:
        with self._active_lock:
            return len(self._active)

    def stream(self, req: ChatRequest) -> Iterator[Chunk | Thinking | Waiting | Result]:
        att = _Attempt(req.exchange_id or uuid.uuid4().hex, now_iso(), req, messages=[{"role": "user", "content": req.prompt}])
        with self._active_lock:
            self._active[att.id] = att
        try:
            yield from self._run(att)
        except GeneratorExit:
            att.status, att.error = "aborted", "stopped before the reply finished"
            raise
        except (KeyboardInterrupt, SystemExit):
            att.status, att.error = "aborted", "interrupted (Ctrl-C or a stop signal) before the reply finished"
            raise
        except Exception as exc:  # a bug must still leave a row and a readable message
            log.exception("engine failure")
            att.status, att.error = "error", redact(f"internal error ({type(exc).__name__}): {exc}")
        finally:
            result = self._finish(att)
        yield result

    def close(self, grace_s: float = 5.0, flush_s: float = 10.0) -> None:
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
                att.status, att.error = "aborted", "the app shut down before the reply finished"
            self._finish(att)
        self.store.close(flush_s)

    def _refuse(self, att: _Attempt, message: str) -> None:
        att.status, att.error = "error", message

    def _run(self, att: _Attempt) -> Iterator[Chunk | Thinking | Waiting]:
        req: ChatRequest = att.req
        if self.closing.is_set():
            return self._refuse(att, "the app is shutting down: nothing was sent; try again in a moment")
        try:
            model = self.resolve(req.model)
        except UnknownModel as exc:
            return self._refuse(att, str(exc))
        att.model = model
        usable, why = model.status()
        if not usable:
            return self._refuse(att, f"{model.name} is unavailable: {why}")
        if not req.prompt or not req.prompt.strip():
            return self._refuse(att, "the message is empty: type a question first")
        if len(req.prompt) + len(req.system or "") > MAX_PROMPT_CHARS:
            return self._refuse(att, f"the message is {len(req.prompt) + len(req.system or ''):,} characters; at most "
                                     f"{MAX_PROMPT_CHARS:,} can be sent to any model: shorten it")
        try:
            temperature, max_tokens = check_params(req.temperature, req.max_tokens)
        except BadRequest as exc:
            return self._refuse(att, str(exc))
        messages, trimmed = build_messages(
            req.system, list(req.history), req.prompt, model.api_model, model.context_window, max_tokens
        )
        att.messages, att.trimmed = messages, trimmed
        input_tokens = count_messages(messages, model.api_model)[0]
        window = model.context_window
        if window and input_tokens + (max_tokens or 0) > window:
            reserve = f" plus {max_tokens:,} reserved for the reply (max tokens)" if max_tokens else ""
            return self._refuse(att, f"the message is about {input_tokens:,} tokens{reserve}, more than {model.name}'s "
                                     f"window of {window:,}: shorten it, lower max tokens, or pick a model with a larger "
                                     "window. Nothing was sent")
        att.params = {"max_tokens": max_tokens, "temperature": temperature}
        if model.price is not None and model.price.priced_as:
            att.params["priced_as"] = model.price.priced_as
        if temperature is not None and not model.takes_temperature:
            att.params.update(temperature=None, temperature_omitted=f"{model.name} takes no temperature; "
                                                                      f"{temperature:g} was not sent")
            temperature = None
        try:
            att.reservation = self.budget.reserve(att.id, req.spend_key or req.session_id, req.user, model,
                                                  input_tokens, max_tokens)
        except CapExceeded as exc:
            return self._refuse(att, str(exc))
        if att.reservation is not None and max_tokens is None:
            # the reserved output is the real bound only if the model is told so
            max_tokens = att.reservation.output_tokens
            att.params.update(max_tokens=max_tokens, max_tokens_from="spend cap reservation")
        try:
            provider = build_provider(model.endpoint)
        except Exception as exc:
            return self._refuse(att, redact(f"cannot set up {model.endpoint.name}: {exc}"))
        # the trace of a call that may be paid for is on disk before the call is made
        self.store.write_now("exchanges", replace(self._record(att), status="streaming").to_row(), START_ROW_WAIT_S)
        att.started = True
        meter = att.meter = Meter()
        request = Request(model.api_model, messages, max_tokens, temperature)
        att.sent = True
        limit = max_seconds()
        events = provider.stream(request)
        try:
            for event in events:
                if self.closing.is_set():
                    att.status, att.error = "aborted", "the app shut down before the reply finished"
                    return
                if isinstance(event, TextDelta):
                    meter.mark(True)
                    att.reply.append(event.text)
                    yield Chunk(event.text)
                elif isinstance(event, ReasoningDelta):
                    meter.mark(False)
                    att.reasoning.append(event.text)
                    yield Thinking(event.text)
                elif isinstance(event, UsageReport):
                    att.report = event
                elif isinstance(event, Queued):
                    meter.queued()
                    yield Waiting(event.ahead)
                    continue  # the wait is not the model's time: CHAT_MAX_SECONDS starts when it starts
                elif isinstance(event, Started):
                    meter.started()
                if limit and meter.elapsed() > limit:
                    att.status = "timeout"
                    att.error = (f"{model.endpoint.name} was still replying after {limit:g}s (CHAT_MAX_SECONDS), so the "
                                 "reply was stopped; the partial text is kept. Lower max tokens or raise CHAT_MAX_SECONDS")
                    return
        except ProviderError as exc:
            if self.closing.is_set():
                # the app is stopping: whatever broke the stream (a worker ended with it, say) is part of the stop
                att.status, att.error = "aborted", "the app shut down before the reply finished"
                return
            att.status = "timeout" if exc.kind in ("timeout", "connect_timeout") else "error"
            att.billable = exc.billable
            att.error = explain(exc, model, partial=bool(att.reply))
        finally:
            events.close()  # on Stop this closes the HTTP stream now, not at garbage collection

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
            "model": model.name if model else req.model,
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
            "error": redact(att.error),
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
            "usage_json": json.dumps(report.raw) if report else None,
        })
        try:
            self.budget.settle(att.reservation, cost.total if cost else None, att.id, req.spend_key or req.session_id,
                               req.user)
        except Exception:
            log.exception("could not settle the spend of exchange %s", att.id)
        try:
            write = self.store.upsert if att.started else self.store.append
            write("exchanges", record.to_row())
        except Exception:
            log.exception("could not queue exchange %s for the log", record.id)
        return Result(record, usage, cost)
