"""Process settings for serving many people at once: garbage-collector pauses and the queue's idle polling."""
from __future__ import annotations

import gc
import logging
import threading
import time

log = logging.getLogger(__name__)

# Gradio's queue loop checks for new events every 1 ms, and its progress loop every 10 ms, whether or not
# anyone is there: about 4% of a core for an app nobody uses, all of it waking up. Here the loop polls fast
# while people are asking and slowly once they stop; the first question after a quiet spell waits at most
# IDLE_POLL_S to be picked up. Progress bars (the Runs tab) update up to 10 times a second.
ACTIVE_POLL_S = 0.005
IDLE_POLL_S = 0.05
PROGRESS_POLL_S = 0.1
QUIET_AFTER_S = 5.0
# Python's default (700 allocations) runs a collection every few repaints with 50 streams, and each full
# collection walked every object Gradio and the SDKs created at import: pauses of 100-150 ms for everyone.
GC_THRESHOLDS = (50_000, 20, 20)


def settle_heap() -> None:
    """After start-up: move what exists now (modules, the app's components) out of the collector's way."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def quiet_queue(blocks) -> None:
    """Poll fast while events arrive, slowly when idle. The attributes are Gradio internals: if one is
    missing (a new Gradio), polling is left as Gradio sets it and that is logged."""
    queue = getattr(blocks, "_queue", None)
    if queue is None or not all(isinstance(getattr(queue, name, None), float)
                                for name in ("sleep_when_free", "progress_update_sleep_when_free")) \
            or not callable(getattr(queue, "push", None)):
        log.info("gradio's queue has changed shape; its idle polling is left as it is")
        return
    queue.progress_update_sleep_when_free = max(queue.progress_update_sleep_when_free, PROGRESS_POLL_S)
    queue.sleep_when_free = IDLE_POLL_S
    last = [time.monotonic()]
    push = queue.push

    async def push_and_wake(*args, **kwargs):
        last[0] = time.monotonic()
        queue.sleep_when_free = ACTIVE_POLL_S
        return await push(*args, **kwargs)

    def quieten():
        while True:
            time.sleep(1)
            if time.monotonic() - last[0] > QUIET_AFTER_S:
                queue.sleep_when_free = IDLE_POLL_S

    queue.push = push_and_wake
    threading.Thread(target=quieten, name="queue-quieten", daemon=True).start()
