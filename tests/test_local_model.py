"""The real embedded model (SmolLM2-135M-Instruct via llama.cpp), end to end."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

from tests.conftest import need
from tests.helpers import run

need("llama_cpp", "the embedded model")
ROOT = Path(__file__).resolve().parent.parent


def test_local_reply_with_llama_cpp_counts_and_zero_cost(engine):
    text, result = run(engine, model="smollm2-135m-instruct", prompt="What is the capital of France?", max_tokens=24, temperature=0)
    row = engine.store.exchange(result.record["id"])
    assert row["status"] == "ok", row["error"]
    assert text.strip() and row["reply"] == text
    assert row["usage_source"] == "provider"
    assert 10 < row["input_tokens"] < 100 and 0 < row["output_tokens"] <= 24
    assert Decimal(row["cost_usd"]) == 0 and row["provider"] == "local"
    assert row["ttft_ms"] > 0 and row["output_tokens_per_s"] > 0


def test_concurrent_sessions_share_one_model_safely(engine):
    results = {}

    def ask(n):
        results[n] = run(engine, model="smollm2-135m-instruct", prompt=f"Say a number bigger than {n}.", max_tokens=12,
                         temperature=0, session_id=f"t{n}")

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r[1].ok and r[0] for r in results.values()), {n: r[1].error for n, r in results.items()}


def test_stop_mid_reply_logs_aborted_with_partial_text(engine):
    from chat.engine import ChatRequest

    gen = engine.stream(ChatRequest(model="smollm2-135m-instruct", prompt="Write a long story about a cat.", max_tokens=200,
                                    session_id="stop-local"))
    next(gen), next(gen)
    gen.close()
    engine.store.flush()
    row = engine.store.query("SELECT * FROM exchanges WHERE session_id='stop-local'")[0]
    assert row["status"] == "aborted" and row["reply"] and row["output_tokens"] > 0


def test_fresh_cli_with_no_keys_uses_the_embedded_model(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    db = tmp_path / "chat.db"
    env["CHAT_DB"] = str(db)
    out = subprocess.run([sys.executable, "-m", "chat", "ask", "--max-tokens", "16", "hello"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()
    row = sqlite3.connect(db).execute("SELECT model, status, input_tokens, output_tokens, latency_ms, cost_usd FROM exchanges").fetchone()
    assert row[0] == "smollm2-135m-instruct" and row[1] == "ok"
    assert row[2] > 0 and row[3] > 0 and row[4] > 0 and row[5] == 0


def test_any_gguf_by_path(engine):
    from chat.engine.providers.local_llama import bundled_model_path

    text, result = run(engine, model=f"local:{bundled_model_path()}", prompt="Say hi.", max_tokens=8, temperature=0)
    assert result.ok and text.strip() and result.record["provider"] == "local"
    assert result.record["cost_usd"] is None  # a GGUF of your own has no price entry: shown as unpriced, not $0
    _, missing = run(engine, model="local:/nowhere/model.gguf", prompt="hi")
    assert missing.status == "error" and "no GGUF file at /nowhere/model.gguf" in missing.error


def test_the_estimate_times_the_local_model_at_its_measured_speeds_and_the_real_prompt(engine):
    """The audit: 'about 3 min' for 20 calls that took 61 s each, guessed from one short answer without the FAQ
    prompt. Now a model on this machine is timed at the prompt and output speeds it was measured at here, for the
    prompt the run will really send."""
    from chat.evaluation import questionsets
    from chat.evaluation.estimate import estimate

    for prompt in ("What is the capital of France?", "Name three colours."):
        _, result = run(engine, model="smollm2-135m-instruct", prompt=prompt, max_tokens=16, temperature=0)
        assert engine.store.exchange(result.record["id"])["status"] == "ok"
    engine.store.flush()
    with sqlite3.connect(engine.store.path) as db:
        read, write, out = db.execute(
            "SELECT avg(input_tokens * 1000.0 / ttft_ms), avg(output_tokens_per_s), avg(output_tokens) FROM exchanges "
            "WHERE model = 'smollm2-135m-instruct' AND status = 'ok'").fetchone()
    qs = questionsets.load(ROOT / "examples" / "training_faq.yaml")
    line = estimate(engine, qs, ["smollm2-135m-instruct"], repeats=2, concurrency=4).lines[0]
    prompt = line.input_tokens / line.calls  # the FAQ's system prompt and questions, far longer than the pilot's
    assert prompt > 50
    expected_each = prompt / read + round(out) / write
    assert abs(line.seconds - line.calls * expected_each) < 1e-6 * line.seconds


def test_the_local_models_threads_are_a_setting(monkeypatch):
    """llama.cpp computed on every core whatever else the machine ran, and its threads wait for each other at each
    token: beside other busy work fewer threads answer sooner, and CHAT_LOCAL_THREADS says how many."""
    from chat.engine.providers import local_llama

    path = local_llama.bundled_model_path()
    monkeypatch.setenv("CHAT_LOCAL_THREADS", "1")
    assert local_llama.supervisor_settings(path).threads == 1
    monkeypatch.delenv("CHAT_LOCAL_THREADS")
    assert local_llama.supervisor_settings(path).threads == len(os.sched_getaffinity(0))
    monkeypatch.setenv("CHAT_LOCAL_THREADS", "0")
    try:
        local_llama.supervisor_settings(path)
    except ValueError as exc:
        assert str(exc) == "CHAT_LOCAL_THREADS='0' must be a whole number of threads from 1 to 256 (e.g. 4)"
    else:
        raise AssertionError("0 threads was taken")
    from chat.engine.providers.llama_worker import load_llama

    llm = load_llama(str(path), 512, 1, extra_bufts=False)
    try:  # reading the prompt too: llama-cpp-python gives it every core unless told
        assert (llm.context_params.n_threads, llm.context_params.n_threads_batch) == (1, 1)
    finally:
        llm.close()
