"""Settings read from the environment that every provider shares: how long a reply may take, how long to wait
for a connection or the next token, and how often a call is retried. Apart from the endpoint registry, so that
a provider can read them without importing the registry that imports it."""
from __future__ import annotations

import os

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_CONNECT_TIMEOUT_S = 10.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_SECONDS = 600.0


def env(name: str) -> str | None:
    value = os.environ.get(name)
    return value.strip() if value and value.strip() else None


def _float_env(name: str, default: float) -> float:
    raw = env(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number of seconds; set e.g. {name}=60") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a number of seconds more than 0, got {raw!r}")
    return value


def max_seconds() -> float:
    """CHAT_MAX_SECONDS: the longest one reply may take in all, however steadily it streams."""
    return _float_env("CHAT_MAX_SECONDS", DEFAULT_MAX_SECONDS)


def timeouts() -> tuple[float, float, int]:
    """(stall timeout, connect timeout, max retries) from CHAT_TIMEOUT, CHAT_CONNECT_TIMEOUT, CHAT_MAX_RETRIES."""
    retries_raw = env("CHAT_MAX_RETRIES") or str(DEFAULT_MAX_RETRIES)
    if not retries_raw.isdigit():
        raise ValueError(f"CHAT_MAX_RETRIES={retries_raw!r} must be a whole number, e.g. 2")
    max_seconds()  # checked with the others, so a bad value stops the app at start
    return _float_env("CHAT_TIMEOUT", DEFAULT_TIMEOUT_S), _float_env("CHAT_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT_S), int(retries_raw)
