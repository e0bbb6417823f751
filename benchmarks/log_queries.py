"""Log review at scale: the Logs tab's queries, stats and export over a million realistic exchanges.

    python benchmarks/log_queries.py                 # 1,000,000 rows, baseline side by side at 100,000
    python benchmarks/log_queries.py --rows 200000 --baseline-rows 50000

Builds the log through the real Store (so the writer's rows/s is measured too), then times each query
(p50 / p95 over repeats). The baseline is the schema before m004 (TEXT money, the system prompt and the
whole history in every row, LIKE search), filled with the same rows and timed on the same machine in the
same run; ratios compare the two at the baseline's size.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlite_utils  # noqa: E402

from chat.evaluation.questionsets import load  # noqa: E402
from chat.storage import (
    logs,  # noqa: E402
    migrations,  # noqa: E402
)
from chat.storage.logs import LogFilter  # noqa: E402
from chat.storage.store import Store  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODELS = [("gpt-4o-mini", "openai", 0.35, 0.15, 0.60), ("gpt-4o", "openai", 0.15, 2.5, 10.0),
          ("claude-haiku-4-5", "anthropic", 0.20, 1.0, 5.0), ("claude-sonnet-4-5", "anthropic", 0.10, 3.0, 15.0),
          ("smollm2-135m-instruct", "local", 0.10, 0, 0), ("ollama:llama3.2", "ollama", 0.10, None, None)]
STATUSES = [("ok", 0.94), ("error", 0.03), ("aborted", 0.02), ("timeout", 0.005), ("interrupted", 0.005)]
RARE = "블록체인"  # appears in a handful of prompts only
ENGLISH = ["How do I reset my password?", "Can I get a refund after the course starts?",
           "What are the attendance rules for the allowance?", "Is there an online version of the course?",
           "How long does the learning card take to arrive?", "Can I take a vacation during the programme?"]


def _pick(rng, pairs):
    x, acc = rng.random(), 0.0
    for value, weight in pairs:
        acc += weight
        if x < acc:
            return value
    return pairs[-1][0]


def generate(n: int, seed: int = 7):
    """Exchanges as the engine logs them: runs of the FAQ set and multi-turn chat sessions."""
    rng = random.Random(seed)
    qs = load(ROOT / "examples" / "training_faq.yaml")
    faq = [(q.text, q.reference or "") for q in qs.questions]
    lines = [line.strip("- ") for line in qs.system.splitlines() if line.startswith("  -") or line.startswith("-")]
    now = datetime(2026, 11, 23, tzinfo=timezone.utc)
    model_weights = [(m, m[2]) for m in MODELS]
    made = 0
    while made < n:
        model, provider, _, pin, pout = _pick(rng, model_weights)
        run = rng.random() < 0.4
        turns = 1 if run else rng.randint(1, 10)
        system = qs.system if (run or rng.random() < 0.7) else None
        session = f"s{made}"
        start = now - timedelta(seconds=rng.uniform(0, 60 * 86400))
        history = []
        run_id = f"run-{made // 5000}" if run else None
        for t in range(turns):
            if made >= n:
                break
            if rng.random() < 0.75:
                q, ref = rng.choice(faq)
                prompt = q if t == 0 else f"{q} 그리고 {rng.choice(faq)[0]}"
                reply = ref + " " + " ".join(rng.sample(lines, k=rng.randint(1, 3)))
            else:
                prompt = rng.choice(ENGLISH) + f" (ticket {rng.randint(1000, 99999)})"
                reply = "Thanks for asking. " + " ".join(rng.choice(ENGLISH) for _ in range(rng.randint(2, 6)))
            if rng.random() < 0.00002:
                prompt += f" {RARE} 과정도 있나요?"
            status = _pick(rng, STATUSES)
            tin, tout = 600 + len(prompt) + 40 * t, max(1, len(reply) // 2)
            cost = None if pin is None else (tin * pin + tout * pout) / 1e6
            ttft = rng.lognormvariate(6.2, 0.5)
            latency = ttft + tout * rng.uniform(8, 30)
            messages = ([{"role": "system", "content": system}] if system else []) + history + \
                [{"role": "user", "content": prompt}]
            created = (start + timedelta(seconds=40 * t)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            yield {
                "id": f"x{made:08d}", "session_id": session, "created_at": created, "provider": provider,
                "model": model, "system": system, "prompt": prompt,
                "messages_json": json.dumps(messages, ensure_ascii=False), "reply": reply if status == "ok" else reply[:80],
                "status": status, "error": None if status == "ok" else f"{status}: the provider said no",
                "input_tokens": tin, "output_tokens": tout, "cached_tokens": 0, "cache_write_tokens": 0,
                "reasoning_tokens": 0, "usage_source": "provider" if provider != "local" else "estimate",
                "input_cost": None if cost is None else f"{tin * pin / 1e6:.9f}",
                "output_cost": None if cost is None else f"{tout * pout / 1e6:.9f}",
                "cost_usd": None if cost is None else f"{cost:.9f}", "ttft_ms": ttft, "latency_ms": latency,
                "output_tokens_per_s": tout / max(latency - ttft, 1) * 1000, "params_json": '{"max_tokens": 512}',
                "usage_json": json.dumps({"prompt_tokens": tin, "completion_tokens": tout}),
                "run_id": run_id, "question_id": "q" if run else None, "repeat_index": 0 if run else None,
                "user": rng.choice(["kim", "lee", "park", "choi", None]),
            }
            history += [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]
            made += 1


def conversations(n_conversations: int, turns: int = 20, seed: int = 11):
    """Chat sessions of `turns` turns each, every turn carrying the FAQ system prompt and the whole history."""
    rng = random.Random(seed)
    qs = load(ROOT / "examples" / "training_faq.yaml")
    i = 0
    for c in range(n_conversations):
        history = []
        for t in range(turns):
            q = rng.choice(qs.questions)
            prompt, reply = f"{q.text} ({t})", (q.reference or "") * 2
            messages = [{"role": "system", "content": qs.system}] + history + [{"role": "user", "content": prompt}]
            yield {"id": f"c{i:07d}", "session_id": f"conv{c}", "created_at": f"2026-11-{1 + c % 28:02d}T10:{t:02d}:00.000Z",
                   "provider": "openai", "model": "gpt-4o-mini", "system": qs.system, "prompt": prompt,
                   "messages_json": json.dumps(messages, ensure_ascii=False), "reply": reply, "status": "ok",
                   "input_tokens": 900 + 80 * t, "output_tokens": 120, "usage_source": "provider",
                   "cost_usd": "0.000207", "input_cost": "0.000135", "output_cost": "0.000072", "latency_ms": 900.0,
                   "ttft_ms": 300.0, "params_json": "{}", "usage_json": "{}"}
            history += [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]
            i += 1


def conversation_bytes(work: Path, n_conversations: int = 200) -> tuple[float, float]:
    """Bytes per exchange over 20-turn conversations: (schema before m004, now)."""
    old, new = work / "conv_old.db", work / "conv_new.db"
    for path in (old, new):
        for f in path.parent.glob(path.name + "*"):
            f.unlink()
    rows = list(conversations(n_conversations))
    build_old(old, len(rows), rows)
    store = Store(new)
    for i in range(0, len(rows), 1000):
        store.append_many("exchanges", rows[i:i + 1000])
    store.close()
    for path in (old, new):
        conn = sqlite3.connect(path)
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
    return size_mb(old) * 1e6 / len(rows), size_mb(new) * 1e6 / len(rows)


def build_new(path: Path, n: int) -> float:
    """Through the real Store: returns the writer's sustained rows/s."""
    store = Store(path)
    t0 = time.perf_counter()
    batch = []
    for row in generate(n):
        batch.append(row)
        if len(batch) == 1000:
            store.append_many("exchanges", batch)
            batch = []
    if batch:
        store.append_many("exchanges", batch)
    store.flush(timeout=None)
    rate = n / (time.perf_counter() - t0)
    store.close()
    return rate


def writer_as_the_app_writes(path: Path, n: int = 20_000) -> float:
    """Rows/s into an existing log the way the app writes: a start row per exchange, then its final upsert,
    one row at a time from several threads (the rows are made beforehand, so only the writer is timed)."""
    import threading

    tag = f"w{time.time_ns()}-"  # fresh ids on every run
    rows = [dict(r, id=tag + r["id"]) for r in generate(n, seed=99)]
    starts = [{k: r[k] for k in ("id", "session_id", "created_at", "provider", "model", "system", "prompt",
                                 "messages_json", "user")} | {"status": "streaming"} for r in rows]
    store = Store(path)
    t0 = time.perf_counter()

    def stream(part):
        for start, final in part:
            store.upsert("exchanges", start)
            store.upsert("exchanges", final)

    pairs = list(zip(starts, rows))
    threads = [threading.Thread(target=stream, args=(pairs[i::8],)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    store.flush(timeout=None)
    rate = 2 * n / (time.perf_counter() - t0)
    store.close()
    return rate


def build_old(path: Path, n: int, rows=None) -> None:
    """The schema before m004, filled with the same rows."""
    db = sqlite_utils.Database(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for fn in migrations.MIGRATIONS[:3]:
        fn(db)
    cols = None
    batch = []
    for row in rows if rows is not None else generate(n):
        cols = cols or list(row)
        batch.append([row.get(c) for c in cols])
        if len(batch) == 5000:
            db.conn.executemany(f"INSERT INTO exchanges ({', '.join(f'[{c}]' for c in cols)}) VALUES "
                                f"({', '.join('?' * len(cols))})", batch)
            db.conn.commit()
            batch = []
    if batch:
        db.conn.executemany(f"INSERT INTO exchanges ({', '.join(f'[{c}]' for c in cols)}) VALUES "
                            f"({', '.join('?' * len(cols))})", batch)
    db.conn.commit()
    db.conn.close()


def timed(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm the page cache, as a second click would
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


def new_queries(store: Store) -> dict:
    last = "2026-11-23T00:00:00Z"
    week = "2026-11-16T00:00:00Z"
    month = "2026-10-24T00:00:00Z"
    narrow = LogFilter(models=["gpt-4o"], statuses=["ok"], since=week)

    def export():
        buf = io.StringIO()
        w = None
        for row in logs.export(store, LogFilter(), limit=10_000):
            w = w or csv.DictWriter(buf, fieldnames=list(row))
            w.writerow(row)

    return {
        "first page, unfiltered": lambda: logs.page(store, LogFilter()),
        "first page, model + status + 7 days": lambda: logs.page(store, narrow),
        "summary of the filtered page": lambda: logs.summary(store, narrow),
        "stats by model, everything": lambda: logs.stats(store, LogFilter(), "model"),
        "spend per day, 30 days": lambda: logs.spend_per_day(store, LogFilter(since=month, until=last)),
        f"full-text search, rare word ({RARE})": lambda: logs.page(store, LogFilter(text=RARE)),
        "full-text search, common word (환불), inside words too": lambda: logs.page(store, LogFilter(text="환불")),
        "inside a Korean word (장려금 in 훈련장려금)": lambda: logs.page(store, LogFilter(text="장려금")),
        "top 10 by cost": lambda: logs.page(store, LogFilter(), order="cost", limit=10),
        "export 10,000 rows (CSV)": export,
    }


def old_queries(path: Path) -> dict:
    def q(sql, params=()):
        def run():
            conn = sqlite3.connect(path)
            try:
                return conn.execute(sql, params).fetchall()
            finally:
                conn.close()
        return run

    return {
        "first page, unfiltered": q("SELECT * FROM exchanges ORDER BY created_at DESC LIMIT 50"),
        "stats by model, everything": q("SELECT model, count(*), sum(status != 'ok'), sum(input_tokens), "
                                        "sum(output_tokens), sum(cost_usd), avg(ttft_ms), avg(latency_ms) "
                                        "FROM exchanges GROUP BY model"),
        "spend per day, 30 days": q("SELECT substr(created_at, 1, 10) d, model, sum(cost_usd) FROM exchanges WHERE "
                                    "created_at >= '2026-10-24' GROUP BY d, model"),
        f"full-text search, rare word ({RARE})": q("SELECT * FROM exchanges WHERE prompt LIKE ? OR reply LIKE ? "
                                                   "ORDER BY created_at DESC LIMIT 50", [f"%{RARE}%"] * 2),
        "full-text search, common word (환불), inside words too": q(
            "SELECT * FROM exchanges WHERE prompt LIKE ? OR reply LIKE ? ORDER BY created_at DESC LIMIT 50",
            ["%환불%"] * 2),
        "inside a Korean word (장려금 in 훈련장려금)": q(
            "SELECT * FROM exchanges WHERE prompt LIKE ? OR reply LIKE ? ORDER BY created_at DESC LIMIT 50",
            ["%장려금%"] * 2),
        "top 10 by cost": q("SELECT * FROM exchanges ORDER BY cost_usd DESC LIMIT 10"),
    }


def size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--baseline-rows", type=int, default=100_000)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--dir", help="where to build the databases (default: a temporary folder)")
    p.add_argument("--reuse", action="store_true", help="time the databases already built in --dir")
    args = p.parse_args(argv)
    work = Path(args.dir or tempfile.mkdtemp(prefix="log-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    old, small, big = work / "old.db", work / "small.db", work / "big.db"
    if not args.reuse:
        print(f"building the baseline (schema before m004) and the new log at {args.baseline_rows:,} rows …",
              flush=True)
        for path in (old, small, big):
            for f in path.parent.glob(path.name + "*"):
                f.unlink()
        build_old(old, args.baseline_rows)
        build_new(small, args.baseline_rows)
        print(f"building the new log at {args.rows:,} rows …", flush=True)
        rate = build_new(big, args.rows)
        print(f"bulk load: {rate:,.0f} rows/s (append_many of 1,000-row batches, rows generated in the same process)")
        for path in (old, small, big):
            conn = sqlite3.connect(path)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()
    conv_old, conv_new = conversation_bytes(work)
    print(f"\n20-turn conversations with the FAQ system prompt: {conv_old:,.0f} bytes per exchange before m004, "
          f"{conv_new:,.0f} now (×{conv_old / conv_new:.1f} smaller)")
    print(f"writer into the {args.rows:,}-row log as the app writes (start row + final upsert, 8 threads): "
          f"{writer_as_the_app_writes(big):,.0f} rows/s")
    print(f"size: baseline {size_mb(old) / args.baseline_rows * 1e6:,.0f} MB per million exchanges; "
          f"new {size_mb(big) / args.rows * 1e6:,.0f} MB per million "
          f"({size_mb(big) * 1e6 / args.rows / 1e3:.2f} KB per exchange)\n")
    small_store, big_store = Store(small), Store(big)
    baseline = {k: timed(v, args.repeats) for k, v in old_queries(old).items()}
    at_small = {k: timed(v, args.repeats) for k, v in new_queries(small_store).items()}
    at_big = {k: timed(v, args.repeats) for k, v in new_queries(big_store).items()}
    b = f"{args.baseline_rows // 1000}k"
    print(f"| query | new, {args.rows:,} rows p50 / p95 (ms) | baseline {b} p50 (ms) | new {b} p50 (ms) | "
          f"speed-up at {b} |")
    print("|---|---|---|---|---|")
    for name, (p50, p95) in at_big.items():
        base = baseline.get(name)
        small_p50 = at_small[name][0]
        before = f"{base[0]:,.1f}" if base else "—"
        ratio = f"×{base[0] / small_p50:,.1f}" if base else "—"
        print(f"| {name} | {p50:,.1f} / {p95:,.1f} | {before} | {small_p50:,.1f} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
