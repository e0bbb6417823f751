"""Time bounds people type — 2h, 7d, 2026-11-01, an ISO time — as the log's UTC ISO strings."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from chat.clock import iso
from chat.wording import Worded

UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
PRESETS = {"last hour": timedelta(hours=1), "today": None, "7 days": timedelta(days=7), "30 days": timedelta(days=30),
           "all": None}


def parse_when(text: str, now: datetime | None = None) -> str:
    """'2h' (ago), '7d', '2026-11-01', '2026-11-01T09:00', with or without a zone (UTC when none); else Worded (a
    ValueError) saying what to type."""
    now = now or datetime.now(timezone.utc)
    value = (text or "").strip()
    if m := re.fullmatch(r"(\d{1,6})\s*([mhdw])", value):
        try:
            return iso(now - timedelta(**{UNITS[m.group(2)]: int(m.group(1))}))
        except OverflowError:  # before the year 1: no log goes back that far
            raise Worded("{text} reaches back past the year 1: use a shorter span such as 52w, or a date such as "
                         "2026-01-01", text=repr(text)) from None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Worded("{text} is not a time: use 30m, 2h, 7d, 2w, 2026-11-01 or 2026-11-01T09:00", text=repr(text)) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return iso(moment)


def preset_since(preset: str, now: datetime | None = None) -> str | None:
    """The start of a named range in the Logs tab ('today' starts at 00:00 UTC)."""
    now = now or datetime.now(timezone.utc)
    if preset == "today":
        return iso(now.replace(hour=0, minute=0, second=0, microsecond=0))
    span = PRESETS.get(preset)
    return iso(now - span) if span else None
