"""UI concurrency: N people streaming at once through `python demo.py`, measured from outside it.

    python benchmarks/ui_concurrency.py                          # levels 1,10,30,50,100, turn 1 and turn 20
    python benchmarks/ui_concurrency.py --levels 50 --long 50 --profile /tmp/prof   # py-spy on the app too

Three processes, so none of them steals the others' interpreter lock:
  - the fake model server (tests/fake_servers.py), paced as a real API: 400 ms to the first token, then
    300 tokens at 40 tokens/s;
  - `python demo.py`, the app under test, exactly as a user starts it;
  - the simulated browsers: one asyncio process speaking Gradio's queue protocol (join, then the SSE data
    stream), one session hash per person, as a browser tab keeps.

Each person's page load runs first (as the browser's does), then all send their question at the same moment.
Client-seen time to first token and total time are set against the fake server's own figures for the same
request, so what is left is the app's overhead: Gradio's queue, the handler, engine, meter and logging.
The long case is the 20th turn of a conversation whose 19 earlier replies total about 10,000 tokens.

    python benchmarks/ui_concurrency.py --levels "" --long "" --embedded 10 --rounds 5

--embedded N measures N people on the API model while one more person keeps the embedded model generating
(it runs in its own worker process), against the same N with the embedded model idle, in alternating rounds.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MEASURED = "gpt-4o-mini"
EMBEDDED = "smollm2-135m-instruct"
STORY = "Write a very long story about a lighthouse keeper and the ships she guides, with many chapters."
HISTORY = "history-filler"  # the fast model that fills a long conversation before the measured turn
FIRST_WORD = "Sure"
TTFT_S, TOKENS, TOKENS_PER_S = 0.4, 300, 40
HISTORY_TURNS, HISTORY_TOKENS = 19, 10_000


# ---- process 1: the fake model server ---------------------------------------------------------------
def serve_fake(port_file: str) -> None:
    from tests.fake_servers import FakeLLMServer, Scenario

    fake = FakeLLMServer()
    fake.scenarios[MEASURED] = Scenario(ttft=TTFT_S, chunks=[f" {FIRST_WORD}"] + [" token"] * (TOKENS - 1),
                                        gap=1 / TOKENS_PER_S, input_tokens=30)
    fake.scenarios[HISTORY] = Scenario(chunks=[" word"] * (HISTORY_TOKENS // HISTORY_TURNS), input_tokens=30)
    fake.start()
    Path(port_file).write_text(str(fake.port))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


# ---- process 3: the simulated browsers ----------------------------------------------------------------
# Plain asyncio sockets, not an HTTP client library: at 100 people an async client library's own CPU
# would delay what it measures, and this protocol needs only a POST and one chunked SSE response.
async def _http(host, port, method, path, body=b"", cookie=""):
    reader, writer = await asyncio.open_connection(host, port)
    extra = f"Cookie: {cookie}\r\n" if cookie else ""
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n{extra}"
                 f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    headers = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        k, _, v = line.decode().partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, reader, writer


async def _body_chunks(reader, headers):
    if headers.get("transfer-encoding") == "chunked":
        while size := int((await reader.readline()).strip() or b"0", 16):
            yield await reader.readexactly(size)
            await reader.readline()
    else:
        yield await reader.read()


async def _page(addr) -> str:
    """Load the page as a browser does; returns the cookie a sticky-session proxy set, if any."""
    status, headers, reader, writer = await _http(*addr, "GET", "/")
    async for _ in _body_chunks(reader, headers):
        pass
    writer.close()
    if status != 200:
        raise RuntimeError(f"page: HTTP {status}")
    return headers.get("set-cookie", "").split(";", 1)[0]


async def _event(addr, fn_index, session, data, first_marker=None, cookie=""):
    """One Gradio event for one session: (ttft, total, repaints, status, when each message kind first came)."""
    host, port = addr
    start = time.monotonic()
    body = json.dumps({"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None,
                       "trigger_id": None}).encode()
    status, headers, reader, writer = await _http(host, port, "POST", "/gradio_api/queue/join", body, cookie)
    joined = b"".join([c async for c in _body_chunks(reader, headers)])
    writer.close()
    if status != 200:
        raise RuntimeError(f"join: HTTP {status} {joined[:200]!r}")
    marks = {"joined": time.monotonic() - start}
    first, repaints, outcome = None, 0, "no completion"
    status, headers, reader, writer = await _http(host, port, "GET", f"/gradio_api/queue/data?session_hash={session}",
                                                  cookie=cookie)
    buf = b""
    try:
        async for chunk in _body_chunks(reader, headers):
            buf += chunk
            *events, buf = buf.split(b"\n\n")
            for raw in events:
                if not raw.startswith(b"data: "):
                    continue
                msg = json.loads(raw[6:])
                kind = msg.get("msg")
                marks.setdefault(kind, time.monotonic() - start)
                if kind == "process_generating":
                    repaints += 1
                    if first is None and first_marker and first_marker.encode() in raw:
                        first = time.monotonic()
                elif kind == "process_completed":
                    output = json.dumps(msg.get("output"))
                    if not msg.get("success"):
                        outcome = f"error: {output[:200]}"
                    elif "⚠️" in output or "\\u26a0" in output:
                        outcome = f"error in reply: {output[-300:]}"
                    else:
                        outcome = "ok"
                    end = time.monotonic()
                    return (first or end) - start, end - start, repaints, outcome, marks
    finally:
        writer.close()
    end = time.monotonic()
    return (first or end) - start, end - start, repaints, outcome, marks


async def _person(addr, ids, n, tag, turns, go: asyncio.Event, ready: list):
    session = uuid.uuid4().hex[:11]
    out = {"prompt": f"{tag} person {n}"}
    try:
        cookie = await _page(addr)
        await _event(addr, ids["load"], session, [], cookie=cookie)
        for t in range(turns - 1):
            _, _, _, status, _ = await _event(addr, ids["chat"], session,
                                              [f"{tag} person {n} earlier turn {t}", None, f"openai:{HISTORY}", "", 0.7,
                                               1024], cookie=cookie)
            if status != "ok":
                raise RuntimeError(f"history turn {t}: {status}")
    except Exception as exc:  # counted, not raised: the table reports errors
        out["status"] = f"error before the measured turn: {type(exc).__name__}: {exc}"[:300]
    ready.append(n)
    await go.wait()
    if "status" in out:
        return out
    try:
        ttft, total, repaints, status, marks = await _event(addr, ids["chat"], session,
                                                            [out["prompt"], None, MEASURED, "", 0.7, 512], FIRST_WORD,
                                                            cookie)
        out.update(client_ttft=ttft, client_total=total, repaints=repaints, status=status, marks=marks)
    except Exception as exc:
        out["status"] = f"error: {type(exc).__name__}: {exc}"[:300]
    return out


async def _config_ids(url: str) -> tuple[tuple, dict]:
    config = json.loads(urllib.request.urlopen(url + "config", timeout=60).read())
    ids = {}
    for i, dep in enumerate(config["dependencies"]):
        if dep.get("api_name") == "chat":
            ids["chat"] = dep.get("id", i)
        if any(t[1] == "load" for t in dep.get("targets", [])) and "load" not in ids:
            ids["load"] = dep.get("id", i)
    parts = urllib.parse.urlsplit(url)
    return (parts.hostname, parts.port), ids


async def _clients(url: str, n: int, tag: str, turns: int) -> list[dict]:
    addr, ids = await _config_ids(url)
    go, ready = asyncio.Event(), []
    tasks = [asyncio.create_task(_person(addr, ids, i, tag, turns, go, ready)) for i in range(n)]
    while len(ready) < n:
        await asyncio.sleep(0.05)
    # the orchestrator reads the app's CPU clock between READY and GO
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    cpu0 = time.process_time()
    go.set()
    results = await asyncio.gather(*tasks)
    return results, time.process_time() - cpu0


def keep_embedded_busy(url: str, stop, replies: list, max_tokens: int = 2048) -> None:
    """One person asking the embedded model for long stories, one after another, until stop is set (None: once)."""

    async def person():
        addr, ids = await _config_ids(url)
        session = uuid.uuid4().hex[:11]
        cookie = await _page(addr)
        await _event(addr, ids["load"], session, [], cookie=cookie)
        while True:
            _, total, _, status, _ = await _event(addr, ids["chat"], session,
                                                  [STORY, None, EMBEDDED, "", 0.7, max_tokens], cookie=cookie)
            replies.append((status, total))
            if stop is None or stop.is_set():
                return

    asyncio.run(person())


def rows(db: Path | str, sql: str, params: list) -> list[tuple]:
    """What the apps logged, read from their SQLite file or their PostgreSQL log."""
    if str(db).startswith(("postgresql://", "postgres://")):
        import psycopg

        with psycopg.connect(str(db)) as conn:
            return conn.execute(sql.replace("?", "%s"), params).fetchall()
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def embedded_rows(db: Path | str) -> int:
    return rows(db, "SELECT count(*) FROM exchanges WHERE model = ? AND status = 'streaming'", [EMBEDDED])[0][0]


def compare_embedded(demo, fake_url: str, n: int, rounds: int) -> None:
    """N API sessions with the embedded model idle, then generating, alternated over rounds."""
    import threading

    idle, busy, tokens_per_s = [], [], []
    for _ in range(rounds):
        idle += measure_level(demo, fake_url, n, 1, None)["ttft"]
        stop, replies = threading.Event(), []
        thread = threading.Thread(target=keep_embedded_busy, args=(demo.url, stop, replies), daemon=True)
        thread.start()
        deadline = time.monotonic() + 120
        while not embedded_rows(demo.db) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # well into its decoding
        r = measure_level(demo, fake_url, n, 1, None)
        still = embedded_rows(demo.db)
        stop.set()
        thread.join(180)
        if not still:
            print("    (the embedded reply ended before the level did: this round's 'busy' is partly idle)")
        busy += r["ttft"]
        tokens_per_s += [v for (v,) in rows(
            demo.db, "SELECT output_tokens_per_s FROM exchanges WHERE model = ? AND output_tokens_per_s IS NOT NULL",
            [EMBEDDED])]
    a, b = statistics.median(idle), statistics.median(busy)
    print("| embedded model | API sessions | TTFT overhead p50 / p95 (ms) |\n|---|---|---|")
    print(f"| idle | {n} | {a:.0f} / {pct(idle, .95):.0f} |")
    print(f"| generating for one more person ({statistics.median(tokens_per_s):.0f} tokens/s) | {n} | "
          f"{b:.0f} / {pct(busy, .95):.0f} |")
    print(f"\nbusy / idle TTFT overhead, p50: **{b / a:.2f}x** over {rounds} alternated rounds ({len(idle)} and "
          f"{len(busy)} replies)\n", flush=True)


def run_clients(url: str, n: int, tag: str, turns: int) -> None:
    results, cpu = asyncio.run(_clients(url, n, tag, turns))
    print("RESULTS " + json.dumps({"people": results, "cpu": cpu}), flush=True)


# ---- the orchestrator -----------------------------------------------------------------------------------
def cpu_seconds(pids) -> float:
    """User + system CPU time of processes, from /proc (Linux)."""
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def fake_timings(fake_url: str) -> dict[str, dict]:
    rows = json.loads(urllib.request.urlopen(fake_url + "/_timings?clear=1", timeout=30).read())
    return {r["prompt"]: r for r in rows}


def measure_level(demo, fake_url: str, n: int, turns: int, profile: Path | None) -> dict:
    tag = f"L{n}T{turns}-{uuid.uuid4().hex[:4]}"
    proc = subprocess.Popen([sys.executable, __file__, "clients", "--url", demo.url, "--n", str(n), "--tag", tag,
                             "--turns", str(turns)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    line = proc.stdout.readline()
    if line.strip() != "READY":
        raise RuntimeError(f"the client process did not get ready: {line}{proc.stdout.read()}")
    fake_timings(fake_url)  # forget the page loads' and history turns' requests
    spy = None
    if profile:
        profile.mkdir(parents=True, exist_ok=True)
        window = ["-d", os.environ["PROFILE_SECONDS"]] if os.environ.get("PROFILE_SECONDS") else []
        spy = subprocess.Popen([shutil.which("py-spy") or "py-spy", "record", "-p", str(demo.pids[0]), "--nonblocking", "--gil",
                                "-r", os.environ.get("PROFILE_RATE", "200"), "-f", "raw", *window,
                                "-o", str(profile / f"app-{n}x-turn{turns}.txt")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cpu0, wall0 = cpu_seconds(demo.pids), time.monotonic()
    proc.stdin.write("GO\n")
    proc.stdin.flush()
    out = proc.stdout.read()
    proc.wait()
    cpu = cpu_seconds(demo.pids) - cpu0
    wall = time.monotonic() - wall0
    if spy:
        spy.send_signal(2)
        spy.wait(timeout=60)
    sent = json.loads(out.split("RESULTS ", 1)[1])
    results = sent["people"]
    server = fake_timings(fake_url)
    logged = {}
    # what the app itself measured, to split its overhead by stage
    for prompt, ttft_ms in rows(demo.db, "SELECT prompt, ttft_ms FROM exchanges WHERE prompt LIKE ?", [f"{tag} person %"]):
        logged[prompt] = ttft_ms
    failed = rows(demo.db, "SELECT error, count(*) FROM exchanges WHERE prompt LIKE ? AND status != 'ok' GROUP BY 1",
                  [f"{tag} person %"])
    ttft, total, repaints, errors, marks = [], [], [], [], {}
    for res in results:
        s = server.get(res["prompt"])
        if res.get("status") != "ok" or s is None:
            errors.append(res.get("status") or "no server record")
            continue
        ttft.append((res["client_ttft"] - s["ttft"]) * 1000)
        total.append((res["client_total"] - s["total"]) * 1000)
        repaints.append(res["repaints"])
        for k, v in res["marks"].items():
            marks.setdefault(k, []).append(v * 1000)
        marks.setdefault("server first token", []).append(s["ttft"] * 1000)
        if logged.get(res["prompt"]) is not None:
            marks.setdefault("app-measured TTFT", []).append(logged[res["prompt"]])
    replies = max(1, len(results) - len(errors))
    if failed:
        errors.append("logged errors: " + "; ".join(f"{n} × {e}" for e, n in failed))
    return {"sessions": n, "turn": turns, "errors": len(errors), "first_error": errors[-1] if errors else None,
            "ttft": ttft, "total": total, "cpu_per_reply": cpu / replies, "cpu_share": cpu / wall, "client_cpu_share": sent["cpu"] / wall,
            "repaints": statistics.mean(repaints) if repaints else 0,
            "marks": {k: statistics.median(v) for k, v in marks.items()},
            "slowest": max((r for r in results if r.get("status") == "ok"), key=lambda r: r["client_ttft"], default=None),
            "slowest_logged": None,
            "server_ttft": statistics.median([r["ttft"] for r in server.values()]) if server else 0,
            "server_total": statistics.median([r["total"] for r in server.values()]) if server else 0}


def idle_cpu(pids, seconds: float) -> float:
    c0, t0 = cpu_seconds(pids), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pids) - c0) / (time.monotonic() - t0)


def row(r: dict) -> str:
    if not r["ttft"]:
        return f"| {r['sessions']} | {r['turn']} | {r['errors']} | – | – | – | – | – |"
    t, o = r["ttft"], r["total"]
    return (f"| {r['sessions']} | {r['turn']} | {r['errors']} | {pct(t, .5):.0f} / {pct(t, .95):.0f} / {max(t):.0f} "
            f"| {pct(o, .5):.0f} / {pct(o, .95):.0f} / {max(o):.0f} | {r['cpu_per_reply'] * 1000:.0f} ms "
            f"({r['cpu_share']:.0%} of a core; clients {r['client_cpu_share']:.0%}) | {r['repaints']:.0f} | "
            f"{r['server_ttft']:.2f} / {r['server_total']:.2f} s |")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--levels", default="1,10,30,50,100", help="sessions streaming at once, comma-separated")
    p.add_argument("--long", default="1,50", help="levels also measured on the 20th turn (empty for none)")
    p.add_argument("--idle", type=float, default=20, help="seconds of idle CPU measurement")
    p.add_argument("--profile", type=Path, help="record py-spy raw stacks of the app per level into this folder "
                   "(PROFILE_RATE samples/s, default 200; PROFILE_SECONDS to record only the start of each level)")
    p.add_argument("--processes", type=int, default=1,
                   help="app processes; above 1 they share one chat.db behind nginx, configured as docs/nginx.conf")
    p.add_argument("--db", help="a PostgreSQL URL for the log, in place of a chat.db (an empty database)")
    p.add_argument("--marks", action="store_true", help="also print when each protocol message arrived (median)")
    p.add_argument("--app-args", default="", help="extra arguments for demo.py")
    p.add_argument("--embedded", type=int, default=0,
                   help="also compare this many API sessions with the embedded model idle and generating")
    p.add_argument("--rounds", type=int, default=5, help="alternated rounds of the --embedded comparison")
    args = p.parse_args()

    from tests.browser import Apps, demo_env

    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "fake.port"
        fake = subprocess.Popen([sys.executable, __file__, "fake", "--port-file", str(port_file)], cwd=ROOT)
        demo = None
        try:
            while not port_file.exists() or not port_file.read_text():
                if fake.poll() is not None:
                    raise RuntimeError("the fake server exited")
                time.sleep(0.1)
            fake_url = f"http://127.0.0.1:{port_file.read_text()}"
            demo = Apps(demo_env(fake_url), args.app_args.split(), Path(tmp), args.processes, args.db)
            # one exchange first, as the person who starts the app tries it: the first request of a process loads
            # the SDK client and tokenizer, which is start-up, not the per-user cost measured here
            # (each process on its own: behind the proxy, one warm-up would reach only one of them)
            front = demo.url
            for app in demo.demos:
                demo.url = app.url
                measure_level(demo, fake_url, 1, 1, None)
            demo.url = front
            time.sleep(3)
            idle_fresh = idle_cpu(demo.pids, args.idle)
            print(f"idle CPU, fresh app: {idle_fresh:.1%} of a core over {args.idle:.0f} s", flush=True)
            print(f"pacing: {TTFT_S * 1000:.0f} ms to first token, {TOKENS} tokens at {TOKENS_PER_S} tokens/s; "
                  f"turn 20 follows {HISTORY_TURNS} replies of {HISTORY_TOKENS // HISTORY_TURNS} tokens\n", flush=True)
            print("| sessions | turn | errors | TTFT overhead p50 / p95 / max (ms) | total overhead p50 / p95 / max (ms) "
                  "| app CPU per reply | repaints per reply | server TTFT / total |")
            print("|---|---|---|---|---|---|---|---|", flush=True)
            plan = [(int(n), 1) for n in args.levels.split(",") if n]
            plan += [(int(n), HISTORY_TURNS + 1) for n in args.long.split(",") if n]
            for n, turns in plan:
                r = measure_level(demo, fake_url, n, turns, args.profile)
                print(row(r), flush=True)
                if args.marks:
                    print("    client-seen medians (ms from join):", ", ".join(f"{k} {v:.0f}" for k, v in r["marks"].items()))
                    if r["slowest"]:
                        slow = r["slowest"]
                        print(f"    slowest first token: {slow['client_ttft'] * 1000:.0f} ms;",
                              ", ".join(f"{k} {v * 1000:.0f}" for k, v in slow["marks"].items()))
                if r["first_error"]:
                    print(f"    first error: {r['first_error']}", flush=True)
            if args.embedded:
                keep_embedded_busy(demo.url, None, [], max_tokens=8)  # its process loads before anything is measured
                compare_embedded(demo, fake_url, args.embedded, args.rounds)
            idle_after = idle_cpu(demo.pids, args.idle)
            print(f"\nidle CPU after the runs (sessions still open): {idle_after:.1%} of a core", flush=True)
        finally:
            if demo:
                demo.stop()
                if os.environ.get("SHOW_APP_LOG"):
                    print(demo.output())
            fake.terminate()
            fake.wait(timeout=10)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "fake":
        serve_fake(sys.argv[sys.argv.index("--port-file") + 1])
    elif len(sys.argv) > 1 and sys.argv[1] == "clients":
        a = argparse.ArgumentParser()
        a.add_argument("role")
        a.add_argument("--url")
        a.add_argument("--n", type=int)
        a.add_argument("--tag")
        a.add_argument("--turns", type=int)
        ns = a.parse_args()
        run_clients(ns.url, ns.n, ns.tag, ns.turns)
    else:
        sys.exit(main())
