"""Every page of the app says, in a Content-Security-Policy, that it loads images and opens connections only
from the app itself (and data:/blob:, which Gradio uses for uploads and plots)."""
from __future__ import annotations

POLICY = "; ".join([
    "default-src 'self'",
    "img-src 'self' data: blob:",
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


class ContentSecurityPolicy:
    """ASGI middleware: adds the policy to every HTTP response that has none."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_policy(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"content-security-policy" for k, _ in headers):
                    headers.append((b"content-security-policy", POLICY))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_policy)
