"""A pytest plugin: if the run dies of a signal, the file named by CHAT_TEST_CRASH_LOG says which test it was in.

pytest's own faulthandler writes to a stderr that a crash may cut short; this file is written as each test
starts and holds faulthandler's traceback of every thread, so `.ci/run` can print both after a crash.
"""
from __future__ import annotations

import faulthandler
import os

_log = None


def pytest_sessionstart(session):
    global _log
    path = os.environ.get("CHAT_TEST_CRASH_LOG")
    if path:
        _log = open(path, "w", buffering=1)
        faulthandler.enable(file=_log, all_threads=True)  # after pytest's own, so this file wins


def pytest_runtest_logstart(nodeid, location):
    if _log is not None:
        _log.write(f"running: {nodeid}\n")


def pytest_runtest_logfinish(nodeid, location):
    if _log is not None:
        _log.write(f"finished: {nodeid}\n")
