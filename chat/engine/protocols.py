"""Each wire protocol once, with its facts and its adapter's factory, in the spirit of inspect_ai's @modelapi registry.

Code elsewhere asks an endpoint's protocol what it is (`endpoint.facts.local`), never compares its name.
The registrations themselves sit beside the clients they build, in `endpoints.py`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

from chat.engine.providers.base import Provider

ProtocolName = Literal["openai", "azure", "azure-ai", "anthropic", "bedrock", "converse", "local"]
NAMES: tuple[ProtocolName, ...] = get_args(ProtocolName)


@dataclass(frozen=True)
class Protocol:
    name: ProtocolName
    make: Callable[..., Provider]  # (endpoint, stall_s, connect_s, retries) -> its adapter
    status: Callable  # (endpoint) -> (usable now, what to set if not)
    local: bool = False  # runs on this machine: one request at a time, free unless priced, preloaded at start
    aws: bool = False  # AWS credentials chain; its errors carry the AWS fix; profile ids are priced as their model
    client_vars: tuple[str, ...] = ()  # the environment its client is built from: a change builds a new client
    base_url_var: str | None = None  # the variable that holds its address, when the protocol has one of its own
    marks_cache: bool = False  # its vendor caches a prompt prefix only where the request marks it


PROTOCOLS: dict[str, Protocol] = {}


def protocol(name: ProtocolName, *, status: Callable, **facts) -> Callable:
    """Register the decorated factory as the one adapter of a wire protocol, with its facts."""
    if name not in NAMES:
        raise ValueError(f"unknown protocol {name!r}: add it to ProtocolName")

    def register(make: Callable) -> Callable:
        if name in PROTOCOLS:
            raise ValueError(f"protocol {name!r} is registered twice")
        PROTOCOLS[name] = Protocol(name, make, status, **facts)
        return make

    return register


def facts(name: str) -> Protocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ValueError(f"no adapter is registered for protocol {name!r}") from None
