"""Model output is untrusted input: shown as text, it can never make the reader's browser fetch anything.

A reply rendered as Markdown could carry an image (`![x](https://…)`), raw HTML (`<img>`, `<link>`,
`style="background:url(…)"`) or an iframe, each a request to a URL of the model's choosing, which a
prompt-injected answer can fill with what is on the page. Here every HTML tag is shown as text and every
Markdown image as its alt text and address, so the Markdown renderer has nothing to load; links stay links
(nothing is fetched until someone clicks one). The app's Content-Security-Policy (csp.py) is the second wall.
"""
from __future__ import annotations

import re

# ![alt](url "title") and the reference form ![alt][ref]
_IMAGE = re.compile(r"!\[([^\]\n]{0,500})\]\(\s*<?([^)\s>]{0,2000})>?(?:\s+[\"'(][^)\n]{0,500}[\"')])?\s*\)")
_REF_IMAGE = re.compile(r"!\[([^\]\n]{0,500})\]\[([^\]\n]{0,200})\]")
_LONE_TILDE = re.compile(r"(?<![~\\])~(?!~)")


# code is shown verbatim by Markdown (no tags, no images), so it is left as written: a fenced block (one
# still streaming runs to the end), or an inline span
_CODE = re.compile(r"(```[\s\S]*?(?:```|$)|~~~[\s\S]*?(?:~~~|$)|`[^`\n]+`)")


def inert(text: str | None) -> str:
    """Text as Markdown that renders what the model wrote without loading anything."""
    if not text:
        return text or ""
    parts = _CODE.split(text)
    # split() puts the code at odd positions
    return "".join(part if i % 2 else _prose(part) for i, part in enumerate(parts))


def _prose(text: str) -> str:
    text = text.replace("<", "&lt;")  # every tag is shown as text, so none can load or run anything
    text = _IMAGE.sub(lambda m: f"🖼 {m.group(1) or 'image'} ({_plain(m.group(2))})", text)
    text = _REF_IMAGE.sub(lambda m: f"🖼 {m.group(1) or 'image'} [{m.group(2)}]", text)
    # one tilde is a Korean range (09:00~18:00, 180~240), never strikethrough as GFM renderers would draw it
    return _LONE_TILDE.sub(r"\\~", text)


def _plain(url: str) -> str:
    # shown, not linked: a bare URL in parentheses would otherwise be autolinked, which is harmless but noisy
    return url.replace("://", ":\u200b//")
