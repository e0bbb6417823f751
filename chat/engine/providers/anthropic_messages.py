"""Anthropic Messages streaming: Anthropic itself and Bedrock through AnthropicBedrock."""
from __future__ import annotations

import inspect
from collections.abc import Iterator

import anthropic

from chat.engine.providers.base import (
    TRANSPORT_ERRORS,
    Event,
    ProviderError,
    ReasoningDelta,
    Request,
    TextDelta,
    UsageReport,
    classify,
    classify_mid_stream,
    finish,
)
from chat.engine.usage import Usage

# Anthropic requires max_tokens; this is only used when the caller sets none.
DEFAULT_MAX_TOKENS = 4096
_USAGE_KEYS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "cache_creation")


def usage_from_anthropic(raw: dict) -> Usage:
    """Anthropic's input_tokens excludes both cache fields; ours counts all input."""
    cached = int(raw.get("cache_read_input_tokens") or 0)
    written = int(raw.get("cache_creation_input_tokens") or 0)
    by_ttl = raw.get("cache_creation") or {}
    return Usage(
        input_tokens=int(raw.get("input_tokens") or 0) + cached + written,
        output_tokens=int(raw.get("output_tokens") or 0),
        cached_tokens=cached,
        cache_write_tokens=written,
        cache_write_1h_tokens=min(written, int(by_ttl.get("ephemeral_1h_input_tokens") or 0)),
    )


CACHE_MARK = {"type": "ephemeral"}  # the 5-minute cache; a write costs 1.25x input, a read 0.1x


def _mark_prefix(params: dict, messages: list[dict]) -> None:
    """cache_control on the system prompt and on the last turn before the question: everything up to each mark
    is cached, so the next question of the study or the conversation reads it back (at most 4 marks a request)."""
    if params.get("system"):
        params["system"] = [{"type": "text", "text": params["system"], "cache_control": CACHE_MARK}]
    if len(messages) >= 2 and isinstance(messages[-2]["content"], str):
        messages[-2] = {**messages[-2], "content": [{"type": "text", "text": messages[-2]["content"],
                                                      "cache_control": CACHE_MARK}]}


class AnthropicMessages:
    """One adapter for the Messages wire protocol (Anthropic and AnthropicBedrock clients)."""

    def __init__(self, client: anthropic.Anthropic):
        self.client = client
        # anthropic 2.x dropped sampling parameters from messages.create; the API still takes them in the body
        self.native = set(inspect.signature(client.messages.create).parameters)

    def stream(self, request: Request) -> Iterator[Event]:
        system = "\n\n".join(m["content"] for m in request.messages if m["role"] == "system")
        messages = [{"role": m["role"], "content": m["content"]} for m in request.messages if m["role"] != "system"]
        # messages go in extra_body, merged into the JSON untouched: the SDK's type-driven transform of a long
        # conversation cost milliseconds per question for plain string messages (see openai_chat)
        params: dict = {
            "model": request.model,
            "messages": [],
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
            "stream": True,
            "extra_body": {"messages": messages},
        }
        if system:
            params["system"] = system
        if request.cache_prefix:
            _mark_prefix(params, messages)
        if request.temperature is not None:
            if "temperature" in self.native:
                params["temperature"] = request.temperature
            else:
                params["extra_body"]["temperature"] = request.temperature
        try:
            stream = self.client.messages.create(**params)
        except anthropic.APIError as exc:
            raise classify(exc, anthropic) from None
        raw: dict = {}
        ended = False
        try:
            for event in stream:
                kind = event.type
                if kind == "message_start":
                    raw = {k: v for k, v in event.message.usage.model_dump().items() if k in _USAGE_KEYS and v is not None}
                    yield UsageReport(usage_from_anthropic(raw), dict(raw))
                elif kind == "content_block_delta":
                    delta = event.delta
                    if delta.type == "text_delta" and delta.text:
                        yield TextDelta(delta.text)
                    elif delta.type == "thinking_delta":
                        yield ReasoningDelta(delta.thinking)
                elif kind == "message_delta":
                    reason = getattr(getattr(event, "delta", None), "stop_reason", None)
                    if reason:
                        yield finish(reason)
                    if event.usage is not None:
                        # message_delta usage is cumulative: overwrite the fields it carries, never add
                        update = {k: v for k, v in event.usage.model_dump().items()
                                  if k in _USAGE_KEYS and v is not None}
                        raw = {**raw, **update}
                        yield UsageReport(usage_from_anthropic(raw), dict(raw))
                elif kind == "message_stop":
                    ended = True
            if not ended:
                raise ProviderError("cut_off", "the stream ended without message_stop")
        except (anthropic.APIError, *TRANSPORT_ERRORS) as exc:
            raise classify_mid_stream(exc, anthropic) from None
        finally:
            stream.close()
