"""How long `python demo.py` takes to serve its page, with Gradio's type-stub writer on (as Gradio ships) and off
(as the app starts it, with event docs filled in by a plain replace: chat/ui/gradio_stubs.py), in alternated rounds.

    python benchmarks/app_start.py --rounds 8

Both start demo.py the same way through runpy; the baseline imports Gradio first, so its stub writer runs as it
did before. Each start is timed from the process's launch to the first HTTP answer of its page, with the
process's CPU seconds at that moment, and then stopped. No key is needed: the app starts on the embedded model
(which is not loaded until asked).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = "import runpy, sys; sys.argv = ['demo.py'] + sys.argv[1:]; runpy.run_path('demo.py', run_name='__main__')"
MODES = {"Gradio as shipped": "import gradio; " + RUN, "stub writer off, plain docs (the app)": RUN}


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_once(code: str, port: int, folder: Path) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env["GRADIO_ANALYTICS_ENABLED"] = "False"
    began = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, "--port", str(port), "--db", str(folder / "chat.db")],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"demo.py exited with {proc.returncode}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                return time.perf_counter() - began, _cpu_s(proc.pid)
            except OSError:
                time.sleep(0.02)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--port", type=int, default=7931)
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float]]] = {mode: [] for mode in MODES}
    stub = ROOT / "chat" / "ui" / "components.pyi"  # what the baseline's writer leaves beside our code
    had_stub = stub.exists()
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for mode, code in MODES.items():  # alternated, so the machine's drift falls on both
                results[mode].append(start_once(code, args.port, Path(tmp)))
    if not had_stub:
        stub.unlink(missing_ok=True)
    print("| start | serving after, median (s) | CPU by then, median (s) |\n|---|---:|---:|")
    medians = {}
    for mode, runs in results.items():
        medians[mode] = (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
        print(f"| {mode} | {medians[mode][0]:.2f} | {medians[mode][1]:.2f} |")
    (on_w, on_c), (off_w, off_c) = medians.values()
    print(f"| **the app / as shipped** | **{off_w / on_w:.2f}x** | **{off_c / on_c:.2f}x** |")


if __name__ == "__main__":
    main()
