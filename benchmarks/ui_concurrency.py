"""UI concurrency: 1, 10 and 50 simultaneous sessions through `python demo.py` against a paced fake server.

Each session calls the app's /chat API and streams the reply. Time to first token and total time as the
client sees them are set against the fake server's own figures for the same request, so what is left is
the app's overhead (Gradio queue, engine, meter, logging).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import DemoProcess, demo_env  # noqa: E402
from tests.fake_servers import FakeLLMServer, Scenario  # noqa: E402


def one_session(url: str, prompt: str, out: dict) -> None:
    start = time.monotonic()
    try:
        body = json.dumps({"data": [prompt, "gpt-4o-mini", "", 0.7, 512]}).encode()
        req = urllib.request.Request(url + "gradio_api/call/chat", data=body, headers={"Content-Type": "application/json"})
        event_id = json.loads(urllib.request.urlopen(req, timeout=120).read())["event_id"]
        first = None
        status = None
        with urllib.request.urlopen(f"{url}gradio_api/call/chat/{event_id}", timeout=120) as stream:
            event = None
            for raw in stream:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event in ("generating", "complete"):
                    chat = json.loads(line[6:])[0]
                    reply = chat[1]["content"][0]["text"] if len(chat) > 1 else ""
                    if first is None and reply not in ("", "…"):
                        first = time.monotonic()
                    if event == "complete":
                        status = "ok" if len(chat) > 2 and "⚠️" not in reply else "error"
                elif event == "error":
                    status = "error"
        out.update(client_ttft=(first or time.monotonic()) - start, client_total=time.monotonic() - start, status=status)
    except Exception as exc:  # counted, not raised: the table reports errors
        out.update(status=f"error: {type(exc).__name__}: {exc}")


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def run_level(url, fake, n, tag):
    results = [{} for _ in range(n)]
    threads = [threading.Thread(target=one_session, args=(url, f"{tag} session {i}", results[i])) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    by_prompt = {r["body"]["messages"][-1]["content"]: r for r in fake.requests}
    ttft_over, total_over, errors = [], [], 0
    for i, res in enumerate(results):
        server = by_prompt.get(f"{tag} session {i}")
        if res.get("status") != "ok" or server is None:
            errors += 1
            continue
        ttft_over.append((res["client_ttft"] - (server["first"] - server["started"])) * 1000)
        total_over.append((res["client_total"] - (server["ended"] - server["started"])) * 1000)
    return ttft_over, total_over, errors, results


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--levels", default="1,10,50")
    args = p.parse_args()
    with FakeLLMServer() as fake, tempfile.TemporaryDirectory() as tmp:
        # realistic pacing: 400 ms to first token, then 60 chunks at 25 ms (about 40 tokens/s)
        fake.scenarios["gpt-4o-mini"] = Scenario(ttft=0.4, chunks=[" token"] * 60, gap=0.025)
        demo = DemoProcess(demo_env(fake.url), [], Path(tmp) / "bench.db")
        try:
            run_level(demo.url, fake, 2, "warmup")
            print("sessions  errors  TTFT overhead p50/p95 (ms)  total overhead p50/p95 (ms)  server TTFT / total (s)")
            for n in [int(x) for x in args.levels.split(",")]:
                fake.requests.clear()
                ttft, total, errors, results = run_level(demo.url, fake, n, f"L{n}")
                server_total = statistics.median([r["ended"] - r["started"] for r in fake.requests]) if fake.requests else 0
                server_ttft = statistics.median([r["first"] - r["started"] for r in fake.requests if r["first"]]) if fake.requests else 0
                if ttft:
                    print(f"{n:>8}  {errors:>6}  {pct(ttft, .5):>12.0f} / {pct(ttft, .95):<12.0f}  {pct(total, .5):>13.0f} / "
                          f"{pct(total, .95):<13.0f}  {server_ttft:.2f} / {server_total:.2f}")
                else:
                    print(f"{n:>8}  {errors:>6}  (no successful sessions)")
                for r in results:
                    if r.get("status") not in ("ok", None) and r.get("status", "").startswith("error:"):
                        print("   ", r["status"])
                        break
        finally:
            demo.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
