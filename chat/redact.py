"""Scrub secrets from any text before it reaches the UI, stderr, the logs, reports or the database."""
from __future__ import annotations

import logging
import os
import re
import sys
import threading

_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|AUTH|CREDENTIAL)", re.IGNORECASE)
_PATTERNS = [
    re.compile(r"\bsk-[A-Za-z0-9_\-*.]{6,}"),  # OpenAI / Anthropic keys, including masked echoes like sk-proj-****abcd
    re.compile(r"\bAKIA[0-9A-Z]{12,}"),  # AWS access key ids
    re.compile(r"\bAIza[0-9A-Za-z_\-]{20,}"),  # Google API keys
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9_\-.~+/=*]{6,}"),
    re.compile(r"(?i)(api[_ -]?key[\"']?\s*(?:provided)?\s*[:=]\s*[\"']?)[^\s\"',}]+"),
]
MASK = "[redacted]"
FRAGMENT = 8  # any run of this many characters copied from a secret is masked
_PREFIXES = ("sk-ant-api03-", "sk-ant-", "sk-proj-", "sk-", "AIza", "AKIA")
_registered: set[str] = set()
_cache: dict = {"key": None, "grams": frozenset()}
_lock = threading.Lock()


def register(secret: str) -> None:
    """A secret that lives outside the environment (a --auth password): masked like the others."""
    if secret and len(secret) >= FRAGMENT:
        _registered.add(secret)


# named like secrets, but folders: masking them would blank every path in a traceback
_NOT_SECRET = {"TIKTOKEN_CACHE_DIR", "AWS_SHARED_CREDENTIALS_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
               "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"}
_LOGINS = re.compile(r"^[^:,\s]+:[^,]+(,\s*[^:,\s]+:[^,]+)*$")


def _secrets() -> tuple[str, ...]:
    values = []
    for name, value in os.environ.items():
        value = value.strip()
        if not value or not _SECRET_NAME.search(name) or name.upper() in _NOT_SECRET:
            continue
        if "AUTH" in name.upper() and _LOGINS.match(value):
            # 'user:password,user:password': the passwords are secret, the login names are shown on purpose
            values += [part.partition(":")[2].strip() for part in value.split(",")]
            continue
        values.append(value)
        values += [value[len(p):] for p in _PREFIXES if value.startswith(p)]  # echoed without its prefix
    return tuple(sorted({v for v in values + list(_registered) if len(v) >= FRAGMENT}))


def _grams() -> frozenset[str]:
    secrets = _secrets()
    with _lock:
        if _cache["key"] != secrets:
            _cache["grams"] = frozenset(s[i:i + FRAGMENT] for s in secrets for i in range(len(s) - FRAGMENT + 1))
            _cache["key"] = secrets
        return _cache["grams"]


def _mask_fragments(text: str, grams: frozenset[str]) -> str:
    """Mask every span of text made of secret fragments: O(len(text)) set lookups."""
    spans: list[list[int]] = []
    for i in range(len(text) - FRAGMENT + 1):
        if text[i:i + FRAGMENT] in grams:
            if spans and i <= spans[-1][1]:
                spans[-1][1] = i + FRAGMENT
            else:
                spans.append([i, i + FRAGMENT])
    if not spans:
        return text
    out, last = [], 0
    for start, end in spans:
        out += [text[last:start], MASK]
        last = end
    out.append(text[last:])
    return "".join(out)


def redact(text: str | None) -> str | None:
    if not text:
        return text
    text = str(text)
    grams = _grams()
    if grams:
        text = _mask_fragments(text, grams)
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + MASK, text)
        else:
            text = pattern.sub(MASK, text)
    return text


class _RedactingRecord(logging.LogRecord):
    def getMessage(self) -> str:  # noqa: N802 (logging's name)
        return redact(super().getMessage())


def install() -> None:
    """Redact every log record, traceback and uncaught exception this process prints."""
    logging.setLogRecordFactory(_RedactingRecord)
    formatter_exc = logging.Formatter.formatException
    if not getattr(logging.Formatter.formatException, "_redacting", False):
        def format_exception(self, ei):
            return redact(formatter_exc(self, ei))

        format_exception._redacting = True
        logging.Formatter.formatException = format_exception
    hook, thread_hook = sys.excepthook, threading.excepthook

    def excepthook(kind, value, tb):
        import traceback

        sys.stderr.write(redact("".join(traceback.format_exception(kind, value, tb))))

    def thread_excepthook(args):
        if args.exc_type is SystemExit:
            return
        import traceback

        sys.stderr.write(redact(f"Exception in thread {args.thread.name if args.thread else '?'}:\n"
                                + "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))))

    if not getattr(hook, "_redacting", False):
        excepthook._redacting = True
        sys.excepthook = excepthook
    if not getattr(thread_hook, "_redacting", False):
        thread_excepthook._redacting = True
        threading.excepthook = thread_excepthook
