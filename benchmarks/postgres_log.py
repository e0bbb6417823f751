"""The log on PostgreSQL beside SQLite: the Logs tab's queries on the same rows, the writer from two processes,
and how long a cap reservation takes under contention.

    python benchmarks/postgres_log.py --db postgresql://postgres@127.0.0.1:5432/bench      # 1,000,000 rows
    python benchmarks/postgres_log.py --db postgresql://… --rows 200000

Both logs are built through the real Store from the same generated rows (log_queries.generate) and timed on
the same machine in the same run (p50 / p95 over repeats). Writers: two processes with 8 threads each, as the
app writes (a start row, then the final upsert). Reservations: the same two processes reserving against one
daily cap; the latency of each reservation, p95.
"""
from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.log_queries import build_new, new_queries, timed, writer_as_the_app_writes  # noqa: E402
from chat.storage.rows import SpendEntry  # noqa: E402
from chat.storage.store import Store  # noqa: E402


def _writer_process(target: str, n: int, out) -> None:
    out.put(writer_as_the_app_writes(target, n))


def two_writers(target: str, n: int) -> float:
    """Rows/s from two processes of 8 threads each, writing at the same time (their rates added)."""
    out = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_writer_process, args=(target, n, out)) for _ in range(2)]
    for p in procs:
        p.start()
    rates = [out.get() for _ in procs]
    for p in procs:
        p.join()
    return sum(rates)


def _reserver_process(target: str, n: int, seed: int, out) -> None:
    store = Store(target)
    took = []
    lock = threading.Lock()

    def reserve(i):
        entry = SpendEntry(f"r{seed}-{i}", "2026-12-02", "2026-12-02T00:00:00.000Z", f"s{seed}-{i % 8}", None, 1,
                           "reserved")
        t0 = time.perf_counter()
        store.reserve_spend(entry, [("day", None, 10**15), ("session", entry.session_key, 10**15)])
        with lock:
            took.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=lambda k=k: [reserve(i) for i in range(k, n, 8)]) for k in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    out.put(took)
    store.close()


def reservations(target: str, n: int) -> tuple[float, float]:
    """(p50, p95) ms of a reservation, two processes of 8 threads reserving against one daily cap."""
    out = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_reserver_process, args=(target, n, seed, out)) for seed in (1, 2)]
    for p in procs:
        p.start()
    took = sorted(t for _ in procs for t in out.get())
    for p in procs:
        p.join()
    return statistics.median(took) * 1000, took[int(0.95 * (len(took) - 1))] * 1000


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True, help="an empty PostgreSQL database's URL")
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--writes", type=int, default=10_000, help="exchanges each writer process logs")
    p.add_argument("--sqlite", type=Path, help="the SQLite log to build (default: a temporary file)")
    p.add_argument("--reuse", action="store_true", help="time the logs a previous run built (--db and --sqlite)")
    args = p.parse_args(argv)
    sqlite_path = args.sqlite or Path(tempfile.mkdtemp(prefix="pg-bench-")) / "side.db"
    if not args.reuse:
        print(f"building both logs at {args.rows:,} rows …", flush=True)
        load = {"SQLite": build_new(sqlite_path, args.rows), "PostgreSQL": build_new(args.db, args.rows)}
        print("\nbulk load (rows/s): " + ", ".join(f"{k} {v:,.0f}" for k, v in load.items()), flush=True)
    stores = {"SQLite": Store(sqlite_path), "PostgreSQL": Store(args.db)}
    with stores["PostgreSQL"].reader() as conn:
        conn.execute("VACUUM ANALYZE")  # statistics and the visibility map, as autovacuum leaves them after a load
    print(f"\n| query at {args.rows:,} rows | SQLite p50 / p95 ms | PostgreSQL p50 / p95 ms |\n|---|---:|---:|")
    queries = {name: new_queries(store) for name, store in stores.items()}
    for name in queries["SQLite"]:
        cells = []
        for engine in stores:
            p50, p95 = timed(queries[engine][name], args.repeats)
            cells.append(f"{p50:,.1f} / {p95:,.1f}")
        print(f"| {name} | {cells[0]} | {cells[1]} |", flush=True)
    for store in stores.values():
        store.close()
    print("\n| two processes × 8 threads | SQLite | PostgreSQL |\n|---|---:|---:|")
    writes = [two_writers(str(sqlite_path), args.writes), two_writers(args.db, args.writes)]
    print(f"| writer, rows/s (start row + final upsert) | {writes[0]:,.0f} | {writes[1]:,.0f} |")
    held = [reservations(str(sqlite_path), 2000), reservations(args.db, 2000)]
    print(f"| cap reservation p50 / p95 ms | {held[0][0]:.1f} / {held[0][1]:.1f} | {held[1][0]:.1f} / {held[1][1]:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
