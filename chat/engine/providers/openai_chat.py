"""OpenAI Chat Completions streaming: OpenAI, Azure and every OpenAI-compatible server."""
from __future__ import annotations

import json
from collections.abc import Iterator

import openai

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
from chat.engine.providers.sse import parse
from chat.engine.usage import Usage


def usage_from_openai(raw: dict) -> tuple[Usage, str | None]:
    """(usage, how it was reconciled or None). Our output always includes the reasoning tokens.

    OpenAI's prompt_tokens includes cached tokens and completion_tokens includes reasoning; Gemini's endpoint and
    some gateways leave the thoughts out of completion_tokens, though total_tokens still counts them.
    """
    prompt_details = raw.get("prompt_tokens_details") or {}
    completion_details = raw.get("completion_tokens_details") or {}
    prompt = _count(raw.get("prompt_tokens"))
    completion = _count(raw.get("completion_tokens"))
    reasoning = _count(completion_details.get("reasoning_tokens"))
    total = raw.get("total_tokens")
    note = None
    shortfall = _count(total) - prompt - completion if total is not None else 0
    if shortfall > 0:
        # the missing tokens are thoughts the server billed but did not count as completion
        note = (f"total_tokens {_count(total)} exceeds prompt_tokens {prompt} + completion_tokens {completion}: "
                f"{shortfall} reasoning tokens folded into output")
        completion += shortfall
        reasoning = max(reasoning, shortfall)
    elif reasoning > completion:
        note = (f"completion_tokens {completion} is less than its reasoning_tokens {reasoning}: "
                "the reasoning was added to output")
        completion += reasoning
    return Usage(
        input_tokens=prompt,
        output_tokens=completion,
        cached_tokens=_count(prompt_details.get("cached_tokens")),
        # Not OpenAI's own field, but OpenRouter and some gateways report cache writes here.
        cache_write_tokens=_count(prompt_details.get("cache_write_tokens")),
        reasoning_tokens=reasoning,
    ), note


def _count(value) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def _rejects_stream_options(exc: Exception) -> bool:
    if not isinstance(exc, openai.BadRequestError | openai.UnprocessableEntityError):
        return False
    return "stream_options" in f"{getattr(exc, 'message', '')} {getattr(exc, 'body', '')}"


class OpenAIChat:
    """One adapter for the Chat Completions wire protocol."""

    def __init__(self, client: openai.OpenAI, max_tokens_field: str = "max_tokens"):
        self.client = client
        self.max_tokens_field = max_tokens_field
        # Models whose server rejected stream_options: later calls skip the failing attempt.
        # Per model, since one gateway may route models to servers that differ.
        self.no_stream_options: set[str] = set()

    def _open(self, request: Request):
        """Send the request; returns the SDK's streaming-response context, already entered (status checked, retried)."""
        # The messages ride in extra_body, which the SDK merges into the JSON as is: its type-driven transform
        # of `messages` cost 5.6 ms for a 40-message conversation, on every question of a long chat, for
        # plain {role, content: str} dicts that need no transforming. Sending, auth and retries are the SDK's.
        params: dict = {"model": request.model, "messages": [], "extra_body": {"messages": request.messages},
                        "stream": True}
        if request.max_tokens is not None:
            params[self.max_tokens_field] = request.max_tokens
        if request.temperature is not None:
            params["temperature"] = request.temperature
        create = self.client.chat.completions.with_streaming_response.create
        if request.model not in self.no_stream_options:
            manager = create(**params, stream_options={"include_usage": True})
            try:
                return manager, manager.__enter__()
            except openai.APIError as exc:
                if not _rejects_stream_options(exc):
                    raise
                self.no_stream_options.add(request.model)
        manager = create(**params)
        return manager, manager.__enter__()

    def stream(self, request: Request) -> Iterator[Event]:
        try:
            manager, response = self._open(request)
        except openai.APIError as exc:
            raise classify(exc, openai) from None
        ended = False  # a finish_reason or [DONE]: without one the reply was cut off, however cleanly the body ended
        try:
            # The SDK sends, authenticates and retries; the chunks are read here as plain JSON, because
            # building a pydantic model per chunk was the largest CPU cost with many streams at once.
            for sse in parse(response.iter_lines()):
                if sse.data.strip() == "[DONE]":
                    ended = True
                    break
                chunk = json.loads(sse.data)
                if sse.event == "error" or (isinstance(chunk, dict) and chunk.get("error")):
                    error = chunk.get("error", chunk) if isinstance(chunk, dict) else chunk
                    message = error.get("message") if isinstance(error, dict) else str(error)
                    raise ProviderError("server", message or "the server reported an error mid-stream")
                if not isinstance(chunk, dict):
                    continue
                usage = chunk.get("usage")
                if usage:
                    counted, note = usage_from_openai(usage)
                    yield UsageReport(counted, usage, adjusted=note)
                for choice in chunk.get("choices") or ():
                    delta = choice.get("delta") or {}
                    # vLLM, DeepSeek and Ollama stream thinking under one of these names
                    thinking = delta.get("reasoning_content") or delta.get("reasoning")
                    if thinking:
                        yield ReasoningDelta(str(thinking))
                    if delta.get("content"):
                        yield TextDelta(delta["content"])
                    if choice.get("finish_reason"):
                        ended = True
                        yield finish(choice["finish_reason"])
            if not ended:
                raise ProviderError("cut_off", "the stream ended without finish_reason or [DONE]")
        except (openai.APIError, *TRANSPORT_ERRORS) as exc:
            raise classify_mid_stream(exc, openai) from None
        except json.JSONDecodeError:
            raise ProviderError("server", "the server sent a malformed stream chunk") from None
        finally:
            manager.__exit__(None, None, None)
