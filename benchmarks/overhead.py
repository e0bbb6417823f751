"""Engine overhead: the engine's stream vs the raw openai SDK stream over the same loopback server."""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chat.engine import ChatRequest, Chunk, Engine  # noqa: E402
from chat.storage.store import Store  # noqa: E402
from tests.fake_servers import FakeLLMServer, Scenario  # noqa: E402


def raw_sdk(client, model):
    start = time.perf_counter()
    ttft, chunks = None, 0
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True}
    )
    for chunk in stream:
        for choice in chunk.choices:
            if choice.delta.content:
                chunks += 1
                if ttft is None:
                    ttft = time.perf_counter() - start
    return ttft, time.perf_counter() - start, chunks


def engine_stream(engine, model):
    start = time.perf_counter()
    ttft, chunks = None, 0
    for item in engine.stream(ChatRequest(model=model, prompt="hi", session_id="bench")):
        if isinstance(item, Chunk):
            chunks += 1
            if ttft is None:
                ttft = time.perf_counter() - start
    return ttft, time.perf_counter() - start, chunks


def measure(fn, arg, model, repeats):
    runs = [fn(arg, model) for _ in range(repeats)]
    return [r[0] for r in runs], [r[1] for r in runs], [r[2] / r[1] for r in runs]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeats", type=int, default=15)
    args = p.parse_args()
    import openai

    with FakeLLMServer() as server, tempfile.TemporaryDirectory() as tmp:
        os.environ.update(OPENAI_BASE_URL=f"{server.url}/v1", OPENAI_API_KEY="sk-bench", CHAT_MAX_RETRIES="0")
        server.scenarios["gpt-4o-mini"] = Scenario(chunks=[" word"] * 100, ttft=0.25, gap=0.01)  # realistic pacing
        server.scenarios["gpt-4o"] = Scenario(chunks=[" w"] * 3000)  # no delay: raw chunk throughput
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="sk-bench", max_retries=0)
        engine = Engine(Store(Path(tmp) / "bench.db"))
        for fn, arg in ((raw_sdk, client), (engine_stream, engine)):
            fn(arg, "gpt-4o")  # warm connections and imports
        rows = []
        # interleave raw and engine runs so drift on the machine hits both alike
        raw_r, eng_r = ([], [], []), ([], [], [])
        for _ in range(args.repeats):
            for acc, fn, arg in ((raw_r, raw_sdk, client), (eng_r, engine_stream, engine)):
                t, total, rate = measure(fn, arg, "gpt-4o-mini", 1)
                acc[0].extend(t), acc[1].extend(total)
        raw_z, eng_z = [], []
        for _ in range(max(3, args.repeats // 3)):
            raw_z.extend(measure(raw_sdk, client, "gpt-4o", 1)[2])
            eng_z.extend(measure(engine_stream, engine, "gpt-4o", 1)[2])
        engine.store.flush()
        med = statistics.median
        rows.append(("time to first token (s)", med(raw_r[0]), med(eng_r[0]), med(eng_r[0]) / med(raw_r[0]), "<= 1.05"))
        rows.append(("total time (s)", med(raw_r[1]), med(eng_r[1]), med(eng_r[1]) / med(raw_r[1]), "<= 1.05"))
        rows.append(("chunks/s, zero delay", med(raw_z), med(eng_z), med(eng_z) / med(raw_z), ">= 0.90"))
        print(f"engine vs raw openai SDK, {args.repeats} interleaved runs each, medians; 100 chunks @ 250 ms TTFT + 10 ms gaps;"
              f" zero-delay runs stream 3000 chunks")
        print(f"{'metric':<26}{'raw SDK':>12}{'engine':>12}{'engine/raw':>12}  goal")
        for name, raw, eng, ratio, goal in rows:
            print(f"{name:<26}{raw:>12.4f}{eng:>12.4f}{ratio:>12.3f}  {goal}")
        logged = engine.store.query("SELECT count(*) AS n FROM exchanges")[0]["n"]
        print(f"exchanges logged by the engine during the run: {logged}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
