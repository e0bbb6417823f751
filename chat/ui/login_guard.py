"""Under auth, the login page must not carry the API schema (model names, routes) that Gradio embeds in every page."""
from __future__ import annotations

import re
from http.cookies import SimpleCookie

_API_INFO = re.compile(rb"window\.gradio_api_info = .*?;</script>", re.S)


def _logged_in(app, headers: dict[bytes, bytes]) -> bool:
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get(b"cookie", b"").decode("latin-1"))
    except Exception:  # a malformed cookie header is simply no login
        return False
    for name in (f"access-token-{app.cookie_id}", f"access-token-unsecure-{app.cookie_id}"):
        if name in cookie and app.tokens.get(cookie[name].value):
            return True
    return False


class HideApiInfoUntilLogin:
    """ASGI middleware: for a visitor who has not logged in, every HTML page goes out with an empty API schema."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        gradio_app = scope.get("app")
        if scope["type"] != "http" or getattr(gradio_app, "auth", None) is None or \
                _logged_in(gradio_app, dict(scope.get("headers") or [])):
            return await self.app(scope, receive, send)
        start, chunks = None, []

        async def capture(message):
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                return await send(message)
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            if any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers):
                body = _API_INFO.sub(b"window.gradio_api_info = null;</script>", body)
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)
