"""The privacy policy: who may read which rows of the log, decided once per request from the launch settings."""
from __future__ import annotations

from dataclasses import dataclass, field

import gradio as gr

from chat.storage.scope import Scope


@dataclass(frozen=True)
class Access:
    """Who may read which rows: set once at launch from --auth, --admin and --share."""

    auth: bool = False  # logins are required
    shared: bool = False  # reachable by others (a share link, or a non-loopback host)
    admins: frozenset = field(default_factory=frozenset)


def scope(access: Access, request: gr.Request | None) -> Scope:
    """The scope every query of this visitor carries, whatever they typed: their login's rows, or their
    browser session's on a shared link without logins; every row only for admins and local runs."""
    login = getattr(request, "username", None) if request is not None else None
    if access.auth:
        return Scope.everyone() if login and login in access.admins else Scope.login(login)
    if access.shared:
        return Scope.browser(getattr(request, "session_hash", None) if request is not None else None)
    return Scope.everyone()
