"""`python -m chat logs`, `logs purge` and `stats`: the log reviewed from a terminal, in the spirit of `llm logs`."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from chat.evaluation.spreadsheet import dict_writer
from chat.storage import logs
from chat.storage.backend import DB_HELP, default_target, is_url
from chat.storage.logs import GROUPS, LogFilter
from chat.storage.rows import STATUSES
from chat.storage.store import Store
from chat.ui.display import cell, exchange_cell
from chat.ui.timerange import parse_when


def add_parsers(sub) -> None:
    lg = sub.add_parser("logs", help="show logged exchanges, newest first (or: logs purge --before DATE)")
    lg.add_argument("action", nargs="?", choices=["purge"], help="purge: remove or blank exchanges before a date")
    lg.add_argument("-n", "--count", type=_count, default=20, help="how many (0 for all; default 20)")
    lg.add_argument("-m", "--model", action="append", default=[], help="only this model (repeat for more)")
    lg.add_argument("--provider", action="append", default=[], help="only this endpoint (repeat for more)")
    lg.add_argument("--status", action="append", default=[], choices=STATUSES, help="only this status (repeat)")
    lg.add_argument("-q", "--query", help="full-text search of prompt and reply (words, all required)")
    lg.add_argument("--session", help="only this chat session id")
    lg.add_argument("--run", help="only this run id")
    lg.add_argument("--user", help="only this login")
    lg.add_argument("--estimated", action="store_true", help="only rows whose tokens are estimated")
    _range_flags(lg)
    lg.add_argument("--full", action="store_true", help="add the system prompt, the prompt and the reply")
    _format_flags(lg, jsonl=True)
    lg.add_argument("--before", help="purge: exchanges before this date (2026-01-01) or age (90d)")
    lg.add_argument("--content-only", action="store_true",
                    help="purge: blank prompts, replies and messages, keep every number")
    lg.add_argument("--yes", action="store_true", help="purge: really do it")
    lg.add_argument("--db", help=DB_HELP)
    st = sub.add_parser("stats", help="count, failures, tokens, spend, TTFT and latency p50/p95, tokens/s")
    st.add_argument("--by", choices=list(GROUPS), help="one row per model, provider, day, hour, user, status or run")
    st.add_argument("-m", "--model", action="append", default=[], help="only this model (repeat for more)")
    st.add_argument("--user", help="only this login")
    st.add_argument("--run", help="only this run id")
    _range_flags(st)
    _format_flags(st, jsonl=False)
    st.add_argument("--db", help=DB_HELP)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 (all) or more")
    return value


def _when(text: str) -> str:
    try:
        return parse_when(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _range_flags(p) -> None:
    p.add_argument("--since", type=_when, help="from this time: 2h, 7d, 2026-11-01, 2026-11-01T09:00 (UTC)")
    p.add_argument("--until", type=_when, help="before this time, same forms")


def _format_flags(p, jsonl: bool) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help="a JSON array")
    if jsonl:
        group.add_argument("--jsonl", action="store_true", help="one JSON object per line")
    group.add_argument("--csv", action="store_true", help="CSV with a header row (a cell that would run as a formula "
                       "starts with ' instead)")
    p.add_argument("--bom", action="store_true", help="with --csv: start with a UTF-8 byte-order mark, as Excel wants")


def _store(args) -> Store:
    target = args.db or default_target()
    if not is_url(target) and not Path(target).exists():
        raise ValueError(f"no log at {target}: chat first, or point --db / CHAT_DB at your chat.db")
    return Store(target)


def run_logs(args) -> int:
    if args.action == "purge":
        return _purge(args)
    if args.before or args.content_only or args.yes:
        raise ValueError("--before, --content-only and --yes go with: python -m chat logs purge")
    store = _store(args)
    f = LogFilter(since=args.since, until=args.until, models=args.model, providers=args.provider,
                  statuses=args.status, session=args.session, run=args.run, user=args.user,
                  usage_source="estimate" if args.estimated else None, text=args.query)
    if args.json or args.jsonl or args.csv:
        rows = logs.export(store, f, limit=args.count or None)
        if not args.full:
            rows = ({k: v for k, v in r.items() if k not in ("messages_json", "system")} for r in rows)
        return _emit(rows, args)
    rows = logs.page(store, f, limit=args.count or logs.MAX_PAGE) if args.count else list(logs.every(store, f))
    _table(rows, ["created_at", "model", "status", "input_tokens", "output_tokens", "cost_usd", "ttft_ms",
                  "latency_ms", "output_tokens_per_s", "user", "id"] + ([] if args.full else ["prompt"]))
    if args.full:
        for row in rows:
            full = logs.exchange(store, f, row.id)
            print(f"\n## {full.id}  {full.created_at}  {full.model}  {full.status}")
            if full.system:
                print(f"\n### System\n{full.system}")
            print(f"\n### Prompt\n{full.prompt}\n\n### Reply\n{full.reply or ''}")
            if full.error:
                print(f"\n### Error\n{full.error}")
    return 0


def run_stats(args) -> int:
    store = _store(args)
    f = LogFilter(since=args.since, until=args.until, models=args.model, user=args.user, run=args.run)
    rows = logs.stats(store, f, args.by)
    if args.json or args.csv:
        return _emit(iter(rows), args)
    key = [args.by] if args.by else []
    _table(rows, key + ["exchanges", "failed", "input_tokens", "output_tokens", "cost_usd", "ttft_p50_ms", "ttft_p95_ms",
                        "latency_p50_ms", "latency_p95_ms", "tokens_per_s", "unpriced"])
    return 0


def _purge(args) -> int:
    if not args.before:
        raise ValueError("logs purge needs --before DATE (e.g. --before 2026-01-01 or --before 90d)")
    before = parse_when(args.before)
    store = _store(args)
    what = "blank the prompts, replies and messages of" if args.content_only else "delete"
    matching = logs.summary(store, LogFilter(until=before))["exchanges"]
    if not args.yes:
        print(f"this would {what} {matching:,} exchanges logged before {before} in {store.where}; "
              "add --yes to do it", file=sys.stderr)
        return 1
    done = (logs.blank if args.content_only else logs.purge)(store, before)
    print(f"{'blanked' if args.content_only else 'deleted'} {done:,} exchanges before {before}; vacuumed "
          f"{store.where}")
    return 0


def _emit(rows, args) -> int:
    out = sys.stdout
    if args.json:
        out.write("[")
        for i, row in enumerate(rows):
            out.write(("," if i else "") + "\n" + json.dumps(row, ensure_ascii=False, default=str))
        out.write("\n]\n")
    elif getattr(args, "jsonl", False):
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    else:
        writer = None
        if getattr(args, "bom", False):
            out.write("\ufeff")  # Excel reads the file as UTF-8 (Hangul intact) only with it
        for row in rows:
            if writer is None:
                writer = dict_writer(out, list(row))
                writer.writeheader()
            writer.writerow(row)
    return 0


HEAD = {"created_at": "time (UTC)", "input_tokens": "in", "output_tokens": "out", "cost_usd": "cost",
        "ttft_ms": "TTFT", "latency_ms": "latency", "output_tokens_per_s": "tok/s", "ttft_p50_ms": "TTFT p50",
        "ttft_p95_ms": "TTFT p95", "latency_p50_ms": "lat p50", "latency_p95_ms": "lat p95", "tokens_per_s": "tok/s",
        "input_tokens_sum": "in"}


def _table(rows: list, columns: list[str]) -> None:
    # rows are exchanges (typed records) or stats (dicts): both answer .get(column)
    if not rows:
        print("no exchanges match", file=sys.stderr)
        return
    body = [[cell(c, r.get(c)) if isinstance(r, dict) else exchange_cell(r, c) for c in columns] for r in rows]
    head = [HEAD.get(c, c) for c in columns]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    right = {i for i, c in enumerate(columns) if c not in ("created_at", "model", "status", "user", "id", "prompt",
                                                          "provider", "day", "hour", "run")}
    fmt = lambda cells: "  ".join(c.rjust(w) if i in right else c.ljust(w)  # noqa: E731
                                  for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    print(fmt(head))
    print(fmt(["-" * w for w in widths]))
    for b in body:
        print(fmt(b))
