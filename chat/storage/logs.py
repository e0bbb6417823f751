"""Reads and retention for reviewing the log: filters, pages, summaries, stats, charts, export and purge."""
from __future__ import annotations

import concurrent.futures
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta

from chat.quantile import between, percentile, ranks
from chat.storage.grams import dense, runs
from chat.storage.rows import Exchange, exact_money
from chat.storage.scope import Scope
from chat.storage.store import Store

# what a page of the table shows: narrow, so a page never drags the texts along
PAGE_COLUMNS = ("id", "created_at", "model", "provider", "status", "user", "input_tokens", "output_tokens",
                "cost_usd", "ttft_ms", "latency_ms", "output_tokens_per_s", "usage_source", "session_id", "run_id")
_PAGE_SELECT = ", ".join(f'"{c}"' for c in PAGE_COLUMNS)  # quoted: to PostgreSQL a bare user is current_user
ORDERS = {"time": "created_at", "cost": "cost_usd", "latency": "latency_ms"}
GROUPS = {
    "model": "model", "provider": "provider", "status": "status", "user": "coalesce(\"user\", '')",
    "run": "coalesce(run_id, '')", "day": "substr(created_at, 1, 10)", "hour": "substr(created_at, 1, 13)",
}
FAILED = "status NOT IN ('ok', 'streaming')"
_ESTIMATED = "usage_source = 'estimate'"
MAX_PAGE = 500
MAX_TERMS = 16
# filter fields rollup_hourly does not hold: a filter on any of them is answered from the rows
ROWS_ONLY = ("session", "run", "compare", "text", "browser_session", "nothing")


@dataclass
class LogFilter:
    """Which exchanges: every field narrows; empty fields do not. Times are ISO 8601 UTC strings."""

    since: str | None = None
    until: str | None = None
    models: list[str] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    session: str | None = None
    run: str | None = None
    compare: str | None = None
    user: str | None = None
    usage_source: str | None = None  # provider | estimate
    text: str | None = None  # full-text search over prompt and reply
    browser_session: str | None = None  # the privacy scope of a shared link without logins
    nothing: bool = False  # the privacy scope leaves nothing to see

    def narrows(self, names: tuple[str, ...]) -> bool:
        """Whether any of these fields narrows the filter."""
        return any(getattr(self, n) for n in names)

    def narrowed(self, scope: Scope) -> LogFilter:
        """This filter with a privacy scope on top, which the caller's own fields cannot widen."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        nothing = scope.nothing
        for key in ("user", "browser_session"):
            value = getattr(scope, key)
            if value is not None:
                # asking for someone else's rows finds none, rather than quietly showing your own
                nothing |= values[key] not in (None, "", value)
                values[key] = value
        return LogFilter(**{**values, "nothing": nothing or self.nothing})



def unpriced(row: str = "") -> str:
    """SQL: 1 when an exchange used tokens that have no price (a finished row of an unpriced model), else 0."""
    p = f"{row}." if row else ""
    return (f"(CASE WHEN {p}cost_usd IS NULL AND {p}status != 'streaming' AND "
            f"(coalesce({p}input_tokens, 0) > 0 OR coalesce({p}output_tokens, 0) > 0) THEN 1 ELSE 0 END)")


def _counted(condition: str) -> str:
    """SQL: how many rows meet the condition (a sum of booleans, in words both engines read)."""
    return f"sum(CASE WHEN {condition} THEN 1 ELSE 0 END)"

def _words(text: str) -> list[str]:
    text = "".join(c for c in text if c >= " " or c in "\t\n")  # a NUL or other control character matches nothing anyway
    return [w for w in re.split(r"\s+", text.strip()) if w][:MAX_TERMS]


def search_terms(text: str) -> tuple[list[str], list[str]]:
    """(words found by prefix, runs found anywhere inside words), all required. A word with a run of two or more
    Korean (or Chinese, Japanese) characters is found anywhere inside words through its pairs (`장려금` in
    훈련장려금); any other word, and what is left of a mixed one (`KDT` of KDT과정), by word prefix."""
    prefix, inside = [], []
    for word in _words(text):
        long_runs = [r for r in runs(word) if len(r) >= 2]
        if not long_runs:
            prefix.append(word)
            continue
        inside += long_runs
        rest = "".join(c if not dense(c) else " " for c in word).split()
        prefix += [w for w in rest if any(ch.isalnum() for ch in w)]
    return prefix, inside


def _covered(backend, f: LogFilter, group: str | None = None) -> str:
    """Aggregates over filters the meter indexes cover read an index alone (SQLite's planner would rather walk a
    narrower index in GROUP BY order and fetch every row): by model in model order, else in time order."""
    if f.narrows(ROWS_ONLY + ("user",)):  # the meter indexes hold no user either
        return ""
    return backend.index_hint("idx_exchanges_model" if group == "model" else "idx_exchanges_meter")


def _where(f: LogFilter, backend, newest: int | None = None) -> tuple[str, list]:
    """The filter as SQL. `newest`: a search keeps only that many of its newest matches (by rowid), so a word in
    a quarter of a million rows is not sorted whole to show fifty of them (page() checks the shortcut held)."""
    clauses, params = (["1 = 0"] if f.nothing else []), []
    if f.since:
        clauses.append("created_at >= ?")
        params.append(f.since)
    if f.until:
        clauses.append("created_at < ?")
        params.append(f.until)
    for column, values in (("model", f.models), ("provider", f.providers), ("status", f.statuses)):
        if values:
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
            params += list(values)
    for column, value in (("session_id", f.session), ("run_id", f.run), ("compare_id", f.compare), ('"user"', f.user),
                          ("usage_source", f.usage_source), ("browser_session", f.browser_session)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    if f.text:
        words, inside = search_terms(f.text)
        for clause, values in backend.text_match(words, inside, newest):
            clauses.append(clause)
            params += values
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def page(store: Store, f: LogFilter, order: str = "time", descending: bool = True, limit: int = 50,
         offset: int = 0) -> list[Exchange]:
    """One page of the table, newest (or costliest, slowest) first, with a prompt snippet as the prompt."""
    column = ORDERS.get(order, "created_at")
    # NULLs (unpriced, never answered) sort last either way; DESC puts them last already, and keeps the index
    direction = "DESC" if descending else "ASC NULLS LAST"
    limit, offset = max(1, min(int(limit), MAX_PAGE)), max(0, int(offset))
    sql = (f"SELECT {_PAGE_SELECT}, cost_exact, substr(prompt, 1, 120) AS prompt FROM exchanges{{where}} "
           f"ORDER BY {column} {direction} LIMIT ? OFFSET ?")
    if f.text and column == "created_at" and descending:
        # newest first: rows are appended as they start, so a search's newest matches by rowid hold its newest
        # by time; a full page from them is the answer, a short one may not be, and the whole search runs
        where, params = _where(f, store.backend, newest=max(2_000, (offset + limit) * 20))
        rows = store.query(sql.format(where=where), params + [limit, offset])
        if len(rows) == limit:
            return [Exchange.from_row(r) for r in rows]
    where, params = _where(f, store.backend)
    rows = store.query(sql.format(where=where), params + [limit, offset])
    return [Exchange.from_row(r) for r in rows]


def exchange(store: Store, f: LogFilter, exchange_id: str) -> Exchange | None:
    """One exchange in full, only if the filter (the caller's privacy scope) lets it through."""
    where, params = _where(f, store.backend)
    where = (where + " AND" if where else " WHERE") + " id = ?"
    found = store.query(f"SELECT * FROM exchanges_full{where}", params + [exchange_id])
    return Exchange.from_row(found[0]) if found else None


def _percentiles(conn, backend, f: LogFilter, column: str, group: str | None,
                 counts: dict | None = None) -> dict:
    """{group: (p50, p95)}, as chat.quantile defines them (linear interpolation between closest ranks).

    Over the whole log (or some models), each rank is read with ORDER BY … LIMIT 2 OFFSET k along an index
    on (model, column) or (column), with no sort. Any other filter narrows the rows first: their values are
    read from the covering index and ranked here.
    """
    where, params = _where(f, backend)
    cond = (where + " AND" if where else " WHERE") + f" {column} IS NOT NULL"
    g = group or "''"
    server = backend.percentiles(column)
    if server:  # one pass on the server, whatever the filter
        sql = f"SELECT {g}, {server} FROM exchanges{cond}" + (" GROUP BY 1" if group else "")
        return {row[0]: (row[1], row[2]) for row in conn.execute(sql, params) if row[1] is not None}
    by_index = group in (None, "model") and not f.narrows(
        ROWS_ONLY + ("since", "until", "providers", "statuses", "user", "usage_source"))
    out = {}
    if not by_index:
        values: dict = {}
        for g_value, x in conn.execute(f"SELECT {g}, {column} FROM exchanges{_covered(backend, f, group)}{cond}", params):
            values.setdefault(g_value, []).append(x)
        for g_value, xs in values.items():
            xs.sort()
            out[g_value] = (percentile(xs, 0.5), percentile(xs, 0.95))
        return out
    if counts is None:
        counts = dict(conn.execute(f"SELECT {g}, count(*) FROM exchanges{cond} GROUP BY 1", params).fetchall())
    for g_value, n in counts.items():
        if not n:
            continue
        if not group:
            one, one_params = cond, params
        elif g_value is None:
            one, one_params = cond + f" AND {group} IS NULL", params
        else:
            one, one_params = cond + f" AND {group} = ?", params + [g_value]
        pair = []
        for q in (0.5, 0.95):
            lo, _, frac = ranks(n, q)
            found = [r[0] for r in conn.execute(f"SELECT {column} FROM exchanges{one} ORDER BY {column} "
                                                "LIMIT 2 OFFSET ?", one_params + [lo])]
            pair.append(between(found[0], found[-1], frac))
        out[g_value] = tuple(pair)
    return out


# the day × model pairs of the spend chart, as one key: internal, not a --by choice
_DAY_MODEL = {"day_model": "substr(created_at, 1, 10) || '|' || coalesce(model, '')"}
ROLLUP_GROUPS = {"model": "model", "provider": "provider", "status": "status", "user": '"user"',
                 "day": "substr(hour, 1, 10)", "hour": "hour", "day_model": "substr(hour, 1, 10) || '|' || model"}
_SUMS = ("exchanges", "failed", "input_tokens", "output_tokens", "cost_usd", "priced", "unpriced", "tps_sum", "tps_n",
         "estimated", "ttft_ms", "latency_ms")  # the last two: how many rows have the value (percentile ranks)


def _raw_sums(conn, backend, f: LogFilter, by: str | None) -> dict:
    where, params = _where(f, backend)
    group = {**GROUPS, **_DAY_MODEL}.get(by) if by else None
    # no group: one total row, with no GROUP BY (PostgreSQL will not group by a constant)
    sql = (f"SELECT {group or chr(39) * 2} AS g, count(*), {_counted(FAILED)}, coalesce(sum(input_tokens), 0), "
           "coalesce(sum(output_tokens), 0), coalesce(sum(cost_usd), 0), count(cost_usd), "
           f"sum({unpriced()}), "
           f"coalesce(sum(output_tokens_per_s), 0), count(output_tokens_per_s), {_counted(_ESTIMATED)}, "
           "count(ttft_ms), count(latency_ms) "
           f"FROM exchanges{_covered(backend, f, group)}{where}{' GROUP BY g' if group else ''}")
    return {row[0]: dict(zip(_SUMS, (v or 0 for v in row[1:]))) for row in conn.execute(sql, params)}


def _rollup_sums(conn, f: LogFilter, by: str | None, lo: str | None, hi: str | None) -> dict:
    clauses, params = [], []
    if lo:
        clauses.append("hour >= ?")
        params.append(lo)
    if hi:
        clauses.append("hour < ?")
        params.append(hi)
    for column, values in (("model", f.models), ("provider", f.providers), ("status", f.statuses)):
        if values:
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
            params += list(values)
    for column, value in (('"user"', f.user), ("usage_source", f.usage_source)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    sql = (f"SELECT {ROLLUP_GROUPS[by] if by else chr(39) * 2} AS g, sum(exchanges), "
           f"sum(CASE WHEN {FAILED} THEN exchanges ELSE 0 END), sum(input_tokens), sum(output_tokens), "
           "sum(cost_usd), sum(priced), sum(unpriced), sum(tps_sum), sum(tps_n), "
           "sum(CASE WHEN usage_source = 'estimate' THEN exchanges ELSE 0 END), sum(ttft_n), sum(latency_n) "
           f"FROM rollup_hourly{where}{' GROUP BY g' if by else ''} HAVING sum(exchanges) > 0")
    return {row[0]: dict(zip(_SUMS, (v or 0 for v in row[1:]))) for row in conn.execute(sql, params)}


def _hour_after(ts: str) -> str:
    moment = datetime.fromisoformat(ts.replace("Z", "+00:00")).replace(minute=0, second=0, microsecond=0)
    return (moment + timedelta(hours=1)).strftime("%Y-%m-%dT%H")


def _aligned(ts: str) -> bool:
    moment = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return moment.minute == moment.second == moment.microsecond == 0


def _sums(conn, backend, f: LogFilter, by: str | None) -> dict:
    """Totals per group. Whole hours come from rollup_hourly (kept by triggers); the part-hours at either end
    of a time range, and filters the rollup does not hold (session, run, compare, search), from the rows."""
    if (by is not None and by not in ROLLUP_GROUPS) or f.narrows(ROWS_ONLY):
        return _raw_sums(conn, backend, f, by)
    lo = hi = None
    edges = []
    if f.since:
        lo = f.since[:13] if _aligned(f.since) else _hour_after(f.since)
        if not _aligned(f.since):
            edges.append((f.since, lo + ":00:00.000Z"))
    if f.until:
        hi = f.until[:13]
        if not _aligned(f.until):
            edges.append((hi + ":00:00.000Z", f.until))
    if lo and hi and lo >= hi:  # within one hour: the rows alone
        return _raw_sums(conn, backend, f, by)
    parts = [_rollup_sums(conn, f, by, lo, hi)]
    parts += [_raw_sums(conn, backend, replace(f, since=a, until=b), by) for a, b in edges]
    total: dict = {}
    for part in parts:
        for g_value, sums in part.items():
            key = "" if g_value is None else g_value  # the rollup keeps a missing model or user as ''
            into = total.setdefault(key, dict.fromkeys(_SUMS, 0))
            for k in _SUMS:
                into[k] += sums[k] or 0
    return total


def stats(store: Store, f: LogFilter, by: str | None = None) -> list[dict]:
    """Per group (or one row for all): count, failures, tokens, spend, TTFT and latency p50/p95, tokens/s."""
    if by is not None and by not in GROUPS:
        raise ValueError(f"cannot group by {by!r}; choose one of {', '.join(GROUPS)}")
    group = GROUPS.get(by) if by else None
    with store.reader() as conn:
        sums = _sums(conn, store.backend, f, by)
    # the totals already know how many rows hold each value; '' is how the rollup keeps a missing model
    known = lambda column: {(None if k == "" and by == "model" else k): s[column]  # noqa: E731
                            for k, s in sums.items()}

    def spread(column: str) -> dict:
        with store.reader() as conn:
            return _percentiles(conn, store.backend, f, column, group, known(column))

    # each column's ranks on a connection of its own, at the same time: on PostgreSQL each is a sort in its own
    # server process, and SQLite reads without the interpreter lock
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        ttft, latency = pool.map(spread, ("ttft_ms", "latency_ms"))
    out = []
    for g_value, s in sums.items():
        n = s["exchanges"]
        if not n:
            continue
        value = None if g_value == "" and by in ("model", "provider", "status") else g_value
        row = {by: value} if by else {}
        row.update({
            "exchanges": n, "failed": s["failed"], "input_tokens": s["input_tokens"],
            "output_tokens": s["output_tokens"], "cost_usd": round(s["cost_usd"], 9) if s["priced"] else None,
            "unpriced": s["unpriced"], "tokens_per_s": s["tps_sum"] / s["tps_n"] if s["tps_n"] else None,
            "error_rate": s["failed"] / n, "estimated_share": s["estimated"] / n,
        })
        p_key = g_value if g_value in ttft or g_value in latency else value
        row["ttft_p50_ms"], row["ttft_p95_ms"] = ttft.get(p_key, (None, None))
        row["latency_p50_ms"], row["latency_p95_ms"] = latency.get(p_key, (None, None))
        out.append(row)
    if by in ("day", "hour"):
        out.sort(key=lambda r: r[by])
    else:
        out.sort(key=lambda r: (-(r["cost_usd"] or 0), -r["exchanges"]))
    return out


def summary(store: Store, f: LogFilter) -> dict:
    found = stats(store, f)
    return found[0] if found else {"exchanges": 0}


def spend_per_day(store: Store, f: LogFilter) -> list[dict]:
    """Dollars and exchanges per UTC day and model (whole hours from the rollup, as stats)."""
    with store.reader() as conn:
        sums = _sums(conn, store.backend, f, "day_model")
    out = []
    for key, s in sorted(sums.items()):
        if s["exchanges"]:
            day, _, model = key.partition("|")
            out.append({"day": day, "model": model or None, "cost_usd": round(s["cost_usd"], 9) if s["priced"] else None,
                        "n": s["exchanges"]})
    return out


def failures_per_day(store: Store, f: LogFilter) -> list[dict]:
    where, params = _where(f, store.backend)
    return store.query(f"SELECT substr(created_at, 1, 10) AS day, status, count(*) AS n FROM exchanges{where} "
                       f"{'AND' if where else 'WHERE'} {FAILED} GROUP BY day, status ORDER BY day", params)


def latencies(store: Store, f: LogFilter, limit: int = 5000) -> list[Exchange]:
    """The newest finished latencies per model, for a distribution chart (bounded, whatever the filter)."""
    where, params = _where(f, store.backend)
    rows = store.query(f"SELECT id, model, latency_ms FROM exchanges{where} {'AND' if where else 'WHERE'} "
                       "latency_ms IS NOT NULL ORDER BY created_at DESC LIMIT ?", params + [limit])
    return [Exchange.from_row(r) for r in rows]


def choices(store: Store, column: str, f: LogFilter | None = None, limit: int = 200) -> list[str]:
    """Values seen in a column (models, providers, statuses, users), for the filter menus."""
    if column not in ("model", "provider", "status", "user"):
        raise ValueError(column)
    where, params = _where(f or LogFilter(), store.backend)
    column = f'"{column}"'
    return [r["v"] for r in store.query(
        f"SELECT DISTINCT {column} AS v FROM exchanges{where} {'AND' if where else 'WHERE'} {column} IS NOT NULL "
        f"ORDER BY v LIMIT ?", params + [limit])]


def export(store: Store, f: LogFilter, limit: int | None = None) -> Iterator[dict]:
    """Every filtered row in full (what was sent rebuilt, money exact), newest first, streamed."""
    where, params = _where(f, store.backend)
    sql = f"SELECT * FROM exchanges{where} ORDER BY created_at DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    with store.reader() as conn:
        cursor = conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        texts: dict[str, tuple[str, str]] = {}  # a conversation's messages are shared by its rows: fetch each once
        while batch := cursor.fetchmany(500):
            rows = [dict(zip(names, r)) for r in batch]
            wanted = {i for r in rows for i in json.loads(r["message_ids"] or "[]")} | \
                {r["system_id"] for r in rows if r["system_id"]}
            missing = list(wanted - texts.keys())
            for i in range(0, len(missing), 900):
                part = missing[i:i + 900]
                for key, role, content in conn.execute(
                        f"SELECT id, role, content FROM messages WHERE id IN ({','.join('?' * len(part))})", part):
                    texts[key] = (role, content)
            for row in rows:
                row.pop("rowid", None)  # PostgreSQL's is a column; SQLite's is not in SELECT *
                ids = json.loads(row.pop("message_ids") or "[]")
                system_id = row.pop("system_id")
                row["system"] = texts[system_id][1] if system_id in texts else None
                row["messages_json"] = json.dumps([{"role": texts[i][0], "content": texts[i][1]} for i in ids
                                                   if i in texts], ensure_ascii=False)
                yield exact_money(row)
            if len(texts) > 50_000:
                texts.clear()


def every(store: Store, f: LogFilter) -> Iterator[Exchange]:
    """Every filtered exchange in full, newest first, streamed."""
    return (Exchange.from_row(r) for r in export(store, f))


def purge(store: Store, before: str) -> int:
    """Delete exchanges older than `before` (their ratings and votes with them); then reclaim the space."""
    def delete(conn):
        old = "SELECT id FROM exchanges WHERE created_at < ? AND status != 'streaming'"
        conn.execute(f"DELETE FROM ratings WHERE exchange_id IN ({old})", [before])
        conn.execute(f"DELETE FROM votes WHERE exchange_id IN ({old})", [before])
        return conn.execute("DELETE FROM exchanges WHERE created_at < ? AND status != 'streaming'", [before])
    return _reclaim(store, delete)


def blank(store: Store, before: str) -> int:
    """Blank the texts of exchanges older than `before` and keep every number; then reclaim the space."""
    def blank_texts(conn):
        return conn.execute("UPDATE exchanges SET prompt = '', reply = '', system_id = NULL, message_ids = '[]', "
                            "error = NULL WHERE created_at < ? AND status != 'streaming'", [before])
    return _reclaim(store, blank_texts)


def _reclaim(store: Store, change) -> int:
    def run(conn):
        cur = change(conn)
        # message texts no longer listed by any exchange
        store.forget_messages()
        conn.execute(f"DELETE FROM messages WHERE id NOT IN ({store.backend.listed_messages()})")
        return cur.rowcount

    removed = store.call(run, timeout=None)
    store.backend.compact()
    return removed
