"""Scrub secrets from any text before it reaches the UI, the logs or the database."""
from __future__ import annotations

import os
import re

_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|AUTH|CREDENTIAL)", re.IGNORECASE)
_PATTERNS = [
    re.compile(r"\bsk-[A-Za-z0-9_\-*.]{6,}"),  # OpenAI / Anthropic keys, including masked echoes like sk-proj-****abcd
    re.compile(r"\bAKIA[0-9A-Z]{12,}"),  # AWS access key ids
    re.compile(r"\bAIza[0-9A-Za-z_\-]{20,}"),  # Google API keys
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9_\-.~+/=*]{6,}"),
    re.compile(r"(?i)(api[_ -]?key[\"']?\s*(?:provided)?\s*[:=]\s*[\"']?)[^\s\"',}]+"),
]
MASK = "[redacted]"


def redact(text: str | None) -> str | None:
    if not text:
        return text
    for name, value in os.environ.items():
        # env values named like secrets are removed verbatim, whatever their shape
        if value and len(value) >= 6 and _SECRET_NAME.search(name) and value in text:
            text = text.replace(value, MASK)
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + MASK, text)
        else:
            text = pattern.sub(MASK, text)
    return text
