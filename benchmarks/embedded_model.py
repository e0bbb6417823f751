"""The embedded model (SmolLM2-135M-Instruct, llama.cpp): decode speed through the engine, and TTFT across turns.

    python benchmarks/embedded_model.py
    python benchmarks/embedded_model.py --turns 10 --repeats 5

1. Tokens/s through the engine against llama-cpp-python's own `Llama.generate` on the same Llama
   instance, same prompt, same sampling (temperature 0), runs alternated so both see the same machine.
2. Time to first token of turn 1 and of turn N, each question the same length, for one person alone
   and for two people taking turns (each turn of one evicts the other's context), with the prefix cache
   on and off. The cache's goal: turn 10's TTFT at most 1.5x turn 1's.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chat.engine import ChatRequest, Chunk, Engine, Result  # noqa: E402
from chat.engine.providers import local_llama  # noqa: E402
from chat.storage.store import Store  # noqa: E402

MODEL = local_llama.BUNDLED_NAME
PROMPT = "Explain in a few sentences why regular exercise is good for health."


def engine_run(engine, prompt, max_tokens, history=(), session="bench"):
    first, n, start = None, 0, time.perf_counter()
    result = None
    for item in engine.stream(ChatRequest(model=MODEL, prompt=prompt, history=tuple(history), max_tokens=max_tokens,
                                          temperature=0, session_id=session)):
        if isinstance(item, Chunk):
            first = first or time.perf_counter()
        elif isinstance(item, Result):
            result = item
    return result, start, first, time.perf_counter()


def direct_run(max_tokens):
    llm, formatter, _, _ = local_llama._load(local_llama.bundled_model_path())
    tokens = llm.tokenize(formatter(messages=[{"role": "user", "content": PROMPT}]).prompt.encode(), add_bos=True,
                          special=True)
    start, first, n = time.perf_counter(), None, 0
    for token in llm.generate(tokens, temp=0, top_p=0.95, top_k=40, repeat_penalty=1.1, reset=True):
        if token == llm.token_eos():
            break
        llm.detokenize([token])
        n += 1
        first = first or time.perf_counter()
        if n >= max_tokens:
            break
    end = time.perf_counter()
    return n / (end - first) if n > 1 else 0.0


def decode_speed(engine, repeats, max_tokens):
    ours, direct = [], []
    for _ in range(repeats):
        result, _, _, _ = engine_run(engine, PROMPT, max_tokens)
        ours.append(result.record["output_tokens_per_s"])
        direct.append(direct_run(max_tokens))
    a, b = statistics.median(ours), statistics.median(direct)
    print("| path | tokens/s (median) |\n|---|---|")
    print(f"| llama-cpp-python `Llama.generate` direct | {b:.1f} |")
    print(f"| through the engine (provider, meter, log) | {a:.1f} |")
    print(f"\nengine / direct: **{a / b:.3f}x** over {repeats} alternated runs of {max_tokens} tokens\n")


def turns_ttft(turns, people, cache_on):
    os.environ["CHAT_LOCAL_CACHE_MB"] = "1024" if cache_on else "0"
    local_llama._models.clear()
    local_llama.preload()
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(Store(Path(tmp) / "bench.db"))
        histories = {p: [] for p in range(people)}
        ttft = {}
        for turn in range(1, turns + 1):
            for p in range(people):
                # every question the same length, so only the history differs between turns
                question = f"Question {turn:02d} from person {p}: give one tip for staying healthy."
                result, *_ = engine_run(engine, question, 48, histories[p], session=f"p{p}")
                if p == 0:
                    ttft[turn] = result.record["ttft_ms"]
                histories[p] += [{"role": "user", "content": question},
                                 {"role": "assistant", "content": result.record["reply"]}]
        engine.close()
    return ttft, result.record["input_tokens"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--tokens", type=int, default=128)
    p.add_argument("--turns", type=int, default=10)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(Store(Path(tmp) / "bench.db"))
        engine_run(engine, PROMPT, 8)  # load the model
        decode_speed(engine, args.repeats, args.tokens)
        engine.close()
    print(f"| people taking turns | prefix cache | turn 1 TTFT | turn {args.turns} TTFT | ratio | prompt at turn "
          f"{args.turns} |\n|---|---|---|---|---|---|")
    for people in (1, 2):
        for cache_on in (True, False):
            ttft, prompt_tokens = turns_ttft(args.turns, people, cache_on)
            print(f"| {people} | {'on' if cache_on else 'off'} | {ttft[1]:.0f} ms | {ttft[args.turns]:.0f} ms | "
                  f"{ttft[args.turns] / ttft[1]:.2f}x | {prompt_tokens} tokens |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
