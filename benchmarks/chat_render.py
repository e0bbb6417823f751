"""Chat repaint cost with a long conversation: finished turns built once (ours) against rebuilt each repaint.

    python benchmarks/chat_render.py [--turns 40] [--repeats 300]

The baseline clears each finished turn's built messages before every repaint, which is what rendering did
before they were kept: every earlier reply was run through the inert-text filter again at every chunk.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chat.storage.rows import Exchange  # noqa: E402
from chat.ui.session import new_session, render  # noqa: E402

REPLY = "환불은 5일 안에 처리됩니다. <b>note</b> ![x](http://a/b) `code` " * 40


def conversation(turns: int) -> dict:
    state = new_session()
    for i in range(turns):
        state["turns"].append({"id": str(i), "prompt": f"question {i}", "reply": REPLY, "status": "ok",
                               "record": Exchange(id=str(i), model="m", status="ok", input_tokens=10, output_tokens=5,
                                                  usage_source="provider", cost_usd="0.0001", latency_ms=900.0,
                                                  ttft_ms=100.0)})
    state["turns"].append({"id": "s", "prompt": "q", "reply": REPLY, "status": "streaming", "record": None})
    return state


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--turns", type=int, default=40)
    p.add_argument("--repeats", type=int, default=300)
    args = p.parse_args()
    state = conversation(args.turns)
    ours, baseline = [], []
    for _ in range(args.repeats):  # interleaved
        t = time.perf_counter()
        render(state)
        ours.append(time.perf_counter() - t)
        for turn in state["turns"]:
            turn.pop("messages", None)
        t = time.perf_counter()
        render(state)
        baseline.append(time.perf_counter() - t)
        render(state)  # built again, for the next "ours"
    o, b = statistics.median(ours) * 1e6, statistics.median(baseline) * 1e6
    print(f"| repaint, {args.turns} finished turns + 1 streaming | rebuilt each time {b:,.0f} µs | built once {o:,.0f} µs "
          f"| {b / o:.1f}x |")


if __name__ == "__main__":
    main()
