"""`python -m chat db copy SRC DST` and `db check [DB]`: moving a log between SQLite and PostgreSQL, and reading
how one stands."""
from __future__ import annotations

import sys

from chat.redact import redact


def add_parsers(sub) -> None:
    db = sub.add_parser("db", help="copy a whole log between SQLite files and PostgreSQL, or check one")
    actions = db.add_subparsers(dest="action", required=True)
    cp = actions.add_parser("copy", help="copy every row of SRC that DST lacks (again: nothing twice), then compare")
    cp.add_argument("source", metavar="SRC", help="a SQLite file or a postgresql:// URL")
    cp.add_argument("target", metavar="DST", help="a SQLite file or a postgresql:// URL (created or upgraded)")
    ck = actions.add_parser("check", help="schema version, row counts and warnings, without changing anything")
    ck.add_argument("target", metavar="DB", nargs="?", help="a SQLite file or a postgresql:// URL (default: CHAT_DB)")


def run_db(args) -> int:
    return _copy(args) if args.action == "copy" else _check(args)


def _copy(args) -> int:
    from pathlib import Path

    from chat.storage.backend import is_url
    from chat.storage.copy import copy, tally
    from chat.storage.store import Store

    if not is_url(args.source) and not Path(args.source).exists():
        raise ValueError(f"no log at {args.source}: give a SQLite file or a postgresql:// URL")
    source, target = Store(args.source), Store(args.target)
    print(f"copying {source.where} -> {target.where}", file=sys.stderr)
    added = copy(source, target)
    before, after = tally(source), tally(target)
    width = max(map(len, added))
    print(f"{'table':<{width}}  {'copied':>9}  {'source':>9}  {'target':>9}")
    for table, n in added.items():
        print(f"{table:<{width}}  {n:>9,}  {before.rows[table]:>9,}  {after.rows[table]:>9,}")
    print(f"cost of the exchanges: ${before.dollars} in the source, ${after.dollars} in the target")
    print(f"spend ledger: {before.ledger_pusd:,} and {after.ledger_pusd:,} pico-dollars")
    short = [t for t in added if after.rows[t] < before.rows[t]]
    if short or after.dollars < before.dollars or after.ledger_pusd < before.ledger_pusd:
        print(f"error: the target holds less than the source ({', '.join(short) or 'money'}); nothing was deleted — "
              "look at the rows the target refused in its log file, then copy again", file=sys.stderr)
        return 1
    return 0


def _check(args) -> int:
    from chat.storage.copy import check

    found = check(args.target)
    print(f"{found.engine}: {redact(found.where)}")
    latest = found.applied[-1] if found.applied else "none (an empty database: the app creates the schema)"
    print(f"schema: {len(found.applied)} migrations, the latest {latest}")
    for name in found.missing if found.applied else []:
        print(f"  pending (applied at the next start): {name}")
    for table, n in found.rows.items():
        print(f"{table:<10} {n:>10,} rows")
    if found.in_flight:
        print(f"{found.in_flight:,} replies marked streaming (in flight now, or left by a process that stopped)")
    warnings = list(found.warnings)
    if found.unknown:
        warnings.append(f"newer code upgraded this log ({', '.join(found.unknown)}): update this app before using it")
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 1 if found.unknown else 0
