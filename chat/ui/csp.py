"""Every page of the app says, in a Content-Security-Policy, that it shows images only as data:/blob: (Gradio's
icons), from no path of any server, the app's own included (an image of /logout once logged its reader out), and
opens connections only to the app itself; and who may frame it: nobody,
unless the operator lists the sites that embed it (--frame-ancestors), so another site cannot frame the app and
trick a logged-in reader into clicking Send or Run."""
from __future__ import annotations

import re

POLICY = "; ".join([
    "default-src 'self'",
    "img-src data: blob:",  # Gradio's icons are data: URIs; no path of the app's, which a model could aim at
    "media-src 'self' data: blob:",
    "connect-src 'self'",
    "font-src 'self' data:",
    "style-src 'self' 'unsafe-inline'",  # Gradio's components set inline styles
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",  # its page config is an inline script; Vega compiles specs
    "frame-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
]).encode()


DEFAULT_FRAME_ANCESTORS = "'none'"
_SOURCE = re.compile(r"'none'|'self'|https?://[a-z0-9.-]+(:\d{1,5})?", re.I)


def check_frame_ancestors(value: str | None) -> str:
    """--frame-ancestors / DEMO_FRAME_ANCESTORS: 'none' (the default), 'self', or the https:// origins that embed the
    app, space-separated; ValueError says what is allowed."""
    value = (value or "").strip() or DEFAULT_FRAME_ANCESTORS
    sources = value.split()
    if len(value) > 1000 or not all(_SOURCE.fullmatch(s) for s in sources) or (
            "'none'" in sources and len(sources) > 1):
        raise ValueError(f"--frame-ancestors {value[:60]!r}: use 'none' (the default), 'self', or the sites that "
                         "embed the app, e.g. 'self' https://intranet.example.com")
    return value


class ContentSecurityPolicy:
    """ASGI middleware: adds the policy to every HTTP response that has none, and X-Frame-Options for browsers that
    do not read frame-ancestors."""

    def __init__(self, app, frame_ancestors: str = DEFAULT_FRAME_ANCESTORS):
        self.app = app
        self.policy = POLICY + f"; frame-ancestors {frame_ancestors}".encode()
        sources = frame_ancestors.split()
        # X-Frame-Options knows no list of sites: DENY or SAMEORIGIN when that says it all, else frame-ancestors alone
        self.frame_options = {("'none'",): b"DENY", ("'self'",): b"SAMEORIGIN"}.get(tuple(sources))

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_policy(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"content-security-policy" for k, _ in headers):
                    headers.append((b"content-security-policy", self.policy))
                if self.frame_options and not any(k.lower() == b"x-frame-options" for k, _ in headers):
                    headers.append((b"x-frame-options", self.frame_options))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_policy)
