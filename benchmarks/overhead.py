"""Engine overhead: the engine's stream vs the raw openai SDK and LiteLLM, over the same loopback server.

    python benchmarks/overhead.py --repeats 15

LiteLLM is what a team would otherwise reach for. It is optional here, not a dependency: install it with
`pip install --no-deps litellm` plus the modules its import asks for (fastuuid, aiohttp, multidict, attrs, yarl,
propcache, aiohappyeyeballs, aiosignal, frozenlist, pydantic-settings, importlib-metadata, lazy-importer, h2,
hyperframe); without it, its column is left out.
"""
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


def _timed(stream, start):
    """(TTFT, total, text chunks) of an OpenAI-shaped chunk stream, as a caller of either library reads it."""
    ttft, chunks = None, 0
    for chunk in stream:
        for choice in chunk.choices:
            if choice.delta.content:
                chunks += 1
                if ttft is None:
                    ttft = time.perf_counter() - start
    return ttft, time.perf_counter() - start, chunks


def raw_sdk(client, model):
    start = time.perf_counter()
    return _timed(client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], stream=True,
                                                 stream_options={"include_usage": True}), start)


def litellm_stream(base_url, model):
    import litellm

    start = time.perf_counter()
    return _timed(litellm.completion(model=f"openai/{model}", api_base=base_url, api_key="sk-bench", stream=True,
                                     messages=[{"role": "user", "content": "hi"}],
                                     stream_options={"include_usage": True}), start)


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
        paths = [("raw openai SDK", raw_sdk, client), ("engine", engine_stream, engine)]
        try:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # offline: no price-map download
            import litellm  # noqa: F401

            paths.append(("LiteLLM", litellm_stream, f"{server.url}/v1"))
        except ImportError:
            print("LiteLLM is not installed: its column is left out (see this file's docstring)")
        for _, fn, arg in paths:
            fn(arg, "gpt-4o")  # warm connections and imports
        # interleave the paths so drift on the machine hits all alike
        paced = {name: ([], []) for name, _, _ in paths}
        for _ in range(args.repeats):
            for name, fn, arg in paths:
                t, total, _ = measure(fn, arg, "gpt-4o-mini", 1)
                paced[name][0].extend(t), paced[name][1].extend(total)
        fast = {name: [] for name, _, _ in paths}
        for _ in range(max(3, args.repeats // 3)):
            for name, fn, arg in paths:
                fast[name].extend(measure(fn, arg, "gpt-4o", 1)[2])
        engine.store.flush()
        med = statistics.median
        names = [name for name, _, _ in paths]
        print(f"{args.repeats} interleaved runs per path, medians; paced: 100 chunks after a 250 ms TTFT with 10 ms gaps; "
              f"zero delay: 3000 chunks as fast as the server writes them\n")
        print("| metric | " + " | ".join(names) + " | " + " | ".join(f"{n} / raw" for n in names[1:]) + " |")
        print("|---" * (2 * len(names)) + "|")
        for label, values in (("time to first token (s)", {n: med(paced[n][0]) for n in names}),
                              ("total time (s)", {n: med(paced[n][1]) for n in names}),
                              ("chunks/s, zero delay", {n: med(fast[n]) for n in names})):
            raw = values[names[0]]
            digits = 0 if "chunks" in label else 4
            print(f"| {label} | " + " | ".join(f"{values[n]:.{digits}f}" for n in names) + " | "
                  + " | ".join(f"{values[n] / raw:.3f}x" for n in names[1:]) + " |")
        logged = engine.store.query("SELECT count(*) AS n FROM exchanges")[0]["n"]
        print(f"\nexchanges logged by the engine during the run: {logged}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
