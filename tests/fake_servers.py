"""Loopback fake OpenAI-compatible and Anthropic servers that speak the real SSE wire formats."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import socket
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote


def _openai_prompt_tokens(body: dict) -> int:
    """Prompt tokens as OpenAI's cookbook counts them for chat: 3 to prime the reply, 4 framing each message."""
    import tiktoken

    enc = tiktoken.get_encoding("o200k_base")
    return 3 + sum(4 + len(enc.encode(str(m.get("content") or ""))) for m in body.get("messages", []))


def _text(content) -> str:
    """A message's text, whether a string or Anthropic's list of blocks."""
    if isinstance(content, list):
        return "".join(str(b.get("text") or "") for b in content if isinstance(b, dict))
    return str(content or "")


def _billed(sc, body: dict) -> int:
    """The input a vendor bills: a fixed figure, or `input_ratio` times our own count of the request (o200k_base
    with OpenAI's framing, the system prompt as a first message), as a vendor with its own tokenizer would."""
    if sc.input_ratio is None:
        return sc.input_tokens
    system = body.get("system")
    messages = ([{"content": _text(system)}] if system else []) + [
        {"content": _text(m.get("content"))} for m in body.get("messages", [])]
    return math.ceil(sc.input_ratio * _openai_prompt_tokens({"messages": messages}))


@dataclass
class Scenario:
    """How the fake answers one model. Delays are seconds."""

    chunks: list[str] = field(default_factory=lambda: ["Hello", ",", " this", " is", " a", " fake", " reply", "."])
    ttft: float = 0.0
    gap: float = 0.0
    usage: bool = True  # send usage at all
    input_tokens: int = 21  # ALL input, cached and cache-write included (our meaning)
    cut_at_max: bool = False  # the reply ends because it reached max tokens: each protocol says so its own way
    count_input: bool = False  # OpenAI: report the prompt's real size, counted as OpenAI documents (o200k_base)
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    output_tokens: int | None = None  # default: number of chunks (+ reasoning)
    thinking: list[str] = field(default_factory=list)
    error_after: int | None = None  # an SSE error event after N chunks
    drop_after: int | None = None  # connection cut after N chunks
    stall_after: int | None = None  # silence after N chunks
    stall_seconds: float = 30.0
    fail_first: list[int] = field(default_factory=list)  # HTTP statuses for the first requests, then success
    status: int | None = None  # every request fails with this HTTP status
    reject_stream_options: bool = False
    variants: list[list[str]] = field(default_factory=list)  # replies taken in turn, one per request
    served: int = 0
    truncate_after: int | None = None  # the body ends cleanly after N chunks, with no end marker (no finish, no [DONE])
    sse_style: str = "plain"  # "spec": JSON split over several data: lines, comments, empty data, named events
    sse_error_event: int | None = None  # OpenAI: an `event: error` after N chunks
    error_message: str | None = None  # overrides the message of a failing status
    hold: threading.Event | None = None  # each stream waits here after its first chunk (ordering, not timing)
    cache_write_1h_tokens: int = 0  # of cache_write_tokens, those written with the 1-hour TTL
    latency_ms: int = 321  # Bedrock Converse: metrics.latencyMs in the metadata event
    input_ratio: float | None = None  # bill this many tokens per token of our count (a vendor's own tokenizer)
    cut_before_metadata: bool = False  # Converse: messageStop, then the connection drops before metadata
    aws_exception: str = "throttlingException"  # Converse: the exception frame error_after sends
    thoughts_in_completion: bool = True  # OpenAI-compatible: False as Gemini, whose completion_tokens omit thoughts

    def out_tokens(self) -> int:
        if self.output_tokens is not None:
            return self.output_tokens
        return len(self.chunks) + self.reasoning_tokens


def aws_event(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream frame (the binary framing Bedrock streams in): prelude, headers, payload, CRCs."""
    head = b"".join(
        bytes([len(k)]) + k.encode() + b"\x07" + struct.pack(">H", len(v.encode())) + v.encode() for k, v in headers.items()
    )
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack(">II", total, len(head))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + head + payload
    return body + struct.pack(">I", zlib.crc32(body))


def sigv4_problem(method: str, raw_path: str, headers, body: bytes, secrets: dict[str, str]) -> str | None:
    """Check an AWS Signature V4 from scratch (the spec's canonical request), as Bedrock does; None when it holds."""
    auth = headers.get("Authorization") or ""
    match = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                     r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$", auth)
    if not match:
        return "Authorization header is not an AWS4-HMAC-SHA256 signature"
    key_id, day, region, service, signed, signature = match.groups()
    if key_id not in secrets:
        return "The security token included in the request is invalid (unknown access key)"
    if service != "bedrock":
        return f"Credential should be scoped to correct service: 'bedrock', not {service!r}"
    amz_date = headers.get("X-Amz-Date") or ""
    if not amz_date.startswith(day):
        return "X-Amz-Date does not match the credential scope's date"
    path, _, query = raw_path.partition("?")
    pairs = sorted(tuple(p.split("=", 1) + [""])[:2] for p in query.split("&") if p)
    canonical_query = "&".join(f"{k}={v}" for k, v in pairs)
    names = signed.split(";")
    if "host" not in names:
        return "SignedHeaders must include host"
    canonical_headers = "".join(f"{n}:{' '.join((headers.get(n) or '').split())}\n" for n in names)
    canonical = "\n".join([method, quote(path, safe="/~"), canonical_query, canonical_headers, signed,
                            hashlib.sha256(body).hexdigest()])
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secrets[key_id]).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return ("The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method.")
    return None


class BlackHole:
    """A listening socket that never accepts: once its backlog is full, connecting hangs, as to a host that drops SYNs."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers = []
        for _ in range(4):  # fill the accept queue; later connects get no answer at all
            filler = socket.socket()
            filler.setblocking(False)
            try:
                filler.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self.fillers.append(filler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self):
        for s in [*self.fillers, self.sock]:
            s.close()


def _last_prompt(body: dict) -> str:
    content = (body.get("messages") or [{}])[-1].get("content", "")
    return content if isinstance(content, str) else json.dumps(content)[:200]


class FakeLLMServer:
    """One loopback server answering /v1/chat/completions, Azure deployments and /v1/messages."""

    def __init__(self):
        self.scenarios: dict[str, Scenario] = {}
        self.default = Scenario()
        self.requests: list[dict] = []
        self.azure_ai_key = "azure-ai-key-0123456789abcdef"
        self.aws_secrets = {"AKIAFAKEFAKEFAKE1234": "bedrock-secret-do-not-leak"}  # access key id -> secret
        self._stop = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                if self.path.startswith("/_timings"):
                    # for a benchmark in another process: the server's own TTFT and total per request, by prompt
                    with server._lock:
                        done = [r for r in server.requests if r["ended"]]
                        if "clear=1" in self.path:
                            server.requests[:] = [r for r in server.requests if not r["ended"]]
                    return self._json(200, [{"model": r["model"], "prompt": _last_prompt(r["body"]),
                                             "ttft": (r["first"] or r["ended"]) - r["started"],
                                             "total": r["ended"] - r["started"]} for r in done])
                if self.path.rstrip("/").endswith("/models"):
                    data = [{"id": m, "object": "model", "owned_by": "fake"} for m in server.scenarios]
                    self._json(200, {"object": "list", "data": data})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw_body = self.rfile.read(length)
                body = json.loads(raw_body or b"{}")
                path, _, query = self.path.partition("?")
                azure = re.match(r"^/openai/deployments/([^/]+)/chat/completions$", path)
                bedrock = re.match(r"^/model/([^/]+)/invoke-with-response-stream$", path)
                converse = re.match(r"^/model/([^/]+)/converse-stream$", path)
                model = (unquote(azure.group(1)) if azure else unquote(bedrock.group(1)) if bedrock
                         else unquote(converse.group(1)) if converse else body.get("model", ""))
                record = {"path": path, "query": query, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                          "model": model, "started": time.monotonic(), "first": None, "ended": None}
                with server._lock:
                    server.requests.append(record)
                    sc = server.scenarios.get(model, server.default)
                    status = sc.fail_first.pop(0) if sc.fail_first else sc.status
                    if sc.variants:
                        sc.served += 1
                        sc = replace(sc, chunks=sc.variants[(sc.served - 1) % len(sc.variants)])
                self._record = record
                if converse:
                    problem = sigv4_problem(self.command, self.path, self.headers, raw_body, server.aws_secrets)
                    if problem:
                        return self._aws_fail(403, "InvalidSignatureException", problem)
                    if status:
                        return self._aws_fail(status, sc.aws_exception[0].upper() + sc.aws_exception[1:],
                                              sc.error_message or f"status {status}")
                    try:
                        return self._converse(sc, body)
                    finally:
                        record["ended"] = time.monotonic()
                if path.startswith("/models/"):
                    # Azure AI Foundry's model inference route: its key header and API version are required
                    if self.headers.get("api-key") != server.azure_ai_key:
                        return self._json(401, {"error": {"code": "401", "message": "Access denied due to invalid "
                                                          "subscription key or wrong API endpoint."}})
                    if "api-version=" not in query:
                        return self._json(400, {"error": {"code": "BadRequest", "message": "api-version is required"}})
                anthropic = path.endswith("/messages") or bool(bedrock)
                self._error_message = sc.error_message
                if status:
                    return self._fail(status, anthropic)
                if not anthropic and sc.reject_stream_options and "stream_options" in body:
                    return self._json(400, {"error": {"message": "Unrecognized request argument supplied: stream_options",
                                                      "type": "invalid_request_error", "param": "stream_options"}})
                try:
                    if bedrock:
                        return self._anthropic(sc, body, model, bedrock=True)
                    if anthropic:
                        return self._anthropic(sc, body, model)
                    if path.endswith("/chat/completions"):
                        return self._openai(sc, body, model)
                    self._json(404, {"error": {"message": f"no route {path}"}})
                finally:
                    record["ended"] = time.monotonic()

            # ---- plumbing ------------------------------------------------
            def _json(self, status, payload, headers=None):
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

            def _fail(self, status, anthropic):
                kinds = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
                         429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}
                message = {401: "Incorrect API key provided: sk-test-abcdef123456. You can find your key at the dashboard.",
                           429: "Rate limit reached, slow down", 500: "The server had an error"}.get(status, f"status {status}")
                message = getattr(self, "_error_message", None) or message
                payload = ({"type": "error", "error": {"type": kinds.get(status, "api_error"), "message": message}}
                           if anthropic else {"error": {"message": message, "type": kinds.get(status, "api_error")}})
                # retry-after 0 keeps the SDKs' retry backoff short in tests
                self._json(status, payload, {"retry-after-ms": "10", "retry-after": "0"})

            def _aws_fail(self, status, error_type, message):
                # how AWS JSON services refuse a request: the error type in a header, the message in the body
                self._json(status, {"message": message}, {"x-amzn-ErrorType": f"{error_type}:http://internal.amazon.com/coral/"})

            def _start_stream(self, content_type="text/event-stream"):
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()

            def _send(self, text: str):
                self._send_raw(text.encode(), "content" in text or "text_delta" in text)

            def _send_raw(self, raw: bytes, is_text: bool = False):
                if self._record["first"] is None and is_text:
                    self._record["first"] = time.monotonic()
                self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
                self.wfile.flush()

            def _end(self):
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

            def _drop(self):
                # no terminating chunk: the client sees an incomplete body, as when a proxy cuts the line
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True

            def _pace(self, sc, i) -> str | None:
                """Sleep before piece i; returns 'drop'/'error'/'truncate' when the scenario cuts in here."""
                if i == 1 and sc.hold is not None:
                    sc.hold.wait(60)
                if sc.truncate_after is not None and i == sc.truncate_after:
                    return "truncate"
                if sc.drop_after is not None and i == sc.drop_after:
                    return "drop"
                if sc.error_after is not None and i == sc.error_after:
                    return "error"
                if sc.stall_after is not None and i == sc.stall_after:
                    server._stop.wait(sc.stall_seconds)
                    return "drop"
                delay = sc.ttft if i == 0 else sc.gap
                if delay:
                    time.sleep(delay)
                return None

            # ---- OpenAI Chat Completions -----------------------------------
            def _openai(self, sc, body, model):
                self._start_stream()
                base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

                def chunk(delta, finish=None):
                    payload = json.dumps({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]},
                                         indent=1 if sc.sse_style == "spec" else None)
                    if sc.sse_style == "spec":
                        # one event over several data: lines (joined with newlines, still valid JSON), a comment,
                        # a field without the optional space, and an event with empty data
                        lines = payload.split("\n")
                        return (": keep-alive\n" + "data:" + lines[0] + "\n" + "".join(f"data: {line}\n" for line in lines[1:])
                                + "\n" + "data:\n\n")
                    return "data: " + payload + "\n\n"

                try:
                    pieces = [("reasoning_content", t) for t in sc.thinking] + [("content", t) for t in sc.chunks]
                    for i, (kind, text) in enumerate(pieces):
                        cut = self._pace(sc, i)
                        if cut == "truncate":
                            return self._end()
                        if cut == "drop":
                            return self._drop()
                        if cut == "error":
                            self._send('data: {"error": {"message": "The model crashed mid-stream", "type": "server_error"}}\n\n')
                            return self._end()
                        if sc.sse_error_event is not None and i == sc.sse_error_event:
                            self._send('event: error\ndata: {"message": "Upstream model failed", "code": 503}\n\n')
                            return self._end()
                        self._send(chunk({"role": "assistant", kind: text} if i == 0 else {kind: text}))
                    self._send(chunk({}, "length" if sc.cut_at_max else "stop"))
                    if sc.usage and (body.get("stream_options") or {}).get("include_usage"):
                        out = sc.out_tokens()
                        n_in = _openai_prompt_tokens(body) if sc.count_input else _billed(sc, body)
                        usage = {"prompt_tokens": n_in, "completion_tokens": out, "total_tokens": n_in + out,
                                 "prompt_tokens_details": {"cached_tokens": sc.cached_tokens},
                                 "completion_tokens_details": {"reasoning_tokens": sc.reasoning_tokens}}
                        if not sc.thoughts_in_completion:
                            # as Gemini's endpoint: completion_tokens leaves the thoughts out, total_tokens has them
                            usage["completion_tokens"] = out - sc.reasoning_tokens
                            del usage["completion_tokens_details"]
                        self._send("data: " + json.dumps({**base, "choices": [], "usage": usage}) + "\n\n")
                    self._send("data: [DONE]\n\n")
                    self._end()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading (Stop button)

            # ---- Anthropic Messages -----------------------------------------
            def _anthropic(self, sc, body, model, bedrock=False):
                self._start_stream("application/vnd.amazon.eventstream" if bedrock else "text/event-stream")

                def event(name, payload):
                    if bedrock:
                        if name == "error":
                            return self._send_raw(aws_event({":message-type": "exception", ":exception-type": "throttlingException",
                                                             ":content-type": "application/json"},
                                                            json.dumps({"message": payload["error"]["message"]}).encode()))
                        raw = base64.b64encode(json.dumps(payload).encode()).decode()
                        return self._send_raw(aws_event({":event-type": "chunk", ":content-type": "application/json",
                                                         ":message-type": "event"}, json.dumps({"bytes": raw}).encode()),
                                              "text_delta" in json.dumps(payload))
                    self._send(f"event: {name}\ndata: {json.dumps(payload)}\n\n")

                uncached = _billed(sc, body) - sc.cached_tokens - sc.cache_write_tokens
                start_usage = {"input_tokens": uncached, "output_tokens": 1} if sc.usage else {"input_tokens": 0, "output_tokens": 0}
                if sc.usage:
                    start_usage.update(cache_read_input_tokens=sc.cached_tokens, cache_creation_input_tokens=sc.cache_write_tokens)
                    if sc.cache_write_tokens:
                        start_usage["cache_creation"] = {
                            "ephemeral_5m_input_tokens": sc.cache_write_tokens - sc.cache_write_1h_tokens,
                            "ephemeral_1h_input_tokens": sc.cache_write_1h_tokens}
                try:
                    event("message_start", {"type": "message_start", "message": {
                        "id": "msg_fake", "type": "message", "role": "assistant", "content": [], "model": model,
                        "stop_reason": None, "stop_sequence": None, "usage": start_usage}})
                    pieces = [("thinking", t) for t in sc.thinking] + [("text", t) for t in sc.chunks]
                    block = None
                    for i, (kind, text) in enumerate(pieces):
                        cut = self._pace(sc, i)
                        if cut == "truncate":
                            return self._end()
                        if cut == "drop":
                            return self._drop()
                        if cut == "error":
                            event("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
                            return self._end()
                        if kind != block:
                            if block is not None:
                                event("content_block_stop", {"type": "content_block_stop", "index": 0 if block == "thinking" else 1})
                            index = 0 if kind == "thinking" or not sc.thinking else 1
                            empty = {"type": "thinking", "thinking": ""} if kind == "thinking" else {"type": "text", "text": ""}
                            event("content_block_start", {"type": "content_block_start", "index": index, "content_block": empty})
                            block = kind
                        delta = {"type": "thinking_delta", "thinking": text} if kind == "thinking" else {"type": "text_delta", "text": text}
                        index = 0 if kind == "thinking" or not sc.thinking else 1
                        event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
                        if i == 0:
                            event("ping", {"type": "ping"})
                    if block is not None:
                        event("content_block_stop", {"type": "content_block_stop", "index": 0})
                    final = {"output_tokens": sc.out_tokens() if sc.usage else 0}
                    reason = "max_tokens" if sc.cut_at_max else "end_turn"
                    event("message_delta", {"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": None},
                                            "usage": final})
                    event("message_stop", {"type": "message_stop"})
                    self._end()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            # ---- Bedrock ConverseStream (AWS event-stream frames) ----------------------------
            def _converse(self, sc, body):
                self._start_stream("application/vnd.amazon.eventstream")

                def event(name, payload, text=False):
                    self._send_raw(aws_event({":event-type": name, ":content-type": "application/json",
                                              ":message-type": "event"}, json.dumps(payload).encode()), text)

                try:
                    event("messageStart", {"role": "assistant"})
                    pieces = [("reasoningContent", t) for t in sc.thinking] + [("text", t) for t in sc.chunks]
                    for i, (kind, text) in enumerate(pieces):
                        cut = self._pace(sc, i)
                        if cut == "truncate":
                            return self._end()
                        if cut == "drop":
                            return self._drop()
                        if cut == "error":
                            self._send_raw(aws_event({":message-type": "exception", ":exception-type": sc.aws_exception,
                                                      ":content-type": "application/json"},
                                                     json.dumps({"message": sc.error_message or "Too many requests, "
                                                                 "please wait before trying again."}).encode()))
                            return self._end()
                        index = 0 if kind == "reasoningContent" or not sc.thinking else 1
                        delta = {"reasoningContent": {"text": text}} if kind == "reasoningContent" else {"text": text}
                        event("contentBlockDelta", {"contentBlockIndex": index, "delta": delta}, kind == "text")
                    event("contentBlockStop", {"contentBlockIndex": 0})
                    event("messageStop", {"stopReason": "max_tokens" if sc.cut_at_max else "end_turn"})
                    if sc.cut_before_metadata:
                        return self._drop()
                    if sc.usage:
                        out = sc.out_tokens()
                        # Converse's inputTokens leaves out cache reads and writes
                        fresh = sc.input_tokens - sc.cached_tokens - sc.cache_write_tokens
                        usage = {"inputTokens": fresh, "outputTokens": out, "totalTokens": sc.input_tokens + out}
                        if sc.cached_tokens or sc.cache_write_tokens:
                            usage.update(cacheReadInputTokens=sc.cached_tokens, cacheWriteInputTokens=sc.cache_write_tokens)
                        if sc.cache_write_tokens:
                            details = [("5m", sc.cache_write_tokens - sc.cache_write_1h_tokens), ("1h", sc.cache_write_1h_tokens)]
                            usage["cacheDetails"] = [{"ttl": ttl, "inputTokens": n} for ttl, n in details if n]
                        event("metadata", {"usage": usage, "metrics": {"latencyMs": sc.latency_ms}})
                    self._end()
                except (BrokenPipeError, ConnectionResetError):
                    pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            # socketserver's default backlog of 5 drops connections when 50 arrive at once, and the kernel
            # retries a dropped one after a second: that second would be blamed on the app in benchmarks
            request_queue_size = 1024

            def handle_error(self, request, client_address):
                pass  # clients hanging up (Stop, shutdown) are part of the tests, not failures

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="fake-llm-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
