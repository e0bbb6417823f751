"""The provider contract: stream(request) yields text deltas and usage events, nothing else."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from chat.engine.usage import Usage
from chat.failures import ErrorKind
from chat.storage.rows import FinishReason


@dataclass(frozen=True)
class Request:
    model: str  # the id the provider's API expects
    messages: list[dict]  # OpenAI-style [{role, content}], system first if any
    max_tokens: int | None = None
    temperature: float | None = None
    # mark the stable prefix (the system prompt, and a conversation's earlier turns) for the vendor's prompt cache,
    # where the vendor needs to be asked (Anthropic's cache_control, Converse's cachePoint); others cache on their own
    cache_prefix: bool = False


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    """Thinking text; counts as 'first token of any kind' but is not the reply."""

    text: str


@dataclass(frozen=True)
class UsageReport:
    """Provider-reported usage. A later report replaces an earlier one (it is cumulative)."""

    usage: Usage
    raw: dict = field(default_factory=dict)
    latency_ms: float | None = None  # the provider's own measure of the call (Bedrock's metrics.latencyMs)
    adjusted: str | None = None  # how the adapter reconciled the provider's figures, when it had to


@dataclass(frozen=True)
class Finished:
    """Why the model stopped, in one vocabulary for every provider (FINISH_REASONS)."""

    reason: FinishReason


@dataclass(frozen=True)
class Queued:
    """The request waits its turn for a model that serves one request at a time (the embedded one)."""

    ahead: int  # requests before this one


@dataclass(frozen=True)
class Started:
    """The model began work on this request: time before this is queue wait, not the model's latency."""


Event = TextDelta | ReasoningDelta | UsageReport | Finished | Queued | Started

# each provider's own words for why it stopped -> ours; anything else is kept as the provider said it
_FINISH = {"stop": "stop", "end_turn": "stop", "stop_sequence": "stop", "eos": "stop",
           "length": "max_tokens", "max_tokens": "max_tokens", "model_context_window_exceeded": "max_tokens",
           "content_filter": "content_filter", "content_filtered": "content_filter",
           "guardrail_intervened": "content_filter", "refusal": "content_filter",
           "tool_calls": "tool_use", "tool_use": "tool_use", "function_call": "tool_use"}


def finish(raw) -> Finished:
    """The provider's stop reason (OpenAI's `length`, Anthropic's and Converse's `max_tokens`, …) as ours."""
    text = str(raw or "")[:40]
    return Finished(_FINISH.get(text, text or "stop"))


class ProviderError(Exception):
    """A failure the user can act on.

    kind: one of chat.failures.ErrorKind.
    billable is False when the request provably never reached a model (no connection, or an HTTP refusal).
    """

    def __init__(self, kind: ErrorKind, message: str, status_code: int | None = None, billable: bool = True):
        super().__init__(message)
        self.kind = kind
        self.status_code = status_code
        self.billable = billable


class Provider(Protocol):
    """What every adapter is (simonw/llm's one-method contract): a request in, its events out, in order."""

    def stream(self, request: Request) -> Iterator[Event]: ...


def _transport_errors():
    # openai and anthropic moved from httpx to httpx2; catch whichever the installed SDK streams with
    timeouts, errors, connects, connect_timeouts = [], [], [], []
    for name in ("httpx2", "httpx"):
        try:
            mod = __import__(name)
        except ImportError:
            continue
        timeouts.append(mod.TimeoutException)
        errors.append(mod.HTTPError)
        connects.append(mod.ConnectError)
        connect_timeouts.append(mod.ConnectTimeout)
    return tuple(timeouts), tuple(errors), tuple(connects), tuple(connect_timeouts)


TRANSPORT_TIMEOUTS, TRANSPORT_ERRORS, CONNECT_ERRORS, CONNECT_TIMEOUTS = _transport_errors()


def _cause_chain(exc: BaseException):
    seen = 0
    while exc is not None and seen < 10:
        yield exc
        exc = exc.__cause__ or exc.__context__
        seen += 1


def classify(exc: Exception, sdk) -> ProviderError:
    """Map an openai/anthropic SDK or transport exception (same Stainless hierarchy), raised before the
    stream began, to a ProviderError: a refusal then bills nothing."""
    return _classify(exc, sdk, mid_stream=False)


def classify_mid_stream(exc: Exception, sdk) -> ProviderError:
    """As classify, for an exception raised while the reply streamed: whatever broke, the call was made."""
    return _classify(exc, sdk, mid_stream=True)


def _classify(exc: Exception, sdk, mid_stream: bool) -> ProviderError:
    chain = list(_cause_chain(exc))
    if not mid_stream and any(isinstance(e, CONNECT_TIMEOUTS) for e in chain):
        # no connection was made: the request never left this machine
        return ProviderError("connect_timeout", "could not connect in time", billable=False)
    if isinstance(exc, (sdk.APITimeoutError, *TRANSPORT_TIMEOUTS)):
        return ProviderError("timeout", "the server stopped answering (timed out)")
    if isinstance(exc, (sdk.APIConnectionError, *TRANSPORT_ERRORS)):
        if mid_stream:
            return ProviderError("connection", "the connection broke mid-reply")
        refused = any(isinstance(e, CONNECT_ERRORS) for e in chain)
        return ProviderError("connection", f"could not reach the server: {getattr(exc, 'message', None) or exc}",
                             billable=not refused)
    # an error event inside a 200 stream carries the stream's status, which says nothing
    status = getattr(exc, "status_code", None)
    status = None if status == 200 else status
    message = getattr(exc, "message", None) or str(exc)
    kinds = [
        ((sdk.AuthenticationError, sdk.PermissionDeniedError), "auth"),
        ((sdk.RateLimitError,), "rate_limit"),
        ((sdk.NotFoundError,), "not_found"),
        ((sdk.BadRequestError, sdk.UnprocessableEntityError), "bad_request"),
    ]
    # an HTTP error status before the stream began: the provider refused the request and bills nothing
    billable = mid_stream or status is None
    for types, kind in kinds:
        if isinstance(exc, types):
            return ProviderError(kind, message, status, billable)
    if "overloaded" in message.lower():
        return ProviderError("rate_limit", message, status, billable)
    return ProviderError("server", message, status, billable)
