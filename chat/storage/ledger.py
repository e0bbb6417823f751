"""The spend ledger: each exchange's worst case reserved against every cap before its call, atomically across
processes and hosts (a lock per cap window, never check-then-insert), then replaced by what it cost."""
from __future__ import annotations

from chat.storage.rows import SpendEntry


class SpendLedger:
    """The store's spend ledger (mixed into chat.storage.store.Store, whose `call` runs a function on the writer's
    connection in one transaction)."""

    def reserve_spend(self, reserved: SpendEntry, limits: list[tuple[str, str | None, int]]) -> tuple[str, int] | None:
        """Atomically across processes: if every limit holds with the entry's amount added, record the entry.

        limits: (scope, key, cap in pico-USD) with scope 'day', 'session' or 'user'. Returns None when
        reserved, else (scope, amount already used) for the first limit that would be passed.
        """
        entry = reserved.to_row()

        def run(conn):
            self.backend.lock_windows(conn, [(scope, _window(scope, key, entry)) for scope, key, _ in limits])
            for scope, key, cap in limits:
                if scope == "day":
                    used = conn.execute("SELECT coalesce(sum(amount_pusd), 0) FROM spend WHERE day = ?", [entry["day"]])
                elif scope == "session":
                    used = conn.execute("SELECT coalesce(sum(amount_pusd), 0) FROM spend WHERE session_key = ?", [key])
                else:
                    used = conn.execute('SELECT coalesce(sum(amount_pusd), 0) FROM spend WHERE "user" = ? AND day = ?',
                                        [key, entry["day"]])
                total = used.fetchone()[0]
                if total + entry["amount_pusd"] > cap:
                    return scope, total
            self._write_row(conn, "spend", entry, "upsert")
            return None

        return self.call(run)

    def settle_spend(self, entry: SpendEntry) -> None:
        """Replace a reservation with what the exchange cost (or record a cost that had none)."""
        self.upsert("spend", entry)



def _window(scope: str, key: str | None, entry: dict) -> str:
    """The spend window a limit counts in: the UTC day, the session, or a login's day."""
    return {"day": entry["day"], "session": key or "", "user": f"{key}|{entry['day']}"}[scope]
