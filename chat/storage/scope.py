"""Whose rows a reader may see, decided once per request at the edge and applied to every read."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """Whose rows a reader may see: every row, one login's, one browser session's, or none at all."""

    user: str | None = None
    browser_session: str | None = None
    nothing: bool = False  # a login was required and there was none

    @classmethod
    def everyone(cls) -> Scope:
        return cls()

    @classmethod
    def login(cls, user: str | None) -> Scope:
        return cls(user=user) if user else cls(nothing=True)

    @classmethod
    def browser(cls, session: str | None) -> Scope:
        return cls(browser_session=session) if session else cls(nothing=True)

    def sql(self, table: str = "") -> tuple[str, list]:
        """The condition a row (an exchange or a run, both with user and browser_session) must meet, or ''."""
        p = f"{table}." if table else ""
        if self.nothing:
            return "1 = 0", []
        clauses, params = [], []
        for column in ("user", "browser_session"):
            if getattr(self, column) is not None:
                clauses.append(f'{p}"{column}" = ?')  # quoted: to PostgreSQL a bare user is current_user
                params.append(getattr(self, column))
        return " AND ".join(clauses), params
