"""What went wrong with an exchange, as data: refusals before any call, and failures of the call itself.

The engine and the spend caps return these; `chat.wording` turns them into sentences, so the log, the
CLI and the app say the same thing, and a translation has one place to go.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

ErrorKind = Literal["auth", "rate_limit", "timeout", "connect_timeout", "connection", "cut_off", "server",
                    "bad_request", "not_found", "crashed", "unavailable"]


@dataclass(frozen=True)
class ShuttingDown:
    """The app is stopping: nothing was sent."""


@dataclass(frozen=True)
class NoSuchModel:
    detail: str  # which name, and what pricing.yaml or the endpoints say about it


@dataclass(frozen=True)
class ModelUnavailable:
    model: str
    why: str  # what to set or fix, as the endpoint or the embedded runner says it


@dataclass(frozen=True)
class EmptyMessage:
    """Nothing to send."""


@dataclass(frozen=True)
class MessageTooLong:
    chars: int
    limit: int


@dataclass(frozen=True)
class OverWindow:
    model: str
    tokens: int  # the counted input
    reserved: int | None  # max tokens kept for the reply
    window: int


@dataclass(frozen=True)
class BadParameter:
    detail: str  # names the field and what is allowed


@dataclass(frozen=True)
class CapReached:
    scope: Literal["day", "session", "user"]
    limit: Decimal
    spent: Decimal
    need: Decimal  # the worst case of the refused request


@dataclass(frozen=True)
class CapUncheckable:
    """A cap is on and the log, which holds the spend, cannot be reached: no call may be paid for blind."""

    detail: str  # what the database said, one line


@dataclass(frozen=True)
class CapUnenforceable:
    """A cap is on and the model has no price, so its spend cannot be bounded."""

    model: str


@dataclass(frozen=True)
class RateLimited:
    per_minute: int
    wait_s: float  # until the oldest request of the minute drops out


@dataclass(frozen=True)
class SetupFailed:
    endpoint: str
    detail: str


Reason = (ShuttingDown | NoSuchModel | ModelUnavailable | EmptyMessage | MessageTooLong | OverWindow | BadParameter
          | CapReached | CapUnenforceable | CapUncheckable | RateLimited | SetupFailed)


@dataclass(frozen=True)
class Refused:
    """The request was turned down before any call: nothing was sent, nothing billed."""

    reason: Reason


@dataclass(frozen=True)
class Endpoint:
    """What the words of a failure need to know of the endpoint that failed."""

    name: str
    key_var: str | None = None
    url: str | None = None  # where it was called, or None for the SDK's default
    aws: bool = False
    local: bool = False


@dataclass(frozen=True)
class ProviderFailed:
    """The call was made (or tried) and failed."""

    kind: ErrorKind
    detail: str  # what the provider or the transport said, redacted
    endpoint: Endpoint
    model: str  # as the user named it
    api_model: str  # as the provider was asked
    status: int | None = None  # the HTTP status, when there was one
    partial: bool = False  # part of the reply had arrived and is kept
    billable: bool = True
    free: bool = False  # the model costs nothing, so nothing can have been billed
    stall_s: float | None = None  # CHAT_TIMEOUT, for a timeout
    connect_s: float | None = None  # CHAT_CONNECT_TIMEOUT, for a connect timeout


@dataclass(frozen=True)
class TooSlow:
    """The reply was still coming after CHAT_MAX_SECONDS and was stopped; its partial text is kept."""

    endpoint: str
    limit_s: float


@dataclass(frozen=True)
class Stopped:
    """The exchange ended before its reply did."""

    why: Literal["stop", "signal", "shutdown"]


@dataclass(frozen=True)
class Internal:
    """A bug: the exchange is still logged, with the exception's type and text."""

    type: str
    detail: str


Failure = Refused | ProviderFailed | TooSlow | Stopped | Internal
