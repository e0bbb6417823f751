"""The embedded model (SmolLM2-135M-Instruct, llama.cpp): speed through its worker process, and TTFT across turns.

    python benchmarks/embedded_model.py
    python benchmarks/embedded_model.py --turns 10 --repeats 5

1. Decode tokens/s and time to first token through the engine (which runs the model in its own worker
   process) against llama-cpp-python's own `Llama.generate` in this process, with the same settings (the
   same AMX-safe choice of llama.cpp's extra buffer types, context, threads and sampling, temperature 0).
   Runs alternate, and each repeat asks a new question of the same length, so both evaluate a fresh prompt.
   Where AMX is known absent, a direct run with the extra buffer types off shows what the AMX-safe setting
   costs on this CPU (where AMX may be present, turning them on would crash, so that run is left out).
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

from chat.engine import ChatRequest, Engine, Result  # noqa: E402
from chat.engine.providers import llama_process, local_llama  # noqa: E402
from chat.engine.providers.llama_worker import _CHATML, load_llama  # noqa: E402
from chat.storage.store import Store  # noqa: E402

MODEL = local_llama.BUNDLED_NAME


def question(i: int) -> str:
    return f"Question {i:03d}: explain in a few sentences why regular exercise is good for health."


def engine_run(engine, prompt, max_tokens, history=(), session="bench"):
    result = None
    for item in engine.stream(ChatRequest(model=MODEL, prompt=prompt, history=tuple(history), max_tokens=max_tokens,
                                          temperature=0, session_id=session)):
        if isinstance(item, Result):
            result = item
    return result


def direct_model(extra_bufts: bool):
    """llama-cpp-python in this process, loaded as the worker loads it."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    llm = load_llama(str(local_llama.bundled_model_path()), local_llama.context_size(), os.cpu_count() or 2,
                     extra_bufts)
    eos = llm.detokenize([llm.token_eos()]).decode("utf-8", "ignore")
    bos = llm.detokenize([llm.token_bos()]).decode("utf-8", "ignore")
    formatter = Jinja2ChatFormatter(template=llm.metadata.get("tokenizer.chat_template") or _CHATML,
                                    eos_token=eos, bos_token=bos, add_generation_prompt=True)
    return llm, formatter


def direct_run(model, prompt, max_tokens):
    """(tokens/s over the decode phase, TTFT ms), measured as the engine's meter measures them."""
    llm, formatter = model
    start = time.perf_counter()
    tokens = llm.tokenize(formatter(messages=[{"role": "user", "content": prompt}]).prompt.encode(), add_bos=True,
                          special=True)
    first, n = None, 0
    for token in llm.generate(tokens, temp=0, top_p=0.95, top_k=40, repeat_penalty=1.1, reset=True):
        if token == llm.token_eos():
            break
        llm.detokenize([token])
        n += 1
        first = first or time.perf_counter()
        if n >= max_tokens:
            break
    end = time.perf_counter()
    return (n / (end - first) if n > 1 else 0.0), (first - start) * 1000


def speed(engine, repeats, max_tokens):
    safe = llama_process.fast_path_is_safe()
    same = direct_model(safe)
    # the other setting is measured only where it cannot crash: turning repacking off, never on where AMX may be
    other = direct_model(False) if safe else None
    ours, direct, flipped = [], [], []
    for i in range(repeats):
        result = engine_run(engine, question(3 * i), max_tokens)
        ours.append((result.record.output_tokens_per_s, result.record.ttft_ms))
        direct.append(direct_run(same, question(3 * i + 1), max_tokens))
        if other:
            flipped.append(direct_run(other, question(3 * i + 2), max_tokens))

    def med(runs):
        return tuple(statistics.median(v[k] for v in runs) for k in (0, 1))

    (d_tps, d_ttft), (o_tps, o_ttft) = med(direct), med(ours)
    print(f"llama.cpp extra buffer types (weight repacking): {'on' if safe else 'off'} on this CPU "
          f"({'no AMX found' if safe else 'AMX, or cannot tell'})\n")
    print("| path | decode tokens/s (median) | TTFT (median) |\n|---|---|---|")
    print(f"| llama-cpp-python `Llama.generate` in this process, same settings | {d_tps:.1f} | {d_ttft:.1f} ms |")
    print(f"| through the engine and the worker process (provider, meter, log) | {o_tps:.1f} | {o_ttft:.1f} ms |")
    if flipped:
        f_tps, f_ttft = med(flipped)
        print(f"| llama-cpp-python, extra buffer types off | {f_tps:.1f} | {f_ttft:.1f} ms |")
    print(f"\nworker / direct: decode **{o_tps / d_tps:.3f}x**, TTFT **{o_ttft - d_ttft:+.1f} ms**, over {repeats} "
          f"alternated runs of {max_tokens} tokens" + (f"; extra buffer types off / on: decode {f_tps / d_tps:.3f}x"
                                                     if flipped else "") + "\n")


def turns_ttft(turns, people, cache_on):
    os.environ["CHAT_LOCAL_CACHE_MB"] = "1024" if cache_on else "0"
    llama_process.stop_all()
    local_llama.supervisor(MODEL).wait_loaded(600)  # as the app's preload does, so turn 1 is not the load time
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(Store(Path(tmp) / "bench.db"))
        histories = {p: [] for p in range(people)}
        ttft = {}
        for turn in range(1, turns + 1):
            for p in range(people):
                # every question the same length, so only the history differs between turns
                question = f"Question {turn:02d} from person {p}: give one tip for staying healthy."
                result = engine_run(engine, question, 48, histories[p], session=f"p{p}")
                if p == 0:
                    ttft[turn] = result.record.ttft_ms
                histories[p] += [{"role": "user", "content": question},
                                 {"role": "assistant", "content": result.record.reply}]
        engine.close()
    return ttft, result.record.input_tokens


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--tokens", type=int, default=128)
    p.add_argument("--turns", type=int, default=10)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(Store(Path(tmp) / "bench.db"))
        engine_run(engine, question(999), 8)  # load the model
        speed(engine, args.repeats, args.tokens)
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
