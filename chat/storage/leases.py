"""Which process owns a reply in flight, and when another may call it dead.

Every process that opens the log holds a lease in `hosts`, renewed by a heartbeat. A 'streaming' row whose
owner's lease has run out (or, on this machine, whose process is gone) was cut off: its owner was killed, or
its host died. A process on this machine is checked at once by its pid and start time; one elsewhere only by
its lease, so a host that is merely slow keeps its rows until the lease says otherwise. The cut-off rows
become 'interrupted', and their spend reservations are settled at their worst case (the provider may have
billed the reply), never dropped.
"""
from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path

DEFAULT_LEASE_S = 30.0
INTERRUPTED = ("the app stopped before this reply finished (killed or crashed); the provider may have billed it"
               " — its spend reservation still counts against the caps")


def lease_seconds() -> float:
    """CHAT_LEASE_SECONDS: how long a silent host keeps its replies in flight (ValueError naming a bad value)."""
    raw = os.environ.get("CHAT_LEASE_SECONDS", "").strip()
    if not raw:
        return DEFAULT_LEASE_S
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if not 1 <= value <= 3600:
        raise ValueError(f"CHAT_LEASE_SECONDS={raw!r} must be a number of seconds from 1 to 3600 (e.g. 30)")
    return value


def host_id() -> str:
    """The name this machine goes by in the log (CHAT_HOST_ID, else its hostname)."""
    return os.environ.get("CHAT_HOST_ID", "").strip() or socket.gethostname()


def _process_start(pid: int) -> str | None:
    """The kernel's start time of a process (guards against a recycled pid); None where /proc is absent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def process_tag() -> str:
    """host:pid:start — identifies the process that owns a 'streaming' row."""
    return f"{host_id()}:{os.getpid()}:{_process_start(os.getpid()) or 0}"


def running_here(tag: str) -> bool | None:
    """Whether the process is alive, when it ran on this machine; None for another machine's (only its lease knows)."""
    host, _, rest = (tag or "").partition(":")
    pid, _, start = rest.partition(":")
    if host != host_id() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    now = _process_start(int(pid))
    return now is None or start in ("0", now)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def renew(conn, tag: str, started_at: str) -> None:
    """This process is alive for another lease."""
    until = _stamp(datetime.now(timezone.utc) + timedelta(seconds=lease_seconds()))
    conn.execute("INSERT INTO hosts (process, started_at, lease_until) VALUES (?, ?, ?) "
                 "ON CONFLICT (process) DO UPDATE SET lease_until = excluded.lease_until", [tag, started_at, until])


def release(conn, tag: str) -> None:
    """A clean exit: nothing of this process is in flight any more."""
    conn.execute("DELETE FROM hosts WHERE process = ?", [tag])


def gone(conn, owner: str) -> bool:
    """Whether a process is known to be gone: not running here, or silent past its lease elsewhere."""
    here = running_here(owner)
    if here is not None:
        return not here
    found = conn.execute("SELECT lease_until FROM hosts WHERE process = ?", [owner]).fetchone()
    # a host takes its lease before it claims anything, and loses it only once it has run out
    return found is None or found[0] < _stamp(datetime.now(timezone.utc))


def dead_owners(conn, me: str) -> list[str]:
    """Processes that left 'streaming' rows and are gone: killed here, or silent past their lease elsewhere."""
    owners = [r[0] for r in conn.execute("SELECT DISTINCT process FROM exchanges WHERE status = 'streaming'")]
    leases = dict(conn.execute("SELECT process, lease_until FROM hosts").fetchall())
    now = _stamp(datetime.now(timezone.utc))
    dead = []
    for owner in owners:
        if owner == me:
            continue
        here = running_here(owner)
        expired = owner in leases and leases[owner] < now
        if here is False or (here is None and expired):
            dead.append(owner)
    return dead


def interrupt(conn, owners: list[str]) -> int:
    """Mark the owners' replies in flight as cut off, and settle their reservations at the worst case they held."""
    cut = 0
    for owner in owners:
        conn.execute("UPDATE spend SET state = 'interrupted' WHERE state = 'reserved' AND exchange_id IN "
                     "(SELECT id FROM exchanges WHERE status = 'streaming' AND process = ?)", [owner])
        cut += conn.execute("UPDATE exchanges SET status = 'interrupted', error = ? WHERE status = 'streaming' "
                            "AND process = ?", [INTERRUPTED, owner]).rowcount
        conn.execute("DELETE FROM hosts WHERE process = ?", [owner])
    return cut
