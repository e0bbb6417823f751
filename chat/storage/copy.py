"""Moving a whole log between files and servers, either way, and checking one.

A copy takes every table people's data lives in, by primary key, so copying again adds only what is new and
never a row twice. The destination's own triggers keep its hourly rollup, and its Korean pairs are indexed as
the rows arrive. Row counts and money (summed from each row's exact Decimal, and the ledger's pico-dollars) are
then read back from both sides, so a copy that lost anything says so.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from chat.storage.grams import grams
from chat.storage.store import Store

# in the order references need them; the rollup is the destination's own, leases and claims are of the moment
TABLES = {"messages": "id", "runs": "id", "exchanges": "id", "ratings": "id", "votes": "id", "spend": "exchange_id"}
_BATCH = 1000


@dataclass(frozen=True)
class Tally:
    rows: dict[str, int]
    dollars: Decimal  # the exchanges' cost, exact
    ledger_pusd: int  # the spend ledger, in pico-dollars


def tally(store: Store) -> Tally:
    store.flush()
    rows = {t: store.query(f'SELECT count(*) AS n FROM "{t}"')[0]["n"] for t in TABLES}
    dollars = Decimal(0)
    with store.reader() as conn:
        cursor = conn.execute("SELECT cost_exact FROM exchanges WHERE cost_exact IS NOT NULL")
        while batch := cursor.fetchmany(5000):
            dollars += sum((Decimal(json.loads(r[0]).get("cost_usd", "0")) for r in batch), Decimal(0))
    ledger = store.query("SELECT coalesce(sum(amount_pusd), 0) AS p FROM spend")[0]["p"]
    return Tally(rows, dollars, int(ledger))


def _columns(store: Store, table: str) -> list[str]:
    with store.reader() as conn:
        cursor = conn.execute(f'SELECT * FROM "{table}" LIMIT 0')
        return [d[0] for d in cursor.description if d[0] != "rowid"]


def copy(source: Store, target: Store, progress=lambda table, n: None) -> dict[str, int]:
    """Every row of source not yet in target (by key), table by table; how many each table gained."""
    source.flush()
    added = {}
    for table, key in TABLES.items():
        columns = [c for c in _columns(source, table) if c in set(_columns(target, table))]
        names = ", ".join(f'"{c}"' for c in columns)
        insert = (f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" for _ in columns)}) '
                  f'ON CONFLICT ("{key}") DO NOTHING' + (" RETURNING rowid" if table == "exchanges" else ""))
        added[table] = 0
        with source.reader() as conn:
            cursor = conn.execute(f'SELECT {names} FROM "{table}" ORDER BY "{key}"')
            while batch := cursor.fetchmany(_BATCH):
                added[table] += target.call(lambda c, rows=batch: _write(target, c, table, columns, insert, rows),
                                            timeout=None)
                progress(table, added[table])
    return added


def _write(target: Store, conn, table: str, columns: list[str], insert: str, rows) -> int:
    n = 0
    for row in rows:
        written = conn.execute(insert, list(row))
        if table != "exchanges":
            n += written.rowcount
            continue
        new = written.fetchone()
        if new is None:
            continue  # already there
        n += 1
        values = dict(zip(columns, row))
        if values.get("status") != "streaming":
            pairs = grams(values.get("prompt"), values.get("reply"))
            if pairs:
                target.backend.index_pairs(conn, new[0], pairs)
    return n


@dataclass(frozen=True)
class Check:
    engine: str
    where: str
    applied: list[str]  # migrations the database has, oldest first
    missing: list[str]  # migrations this code would apply at the next start
    unknown: list[str]  # migrations newer code applied (this code refuses the log)
    rows: dict[str, int]
    in_flight: int  # replies still marked streaming
    warnings: list[str]


def check(target: str | None) -> Check:
    """What a log holds and how it stands, read without opening it as the app does (nothing is migrated)."""
    from chat.storage.connect import open_backend

    backend = open_backend(target)
    conn = backend.connect()
    try:
        try:
            applied = [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY applied_at, name").fetchall()]
        except backend.Error:
            applied = []
            if backend.in_transaction(conn):
                conn.execute("ROLLBACK")
        known = backend.known()
        rows, in_flight = {}, 0
        if applied:
            rows = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in TABLES}
            in_flight = conn.execute("SELECT count(*) FROM exchanges WHERE status = 'streaming'").fetchone()[0]
        return Check(backend.name, backend.shown(), applied, [m for m in known if m not in applied],
                     [m for m in applied if m not in known], rows, in_flight, backend.warnings(conn))
    finally:
        conn.close()
        backend.close()
