"""Bedrock ConverseStream through boto3: Llama, Mistral, Nova, Cohere, and Claude too, in one AWS wire format."""
from __future__ import annotations

from collections.abc import Iterator

from chat.engine.providers.base import Event, ProviderError, ReasoningDelta, Request, TextDelta, UsageReport, finish
from chat.engine.usage import Usage

CACHE_POINT = {"type": "default"}
# Models whose Converse refuses a system prompt: it goes at the head of the first user turn instead.
NO_SYSTEM_PROMPT = ("mistral.mistral-7b-instruct", "mistral.mixtral-8x7b-instruct", "amazon.titan-text",
                    "cohere.command-text", "cohere.command-light", "meta.llama2")
_REGION_PREFIXES = ("us.", "eu.", "apac.", "us-gov.", "ca.", "jp.", "au.", "global.")

# AWS error codes (HTTP refusals and exception frames alike, case aside) -> our kinds
_KINDS = {
    "throttlingexception": "rate_limit", "modelnotreadyexception": "rate_limit",
    "servicequotaexceededexception": "rate_limit", "toomanyrequestsexception": "rate_limit",
    "accessdeniedexception": "auth", "unrecognizedclientexception": "auth", "invalidsignatureexception": "auth",
    "expiredtokenexception": "auth", "incompletesignature": "auth", "signaturedoesnotmatch": "auth",
    "resourcenotfoundexception": "not_found",
    "validationexception": "bad_request",
    "modeltimeoutexception": "timeout",
}
_ADVICE = {
    "rate_limit": "Bedrock is throttling this account or the model is not ready: wait and retry, lower concurrency, "
                  "or ask AWS for a higher quota",
    "auth": "check the AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE) and that this model "
            "is enabled under Model access in the Bedrock console for the region",
    "not_found": "check the model id, and that it is offered in this region (or use a cross-region profile such as us.<id>)",
    "bad_request": "Bedrock refused the request as sent",
    "timeout": "the model took too long: retry, or lower max tokens",
    "server": "Bedrock failed on its side: try again later",
}


def base_model_id(model_id: str) -> str:
    """'us.meta.llama3-1-70b-instruct-v1:0' -> 'meta.llama3-1-70b-instruct-v1:0': how a cross-region profile is priced."""
    for prefix in _REGION_PREFIXES:
        if model_id.startswith(prefix):
            return model_id[len(prefix):]
    return model_id


def usage_from_converse(raw: dict) -> Usage:
    """Converse's inputTokens leaves out cache reads and writes; ours counts all input."""
    fresh = int(raw.get("inputTokens") or 0)
    cached = int(raw.get("cacheReadInputTokens") or 0)
    written = int(raw.get("cacheWriteInputTokens") or 0)
    long_writes = sum(int(d.get("inputTokens") or 0) for d in raw.get("cacheDetails") or () if d.get("ttl") == "1h")
    return Usage(input_tokens=fresh + cached + written, output_tokens=int(raw.get("outputTokens") or 0),
                 cached_tokens=cached, cache_write_tokens=written, cache_write_1h_tokens=min(long_writes, written))


def _turns(request: Request) -> tuple[list[dict], list[dict]]:
    """(system blocks, messages) in Converse's shape: alternating turns, each a list of text blocks."""
    system = [m["content"] for m in request.messages if m["role"] == "system" and m["content"]]
    messages: list[dict] = []
    for m in request.messages:
        if m["role"] == "system" or not m["content"]:
            continue
        if messages and messages[-1]["role"] == m["role"]:
            messages[-1]["content"].append({"text": m["content"]})  # Converse wants turns to alternate
        else:
            messages.append({"role": m["role"], "content": [{"text": m["content"]}]})
    if system and base_model_id(request.model).startswith(NO_SYSTEM_PROMPT) and messages:
        messages[0]["content"].insert(0, {"text": "\n\n".join(system)})
        system = []
    return [{"text": s} for s in system], messages


def _error(exc: Exception, mid_stream: bool) -> ProviderError:
    from botocore import exceptions as bx

    if isinstance(exc, bx.ClientError):
        err = exc.response.get("Error") or {}
        code = str(err.get("Code") or "")
        status = (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        status = None if status == 200 else status
        kind = _KINDS.get(code.lower(), "server")
        message = f"{code}: {err.get('Message') or exc}" if code else str(exc)
        # an HTTP refusal before the stream bills nothing; an exception frame inside the stream may have
        billable = mid_stream or status is None
        return ProviderError(kind, f"{message} — {_ADVICE[kind]}", status, billable)
    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError)):
        return ProviderError("auth", f"no AWS credentials found — {_ADVICE['auth']}", billable=False)
    if isinstance(exc, bx.NoRegionError):
        return ProviderError("bad_request", "no AWS region: set AWS_REGION in .env", billable=False)
    if isinstance(exc, bx.ConnectTimeoutError):
        return ProviderError("connect_timeout", "could not connect in time", billable=False)
    if isinstance(exc, bx.ReadTimeoutError):
        return ProviderError("timeout", "the server stopped answering (timed out)")
    if isinstance(exc, bx.EndpointConnectionError):
        return ProviderError("connection", f"could not reach the server: {exc}", billable=False)
    return ProviderError("connection", "the connection broke mid-reply" if mid_stream else f"could not reach the server: {exc}")


def transport_errors() -> tuple[type[Exception], ...]:
    from botocore import exceptions as bx
    from urllib3 import exceptions as ux

    return bx.BotoCoreError, bx.ClientError, ux.HTTPError, OSError


class BedrockConverse:
    """One adapter for the ConverseStream wire protocol, over a boto3 bedrock-runtime client."""

    def __init__(self, client):
        self.client = client
        self.errors = transport_errors()

    def stream(self, request: Request) -> Iterator[Event]:
        system, messages = _turns(request)
        if request.cache_prefix:
            # a cache point after the system prompt and after the turns before the question: Bedrock caches what
            # comes before each (its minimum length and prices as Anthropic's for Claude)
            if system:
                system = system + [{"cachePoint": CACHE_POINT}]
            if len(messages) >= 2:
                messages[-2]["content"].append({"cachePoint": CACHE_POINT})
        params: dict = {"modelId": request.model, "messages": messages}
        if system:
            params["system"] = system
        inference = {}
        if request.max_tokens is not None:
            inference["maxTokens"] = request.max_tokens
        if request.temperature is not None:
            inference["temperature"] = request.temperature
        if inference:
            params["inferenceConfig"] = inference
        try:
            response = self.client.converse_stream(**params)
        except self.errors as exc:
            raise _error(exc, mid_stream=False) from None
        events = response["stream"]
        stopped = False
        try:
            for event in events:
                if "contentBlockDelta" in event:
                    delta = event["contentBlockDelta"].get("delta") or {}
                    if delta.get("text"):
                        yield TextDelta(delta["text"])
                    thinking = (delta.get("reasoningContent") or {}).get("text")
                    if thinking:
                        yield ReasoningDelta(thinking)
                elif "messageStop" in event:
                    stopped = True
                    yield finish(event["messageStop"].get("stopReason"))
                elif "metadata" in event:
                    raw = dict(event["metadata"].get("usage") or {})
                    latency = (event["metadata"].get("metrics") or {}).get("latencyMs")
                    yield UsageReport(usage_from_converse(raw), raw, latency_ms=latency)
            if not stopped:
                raise ProviderError("cut_off", "the stream ended without messageStop")
        except self.errors as exc:
            if stopped:
                return  # the reply is whole; only the usage after it was lost, so the meter estimates it
            raise _error(exc, mid_stream=True) from None
        finally:
            events.close()
