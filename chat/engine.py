"""The engine: resolves a model, streams it, meters the reply and logs every exchange."""
from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from .budget import Budget, CapExceeded
from .clock import now_iso
from .endpoints import build_provider, timeouts
from .history import build_messages
from .meter import Meter
from .models import Model, UnknownModel, resolve
from .pricing import Cost, PriceTable, cost_of, load_prices
from .providers import ProviderError, ReasoningDelta, Request, TextDelta, UsageReport
from .redact import redact
from .store import Store
from .tokens import count_messages, count_text
from .usage import Usage

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class Chunk:
    """A piece of reply text."""

    text: str


@dataclass(frozen=True)
class Thinking:
    """A piece of reasoning text (not part of the reply)."""

    text: str


@dataclass(frozen=True)
class Result:
    """The end of an exchange: the very row that was logged, plus typed views of it."""

    record: dict
    usage: Usage
    cost: Cost | None

    @property
    def status(self) -> str:
        return self.record["status"]

    @property
    def error(self) -> str | None:
        return self.record["error"]

    @property
    def ok(self) -> bool:
        return self.record["status"] == "ok"


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def explain(exc: ProviderError, model: Model, partial: bool) -> str:
    """A short message saying what went wrong and what to do; never the raw traceback."""
    ep = model.endpoint
    code = f" (HTTP {exc.status_code})" if exc.status_code else ""
    detail = str(exc).strip().rstrip(".")
    if exc.kind == "auth":
        where = f"check {ep.key_var} in .env" if ep.key_var else "check the endpoint's credentials"
        text = f"{ep.name} rejected the credentials{code}: {where}"
    elif exc.kind == "rate_limit":
        text = f"{ep.name} is rate limiting or overloaded{code} ({detail}): wait a moment and retry, or lower concurrency"
    elif exc.kind == "timeout":
        stall = timeouts()[0]
        text = f"{ep.name} sent nothing for {stall:g}s, so the request timed out: retry, or raise CHAT_TIMEOUT"
    elif exc.kind == "connection":
        url = ep.resolved_base_url() or "its default address"
        text = f"{detail} — is {ep.name} running at {url}?" if not partial else f"{detail}"
    elif exc.kind == "not_found" and ep.protocol == "local":
        text = detail  # the embedded runner says exactly which file or package is missing
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
    reservation: object = None


class Engine:
    """Knows providers, meter and store together; yields Chunk/Thinking values, then one Result."""

    def __init__(self, store: Store | None = None, prices: PriceTable | None = None, budget: Budget | None = None):
        self.prices = prices or load_prices()
        self.store = store or Store()
        self.budget = budget or Budget()

    def resolve(self, name: str) -> Model:
        return resolve(name, self.prices)

    def stream(self, req: ChatRequest) -> Iterator[Chunk | Thinking | Result]:
        att = _Attempt(req.exchange_id or uuid.uuid4().hex, now_iso(), req, messages=[{"role": "user", "content": req.prompt}])
        try:
            yield from self._run(att)
        except GeneratorExit:
            att.status, att.error = "aborted", "stopped before the reply finished"
            raise
        except Exception as exc:  # a bug must still leave a row and a readable message
            log.exception("engine failure")
            att.status, att.error = "error", redact(f"internal error ({type(exc).__name__}): {exc}")
        finally:
            result = self._finish(att)
        yield result

    def _run(self, att: _Attempt) -> Iterator[Chunk | Thinking]:
        req: ChatRequest = att.req
        try:
            model = self.resolve(req.model)
        except UnknownModel as exc:
            att.status, att.error = "error", str(exc)
            return
        att.model = model
        usable, why = model.status()
        if not usable:
            att.status, att.error = "error", f"{model.name} is unavailable: {why}"
            return
        if not req.prompt or not req.prompt.strip():
            att.status, att.error = "error", "the message is empty: type a question first"
            return
        messages, trimmed = build_messages(
            req.system, list(req.history), req.prompt, model.api_model, model.context_window, req.max_tokens
        )
        att.messages, att.trimmed = messages, trimmed
        try:
            if self.budget.active:
                att.reservation = self.budget.reserve(
                    req.session_id, model, count_messages(messages, model.api_model)[0], req.max_tokens
                )
        except CapExceeded as exc:
            att.status, att.error = "error", str(exc)
            return
        try:
            provider = build_provider(model.endpoint)
        except Exception as exc:
            att.status, att.error = "error", redact(f"cannot set up {model.endpoint.name}: {exc}")
            return
        meter = att.meter = Meter()
        request = Request(model.api_model, messages, req.max_tokens, req.temperature)
        att.sent = True
        events = provider.stream(request)
        try:
            for event in events:
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
        except ProviderError as exc:
            att.status = "timeout" if exc.kind == "timeout" else "error"
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
        if not att.sent or (att.status == "error" and not reply and not att.reasoning and reported is None):
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
                ),
                "estimate",
                method,
            )
        return Usage(input_tokens=est_in, output_tokens=est_out), "estimate", method

    def _finish(self, att: _Attempt) -> Result:
        req: ChatRequest = att.req
        model: Model | None = att.model
        timing = att.meter.finish()
        reply = "".join(att.reply)
        usage, source, method = self._usage(att, reply)
        cost = cost_of(usage, model.price) if model else None
        tps = timing.tokens_per_s(usage.output_tokens)
        report: UsageReport | None = att.report
        record = {
            "id": att.id,
            "session_id": req.session_id,
            "created_at": att.created_at,
            "provider": model.endpoint.name if model else None,
            "model": model.name if model else req.model,
            "system": req.system,
            "prompt": req.prompt,
            "messages_json": json.dumps(att.messages, ensure_ascii=False),
            "reply": reply,
            "status": att.status,
            "error": redact(att.error),
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cached_tokens": usage.cached_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
            "reasoning_tokens": usage.reasoning_tokens,
            "usage_source": source,
            "estimate_method": method,
            "uncached_input_cost": _money(cost.uncached_input) if cost else None,
            "cached_input_cost": _money(cost.cached_input) if cost else None,
            "cache_write_cost": _money(cost.cache_write) if cost else None,
            "input_cost": _money(cost.input) if cost else None,
            "output_cost": _money(cost.output) if cost else None,
            "cost_usd": _money(cost.total) if cost else None,
            "ttft_ms": timing.ttft_ms,
            "ttft_any_ms": timing.ttft_any_ms,
            "latency_ms": timing.latency_ms,
            "output_tokens_per_s": tps,
            "gap_p50_ms": timing.gap_p50_ms,
            "gap_p95_ms": timing.gap_p95_ms,
            "trimmed_turns": att.trimmed,
            "params_json": json.dumps({"max_tokens": req.max_tokens, "temperature": req.temperature}),
            "usage_json": json.dumps(report.raw) if report else None,
            "pricing_hash": self.prices.hash,
            "compare_id": req.compare_id,
            "run_id": req.run_id,
            "question_id": req.question_id,
            "repeat_index": req.repeat_index,
        }
        self.budget.settle(att.reservation, cost.total if cost else None)
        try:
            self.store.append("exchanges", record)
        except Exception:
            log.exception("could not queue exchange %s for the log", record["id"])
        return Result(record, usage, cost)
