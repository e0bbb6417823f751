"""UTC timestamps as stored in the log: ISO 8601 with milliseconds and a Z, the one format, so text order is time order."""
from __future__ import annotations

from datetime import datetime, timezone


def iso(moment: datetime) -> str:
    """'2026-12-01T19:20:33.123Z'."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(datetime.now(timezone.utc))
