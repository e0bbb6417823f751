"""Meter arithmetic with a controlled clock, token estimates, history trimming and redaction."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chat.engine.history import build_messages
from chat.engine.meter import Meter
from chat.engine.tokens import count_text, encoding_name_for, heuristic_count
from chat.engine.usage import Usage
from chat.redact import redact

ROOT = Path(__file__).resolve().parent.parent


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_meter_separates_ttft_from_decode_speed():
    clock = Clock()
    meter = Meter(clock)
    clock.t = 0.5
    meter.mark(is_text=False)  # a reasoning token first
    clock.t = 1.0
    meter.mark(is_text=True)
    for _ in range(10):
        clock.t += 0.1
        meter.mark(is_text=True)
    clock.t = 2.5
    timing = meter.finish()
    assert timing.ttft_any_ms == 500 and timing.ttft_ms == 1000 and timing.latency_ms == 2500
    # ten 100 ms gaps and one 500 ms wait from thinking to text; p95 as every figure has it (chat.quantile:
    # interpolated between the 10th and 11th of 11 sorted gaps, halfway: 300 ms; nearest-rank said 500)
    assert round(timing.gap_p50_ms) == 100 and round(timing.gap_p95_ms) == 300
    # 40 output tokens over the 2.0 s after the first token
    assert timing.tokens_per_s(40) == 20.0
    # under 10 tokens there is no speed to speak of: 9 tokens would read 4.5 tok/s here, 2 tokens a ms apart 2,000
    assert timing.tokens_per_s(9) is None and timing.tokens_per_s(10) == 5.0


def test_usage_adds_up():
    total = sum([Usage(10, 5, 2, 1, 0), Usage(1, 1, 0, 0, 1)])
    assert total == Usage(11, 6, 2, 1, 1)
    assert total.uncached_input_tokens == 8


def test_encoding_choice():
    assert encoding_name_for("gpt-4o-mini") == "o200k_base"
    assert encoding_name_for("openai:o3") == "o200k_base"
    assert encoding_name_for("gpt-4") == "cl100k_base"
    assert encoding_name_for("claude-haiku-4-5") == "cl100k_base"


def test_heuristic_counts_korean_per_character():
    assert heuristic_count("abcdefgh") == 2
    assert heuristic_count("휴가 이틀") == 5  # 4 Hangul + a space
    assert count_text("hello world", "gpt-4o")[1] == "tiktoken:o200k_base"


def test_missing_encoding_falls_back_to_the_heuristic(tmp_path):
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(tmp_path), "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    code = "from chat.engine.tokens import count_text; print(count_text('hello there, friend', 'gpt-4o'))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(5, 'heuristic')"


def test_history_trimmed_oldest_turn_first():
    history = []
    for i in range(10):
        history += [{"role": "user", "content": f"question {i} " + "word " * 100},
                    {"role": "assistant", "content": f"answer {i} " + "word " * 100}]
    messages, trimmed = build_messages("sys", history, "last?", "gpt-4o", context_window=1500, max_tokens=500)
    assert trimmed > 0
    assert messages[0] == {"role": "system", "content": "sys"} and messages[-1]["content"] == "last?"
    assert messages[1]["content"].startswith(f"question {trimmed} ")  # whole turns dropped, oldest first
    kept, none = build_messages("sys", history, "last?", "gpt-4o", context_window=None, max_tokens=None)
    assert none == 0 and len(kept) == 22


def test_redaction_of_keys(monkeypatch):
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok_live_98765")
    text = "Incorrect API key provided: sk-proj-****abcd; token tok_live_98765; AKIAABCDEFGHIJKLMNOP"
    clean = redact(text)
    assert "abcd" not in clean and "98765" not in clean and "AKIA" not in clean
    assert clean.count("[redacted]") == 3


def test_every_percentile_is_the_one_definition(tmp_path):
    """The run results, the Logs stats (SQL ranks) and the meter's gaps agree on one p95 for the same values."""
    from chat.evaluation.results import percentile as results_percentile
    from chat.quantile import percentile
    from chat.storage import logs
    from chat.storage.logs import LogFilter
    from chat.storage.store import Store

    values = [120.0, 80.0, 300.0, 95.0, 1000.0, 110.0, 130.0, 90.0, 105.0, 2500.0]
    assert percentile(values, 0.95) == results_percentile(values, 0.95) == pytest.approx(1000 + (2500 - 1000) * 0.55)
    store = Store(tmp_path / "p.db")
    for i, v in enumerate(values):
        store.append("exchanges", {"id": f"e{i}", "created_at": f"2026-11-20T00:00:0{i}.000Z", "model": "m",
                                   "status": "ok", "latency_ms": v, "ttft_ms": v})
    store.flush()
    for f in (LogFilter(), LogFilter(since="2026-11-19T00:00:00.000Z")):  # from the covering index, and from the rows
        got = logs.summary(store, f)
        assert got["latency_p95_ms"] == pytest.approx(percentile(values, 0.95)), f
        assert got["latency_p50_ms"] == pytest.approx(percentile(values, 0.5)), f
    store.close()


def test_the_byte_bound_is_never_below_the_count():
    """`most_tokens` lets a prompt that fits by its bytes skip the tokenizer: it must never say fewer tokens than
    the count would, for any vocabulary, the heuristic included."""
    import random

    from chat.engine import tokens
    from chat.engine.tokens import count_messages, most_tokens

    rng = random.Random(7)
    texts = ["", " ", "hello", "훈련장려금 얼마 받을 수 있나요?", "<|endoftext|><|im_start|>", "😀" * 9, "a" * 500, "lone \ud800 surrogate",
             " \n\t" * 40, "".join(chr(rng.randrange(32, 0x2FFFF)) for _ in range(2_000))]
    texts += ["".join(rng.choice("가나다 abc😀\n<|>") for _ in range(rng.randrange(1, 300))) for _ in range(50)]
    for model in ("gpt-4o-mini", "claude-3-5-sonnet-20241022"):
        for text in texts:
            messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]
            assert count_messages(messages, model)[0] <= most_tokens(messages), (model, text[:40])
            assert tokens.heuristic_count(text) <= len(text.encode("utf-8", "surrogatepass"))


def test_a_question_that_fits_its_window_is_sent_without_loading_a_tokenizer(fake, engine, monkeypatch):
    """Counting a prompt needs the tokenizer (half a second to load, the first time in a process): a question whose
    bytes fit the model's window is sent without it; one that may not fit is still counted, and refused if over."""
    from chat.engine import tokens
    from tests.fake_servers import Scenario
    from tests.helpers import run

    def not_now(name):
        raise AssertionError(f"the tokenizer ({name}) was loaded before the call")

    loader = tokens._encoding
    monkeypatch.setattr(tokens, "_encoding", not_now)
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=12, output_tokens=3)
    history = [{"role": "user", "content": "earlier question"}, {"role": "assistant", "content": "earlier answer"}]
    _, result = run(engine, model="gpt-4o-mini", prompt="훈련장려금 얼마 받을 수 있나요?", history=history)
    assert result.ok and result.record["usage_source"] == "provider"
    monkeypatch.setattr(tokens, "_encoding", loader)
    _, over = run(engine, model="gpt-4o-mini", prompt="word " * 130_000)  # 650,000 bytes, over 128,000 tokens
    assert not over.ok and "130,008 tokens, more than gpt-4o-mini's window" in over.error
