"""`python -m chat` as a user runs it against the loopback fake server: through main(argv) in this process, and once as
the module itself in a subprocess."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.fake_servers import Scenario
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent


def _cli(args, env, timeout=300):
    return run_cli(args, env=env, cwd=ROOT)


def _process(args, env, timeout=300):
    """`python -m chat` itself, for the one test that checks the module runs as a user starts it."""
    return subprocess.run([sys.executable, "-m", "chat", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _env(**extra):
    env = {k: v for k, v in os.environ.items()}
    env.update(extra)
    return env


def test_ask_streams_prints_meter_and_logs(fake, tmp_path):
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=100, output_tokens=40)
    db = tmp_path / "cli.db"
    out = _process(["ask", "-m", "gpt-4o-mini", "--system", "Be brief.", "--max-tokens", "50", "--db", str(db), "hello"], _env())
    assert out.returncode == 0, out.stderr
    assert out.stdout == "Hello, this is a fake reply.\n"
    assert "100 in · 40 out" in out.stderr and "$0.000039" in out.stderr and "TTFT" in out.stderr
    row = sqlite3.connect(db).execute("SELECT status, input_tokens, output_tokens, cost_usd, json_extract(cost_exact, '$.cost_usd'), "
                                      "system FROM exchanges_full").fetchone()
    assert row == ("ok", 100, 40, 0.000039, "0.000039", "Be brief.")
    assert fake.requests[-1]["body"]["max_tokens"] == 50


def test_ask_failure_exits_nonzero_with_one_clear_line(fake, tmp_path):
    fake.scenarios["gpt-4o-mini"] = Scenario(status=401)
    out = _cli(["ask", "-m", "gpt-4o-mini", "--db", str(tmp_path / "x.db"), "hello"], _env())
    assert out.returncode == 1
    assert "error: openai rejected the credentials (HTTP 401): check OPENAI_API_KEY in .env" in out.stderr
    assert "Traceback" not in out.stderr and "sk-test" not in out.stderr


def test_unknown_model_is_explained(fake, tmp_path):
    out = _cli(["ask", "-m", "gtp-4o", "--db", str(tmp_path / "x.db"), "hello"], _env())
    assert out.returncode == 1
    assert "unknown model 'gtp-4o'" in out.stderr and "endpoint:model" in out.stderr
    assert sqlite3.connect(tmp_path / "x.db").execute("SELECT status FROM exchanges").fetchone() == ("error",)


def test_bad_arguments_and_config_are_one_line(fake, tmp_path):
    out = _cli(["ask", "--temperature", "hot", "hi"], _env())
    assert out.returncode == 2 and "--temperature: must be a number from 0 to 2, got 'hot'" in out.stderr
    out = _cli(["ask", "-m", "gpt-4o-mini", "--db", str(tmp_path / "x.db"), "hi"], _env(CHAT_TIMEOUT="soon"))
    assert out.returncode == 2 and "CHAT_TIMEOUT='soon' is not a number of seconds" in out.stderr
    bad = tmp_path / "p.yaml"
    bad.write_text("models:\n  x: {provider: openai, input: 1}\n")
    out = _cli(["--pricing", str(bad), "models"], _env())
    assert out.returncode == 2 and f"{bad}: line 2: model 'x': missing price field 'output'" in out.stderr


def test_models_lists_availability_and_prices(fake):
    env = _env()
    env.pop("ANTHROPIC_API_KEY")
    out = _cli(["models"], env)
    assert out.returncode == 0, out.stderr
    assert max(len(line) for line in out.stdout.splitlines()) <= 100  # fits a terminal
    lines = {line.split()[0]: line for line in out.stdout.splitlines() if line.strip()}
    assert lines["gpt-4o-mini"].split()[2] == "yes" and "$0.15 in / $0.60 out" in lines["gpt-4o-mini"]
    assert lines["claude-haiku-4-5"].split()[2] == "no" and "128K" in lines["gpt-4o-mini"]
    assert any(line.startswith("not ready (") and "set ANTHROPIC_API_KEY in .env" in line
               for line in out.stdout.splitlines())
    assert "free (local)" in lines["smollm2-135m-instruct"]
    long = _cli(["models", "--long"], env)
    rows = {line.split()[0]: line for line in long.stdout.splitlines() if line.strip()}
    assert "no: set ANTHROPIC_API_KEY in .env" in rows["claude-haiku-4-5"]
    assert "$0.15 in / $0.60 out per 1M" in rows["gpt-4o-mini"] and "128,000" in rows["gpt-4o-mini"]



def test_models_options_lists_what_a_model_takes_from_the_one_declaration():
    from chat.engine.options import MAX_TOKENS, TEMPERATURE

    reasoning = _cli(["models", "--options", "o3-mini"], _env())
    assert reasoning.returncode == 0, reasoning.stderr
    assert "temperature  not taken" in reasoning.stdout and "max_tokens" in reasoning.stdout
    chat = _cli(["models", "--options", "gpt-4o-mini"], _env())
    assert f"temperature  {TEMPERATURE.allowed}: {TEMPERATURE.description}" in chat.stdout
    assert "a whole number from 1 to 128,000" in chat.stdout  # bounded by the model's window, not 1,000,000
    assert MAX_TOKENS.description in chat.stdout and "system" in chat.stdout
    assert chat.stdout.startswith("gpt-4o-mini (openai): $0.15 in / $0.60 out per 1M\n")
    elsewhere = _cli(["models", "--options", "openrouter:deepseek/deepseek-chat"], _env())
    assert "(genai-prices); from genai-prices 0.2" in elsewhere.stdout.splitlines()[0]  # not in pricing.yaml
    unknown = _cli(["models", "--options", "no-such-model"], _env())
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1 and "unknown model 'no-such-model'" in unknown.stderr
