"""CI fails loudly, not silently, when pytest itself dies of a signal: the crash log names the test it was in."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_native_crash_names_the_test_it_killed(tmp_path):
    crashing = tmp_path / "test_dies.py"
    crashing.write_text("import os, signal\n\n\ndef test_fine():\n    pass\n\n\n"
                        "def test_dies_of_sigsegv():\n    os.kill(os.getpid(), signal.SIGSEGV)\n")
    log = tmp_path / "crash.log"
    env = dict(os.environ, CHAT_TEST_CRASH_LOG=str(log))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.crash_log", "-p", "no:cacheprovider",
                          str(crashing)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == -11, run.stdout + run.stderr
    text = log.read_text()
    assert "running: " in text and text.strip().splitlines()[-1] != "finished"
    assert "Segmentation fault" in text and "test_dies_of_sigsegv" in text
    # what .ci/run prints after such a death (bash reports it as 128 + 11)
    report = subprocess.run(["bash", ".ci/report-crash", "139", str(log)], cwd=ROOT, capture_output=True, text=True)
    first = report.stderr.splitlines()[0]
    assert first.startswith("pytest died of SIGSEGV (exit 139) while running: ") and first.endswith(
        "test_dies.py::test_dies_of_sigsegv"), report.stderr
    assert "test_dies_of_sigsegv" in report.stderr.split("--- faulthandler", 1)[1]
