"""Stopping on SIGTERM, SIGINT or SIGHUP: no new work, streams in flight logged as aborted, a flush, a bounded exit."""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading

log = logging.getLogger(__name__)
# The whole stop fits inside `docker stop`'s 10 s before its SIGKILL (Kubernetes gives 30 s, systemd 90 s): a log
# that is locked or down is given up on, and its rows spilled to a file the next start imports, by GRACE_S + FLUSH_S.
GRACE_S = 3.0  # streams in flight get this long to notice and log themselves; the rest are logged for them
FLUSH_S = 4.0  # rows the disk has not taken by then go to the spill file (a healthy log takes them in milliseconds)
SETTLE_S = 2.0  # then the main thread gets this long to finish printing before the process exits regardless
SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), signal.SIGINT, getattr(signal, "SIGHUP", None)) if s)


class Shutdown:
    """Installed once per process; `done()` tells the watchdog the main thread finished cleanly."""

    def __init__(self, engine, grace_s: float = GRACE_S, flush_s: float = FLUSH_S):
        self.engine = engine
        self.grace_s = grace_s
        self.flush_s = flush_s
        self.signum: int | None = None
        self._main_done = threading.Event()

    @property
    def exit_code(self) -> int:
        return 128 + self.signum if self.signum else 0

    def install(self) -> Shutdown:
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signum is not None:
            # a second signal while stopping: log what is in flight now and leave
            self.engine.close(0, 2)
            os._exit(128 + signum)
        self.signum = signum
        print(f"\nstopping ({signal.Signals(signum).name}): logging replies in flight, then exiting", file=sys.stderr)
        self.engine.closing.set()
        threading.Thread(target=self._watchdog, name="shutdown-watchdog", daemon=True).start()
        raise KeyboardInterrupt  # unwinds the main thread: the CLI's stream or Gradio's serving loop

    def _watchdog(self) -> None:
        # the main thread normally closes the engine itself; this bounds the exit if anything hangs
        self.engine.close(self.grace_s, self.flush_s)
        workers = sys.modules.get("chat.engine.providers.llama_process")
        if workers is not None:
            workers.stop_all()  # os._exit skips atexit; the workers would notice, but need not have to
        self._main_done.wait(SETTLE_S)
        logging.shutdown()
        sys.stderr.flush()
        os._exit(self.exit_code)

    def done(self) -> None:
        self._main_done.set()
