"""UTC timestamps as stored in the log: ISO 8601 with a Z."""
from __future__ import annotations

from datetime import datetime, timezone


def now_iso(timespec: str = "milliseconds") -> str:
    return datetime.now(timezone.utc).isoformat(timespec=timespec).replace("+00:00", "Z")
