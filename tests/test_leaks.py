"""Nothing leaks: no schema or model names before login, no key fragments anywhere, no meters in blind Compare."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chat.evaluation.ratings import DEFAULT_RUBRIC, RubricError, rate
from chat.redact import redact
from chat.ui import compare_tab
from tests.fake_servers import Scenario
from tests.helpers import run

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-proj-Zq8xR2mK9vL4pT7wN3bY6cH1jD5fG0aE"


def test_a_key_echoed_without_its_prefix_or_in_pieces_is_masked_everywhere(fake, engine, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("CHAT_MAX_RETRIES", "0")
    body = KEY.removeprefix("sk-proj-")
    fake.scenarios["gpt-4o-mini"] = Scenario(status=400, error_message=f"key {body} is revoked; key ends ...{KEY[-10:]}")
    _, result = run(engine, model="gpt-4o-mini", prompt="hi")
    row = engine.store.exchange(result.record["id"])
    text = json.dumps(row.to_row())
    for fragment in (body, KEY[-10:], KEY[10:18]):
        assert fragment not in text and fragment not in result.error
    assert "[redacted]" in row["error"]
    # any 8 characters of a configured secret, wherever they appear
    assert redact(f"x{KEY[5:13]}y") == "x[redacted]y" and redact("nothing secret here") == "nothing secret here"


def test_cli_stderr_never_shows_a_key_fragment(fake, tmp_path):
    fake.scenarios["gpt-4o-mini"] = Scenario(status=401, error_message=f"bad key {KEY[8:]}")
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env.update(OPENAI_BASE_URL=f"{fake.url}/v1", OPENAI_API_KEY=KEY, CHAT_MAX_RETRIES="0", CHAT_DB=str(tmp_path / "c.db"))
    out = subprocess.run([sys.executable, "-m", "chat", "ask", "-m", "gpt-4o-mini", "hi"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "rejected the credentials" in out.stderr
    assert KEY[8:16] not in out.stderr + out.stdout and KEY[-8:] not in out.stderr


def test_blind_compare_hides_every_meter_until_reveal(fake, engine):
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=10, output_tokens=5)
    fake.scenarios["gpt-4o"] = Scenario(input_tokens=10, output_tokens=90)
    last = list(compare_tab.compare(engine, "hi", ["gpt-4o-mini", "gpt-4o"], "", 100, True, compare_tab.new_compare()))
    for out in last:
        meters = [out[3], out[7]]
        assert not any("$" in m or "tok" in m or "TTFT" in m for m in meters)
    revealed = compare_tab.reveal(last[-1][-1])
    assert "$" in revealed[3] and "TTFT" in revealed[7]


def test_a_rating_with_one_invalid_score_saves_nothing(fake, engine):
    _, result = run(engine, model="gpt-4o-mini", prompt="hi")
    with pytest.raises(RubricError, match="must be one of"):
        rate(engine.store, result.record["id"], {"answers": 5, "concise": 9, "natural": 4}, DEFAULT_RUBRIC, "park")
    with pytest.raises(RubricError):
        rate(engine.store, result.record["id"], {"answers": 5, "concise": "4"}, DEFAULT_RUBRIC, "park")
    engine.store.flush()
    assert engine.store.query("SELECT count(*) AS n FROM ratings")[0]["n"] == 0
    rate(engine.store, result.record["id"], {"answers": 5, "concise": 4}, DEFAULT_RUBRIC, "park")
    engine.store.flush()
    assert engine.store.query("SELECT count(*) AS n FROM ratings")[0]["n"] == 2
