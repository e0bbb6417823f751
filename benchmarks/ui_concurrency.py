"""UI concurrency: 1, 10 and 50 simultaneous sessions through `python demo.py` against a paced fake server.

Each simulated user is a session, as a browser tab is: it keeps one session hash, its first message
(a warm-up, like the page load) opens the session, and the measured message streams through the
Gradio queue exactly as the page's does. Time to first token and total time as the
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
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import DemoProcess, demo_env  # noqa: E402
from tests.fake_servers import FakeLLMServer, Scenario  # noqa: E402


class Session:
    """One simulated browser tab: a session hash reused for every message, as the page does."""

    def __init__(self, url: str, fn_index: int):
        self.url, self.fn_index, self.hash = url, fn_index, uuid.uuid4().hex[:11]

    def send(self, prompt: str, out: dict) -> None:
        start = time.monotonic()
        try:
            body = json.dumps({"data": [prompt, None, "gpt-4o-mini", "", 0.7, 512], "fn_index": self.fn_index,
                               "session_hash": self.hash, "event_data": None, "trigger_id": None}).encode()
            req = urllib.request.Request(self.url + "gradio_api/queue/join", data=body,
                                         headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=120).read()
            generating, first, status = 0, None, None
            with urllib.request.urlopen(f"{self.url}gradio_api/queue/data?session_hash={self.hash}", timeout=120) as stream:
                for raw in stream:
                    if not raw.startswith(b"data: "):
                        continue
                    msg = json.loads(raw[6:])
                    if msg.get("msg") == "process_generating":
                        generating += 1
                        if generating == 2 and first is None:  # the 1st repaint is the "…" placeholder
                            first = time.monotonic()
                    elif msg.get("msg") == "process_completed":
                        status = "ok" if msg.get("success") and "⚠️" not in json.dumps(msg["output"]) else "error"
                        break
            out.update(client_ttft=(first or time.monotonic()) - start, client_total=time.monotonic() - start, status=status)
        except Exception as exc:  # counted, not raised: the table reports errors
            out.update(status=f"error: {type(exc).__name__}: {exc}")


def chat_fn_index(url: str) -> int:
    config = json.loads(urllib.request.urlopen(url + "config", timeout=60).read())
    for n, dep in enumerate(config["dependencies"]):
        if dep.get("api_name") == "chat":
            return dep.get("id", n)
    raise RuntimeError("the app has no /chat endpoint")


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def run_level(clients, fake, n, tag):
    results = [{} for _ in range(n)]
    threads = [threading.Thread(target=clients[i].send, args=(f"{tag} session {i}", results[i])) for i in range(n)]
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
            levels = [int(x) for x in args.levels.split(",")]
            fn_index = chat_fn_index(demo.url)
            # one session per simulated user; its first message opens the session, as a page load does
            clients = [Session(demo.url, fn_index) for _ in range(max(levels))]
            run_level(clients, fake, len(clients), "warmup")
            print("sessions  errors  TTFT overhead p50/p95 (ms)  total overhead p50/p95 (ms)  server TTFT / total (s)")
            for n in levels:
                fake.requests.clear()
                ttft, total, errors, results = run_level(clients, fake, n, f"L{n}")
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
