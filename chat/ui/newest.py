"""Each browser session sees its newest request's answer in a view, whatever order the answers arrive in.

Gradio shows every event's answer as it arrives. An older one still working (the run picked a moment ago, a finished
run's refresh, the previous volume typed) would put its figures back over the newer: the verdict without the limit
just set (the CI caught that), or the last run's tables under the run now picked. Such an answer leaves the view as
it is.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import gradio as gr


class Newest:
    """Per view and browser session, which request was made last among those answered."""

    def __init__(self, sessions: int = 10_000):
        self._lock = threading.Lock()
        self._made: OrderedDict[Hashable, int] = OrderedDict()
        self._shown: dict[Hashable, int] = {}
        self._sessions = sessions

    def start(self, key: Hashable) -> int:
        with self._lock:
            n = self._made.pop(key, 0) + 1
            self._made[key] = n
            while len(self._made) > self._sessions:  # the oldest sessions are forgotten: memory stays bounded
                self._shown.pop(self._made.popitem(last=False)[0], None)
            return n

    def done(self, key: Hashable, ticket: int) -> bool:
        """Whether this answer may be shown: no request made after it has been answered already."""
        with self._lock:
            if ticket < self._shown.get(key, 0):
                return False
            self._shown[key] = ticket
            return True


NEWEST = Newest()


def newest(view: str, request: gr.Request | None, answer: Callable[[], tuple]) -> tuple:
    """The view's outputs, or a skip for each if a newer request of this session was answered first."""
    session = getattr(request, "session_hash", None)
    if session is None:  # a call from the API without a session, or a test: nothing to order
        return answer()
    key = (view, session)
    ticket = NEWEST.start(key)
    shown = answer()
    return shown if NEWEST.done(key, ticket) else (gr.skip(),) * len(shown)
