"""Who is asking, from a Gradio request: the browser session whose caps apply on every tab, and the login."""
from __future__ import annotations

import gradio as gr

from chat.engine import Caller, Engine
from chat.engine.budget import CapExceeded
from chat.ui.i18n import error, language, words
from chat.wording import refusal


def identity(request: gr.Request | None, fallback: str) -> Caller:
    """A browser session's caps hold across every tab of the app; the login when auth is on."""
    user = getattr(request, "username", None) if request is not None else None
    session = getattr(request, "session_hash", None) if request is not None else None
    return Caller(spend_key=f"browser:{session}" if session else fallback, user=user, browser_session=session or None)


def check_rate(engine: Engine, request: gr.Request | None, fallback: str) -> Caller:
    """The caller's identity, after the per-session request rate limit (gr.Error past it)."""
    caller = identity(request, fallback)
    try:
        engine.budget.check_rate(f"user:{caller.user}" if caller.user else caller.spend_key)
    except CapExceeded as exc:
        raise error(refusal(exc.reason, words(language(request))), language(request)) from None
    return caller


def rater_name(typed, request: gr.Request | None) -> str:
    """Ratings and votes are the login's when auth is on (a typed name cannot speak for someone else)."""
    login = getattr(request, "username", None) if request is not None else None
    if login:
        return login
    return typed.strip()[:200] if isinstance(typed, str) else ""
