"""`python demo.py` flags: the loud warning for an unprotected share link, and clear errors for bad settings."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.browser import free_port
from tests.helpers import run_main

ROOT = Path(__file__).resolve().parent.parent


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    # no network here: the share tunnel fails fast, the app keeps serving locally
    env.update(GRADIO_ANALYTICS_ENABLED="False", HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9", **extra)
    return env


def test_share_without_auth_prints_a_loud_warning(tmp_path):
    log = tmp_path / "out.log"
    with log.open("w") as fh:
        proc = subprocess.Popen([sys.executable, "demo.py", "--share", "--port", str(free_port()), "--db", str(tmp_path / "c.db")],
                                cwd=ROOT, env=_env(), stdout=fh, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and "WARNING" not in log.read_text():
                if proc.poll() is not None:
                    break
                time.sleep(0.3)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    text = log.read_text()
    assert "WARNING: --share without --auth makes this app PUBLIC" in text
    assert "--daily-cap" in text


def _refused(tmp_path, args=(), **env) -> str:
    """demo.py with a bad setting: it must stop with exit 2 and one line, no traceback; that line."""
    import demo

    # its main(argv) in this process: every refusal comes before the app is built, so no server is left behind
    out = run_main(demo.main, ["python", "demo.py"], [*args, "--db", str(tmp_path / "c.db")], cwd=ROOT, env=_env(**env))
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    return out.stderr


def test_bad_settings_stop_with_one_clear_line(tmp_path):
    assert "auth entry 'alice' must be user:password" in _refused(tmp_path, ["--auth", "alice"])
    assert "CHAT_DAILY_CAP_USD='lots' is not an amount in USD" in _refused(tmp_path, CHAT_DAILY_CAP_USD="lots")
    assert "CHAT_LOCAL_CACHE_MB='1GB' must be a whole number of megabytes" in _refused(tmp_path,
                                                                                     CHAT_LOCAL_CACHE_MB="1GB")
    assert "CHAT_LOCAL_THREADS='all' must be a whole number of threads from 1 to 256" in _refused(
        tmp_path, CHAT_LOCAL_THREADS="all")
    assert "unknown time zone 'Mars/Olympus': use an IANA name such as Asia/Seoul" in _refused(
        tmp_path, ["--tz", "Mars/Olympus"])
    assert "CHAT_CURRENCY=KRW needs CHAT_USD_RATE" in _refused(tmp_path, CHAT_CURRENCY="KRW")
    assert "language 'fr': use en or ko" in _refused(tmp_path, ["--lang", "fr"])
    assert "--frame-ancestors \"'none' evil\": use 'none' (the default), 'self', or the sites" in _refused(
        tmp_path, ["--frame-ancestors", "'none' evil"])
