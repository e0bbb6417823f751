"""First come, first served use of a model that can serve one request at a time."""
from __future__ import annotations

import threading


class TurnLine:
    """A fair lock that can say how many are ahead: threading.Lock wakes its waiters in no particular order."""

    def __init__(self):
        self._cond = threading.Condition()
        self._line: list[object] = []  # the one being served first, then the waiters in arrival order

    def join(self) -> object:
        ticket = object()
        with self._cond:
            self._line.append(ticket)
        return ticket

    def ahead(self, ticket: object) -> int:
        with self._cond:
            return self._line.index(ticket)

    def wait(self, ticket: object, timeout: float) -> bool:
        """True once it is this ticket's turn; False after timeout (so the caller can report and re-check)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._line[0] is ticket, timeout)

    def empty(self) -> bool:
        """No one is being served or waiting."""
        with self._cond:
            return not self._line

    def leave(self, ticket: object) -> None:
        """Done, or gave up waiting (Stop): the next in line goes."""
        with self._cond:
            if ticket in self._line:
                self._line.remove(ticket)
            self._cond.notify_all()
