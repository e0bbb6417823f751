"""Under auth, the login page must not carry the API schema (model names, routes) that Gradio embeds in every page,
and logging out takes a POST: a GET to /logout, which any image, link or prefetch in a page can make (a model's
answer once logged its reader out with ![x](/logout)), is refused."""
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


# the button that logs out: a form POST, the one request a page's images and links cannot make
LOGOUT_JS = ("() => { const f = document.createElement('form'); f.method = 'post'; "
             "f.action = new URL('logout', document.baseURI).href; document.body.appendChild(f); f.submit(); }")


class PostOnlyLogout:
    """ASGI middleware: POST /logout is Gradio's logout (which only knows GET); any other method gets 405."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope.get("path", "").rstrip("/").endswith("/logout"):
            return await self.app(scope, receive, send)
        if scope["method"] == "POST":
            return await self.app({**scope, "method": "GET"}, receive, send)
        body = b"Log out with the app's Log out button (a POST); a link or an image cannot log you out.\n"
        await send({"type": "http.response.start", "status": 405,
                    "headers": [(b"allow", b"POST"), (b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
