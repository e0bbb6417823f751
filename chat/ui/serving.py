"""Process settings for serving many people at once: garbage-collector pauses and the queue's idle polling."""
from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

# Gradio's queue loop sleeps 1 ms between checks when it has nothing to do, and its progress loop 10 ms:
# together about 4% of a core with nobody connected. 20 ms keeps a new question's wait unnoticeable.
IDLE_POLL_S = 0.02
# Python's default (700 allocations) runs a collection every few repaints with 50 streams, and each full
# collection walked every object Gradio and the SDKs created at import: pauses of 100-150 ms for everyone.
GC_THRESHOLDS = (50_000, 20, 20)


def settle_heap() -> None:
    """After start-up: move what exists now (modules, the app's components) out of the collector's way."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def quiet_queue(blocks) -> None:
    """Make the queue's idle polling slower; its attributes are Gradio internals, so a missing one is only logged."""
    queue = getattr(blocks, "_queue", None)
    for name in ("sleep_when_free", "progress_update_sleep_when_free"):
        if queue is not None and isinstance(getattr(queue, name, None), float):
            setattr(queue, name, max(getattr(queue, name), IDLE_POLL_S))
        else:
            log.info("gradio queue has no %s; idle polling left as it is", name)
