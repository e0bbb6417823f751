"""Stream timing: first token, latency, decode speed and chunk gaps, O(1) work per chunk."""
from __future__ import annotations

import time
from dataclasses import dataclass

from chat.quantile import percentile


@dataclass(frozen=True)
class Timing:
    ttft_ms: float | None  # first reply text
    ttft_any_ms: float | None  # first token of any kind (reasoning included)
    latency_ms: float  # from the model starting on it: queue wait excluded
    queue_ms: float | None  # waiting for a model that serves one request at a time; None when there was no queue
    gap_p50_ms: float | None
    gap_p95_ms: float | None

    def tokens_per_s(self, output_tokens: int) -> float | None:
        """Output tokens over the decode phase: time after the first token, so TTFT doesn't dilute it.

        None under MIN_SPEED_TOKENS: two tokens a millisecond apart read as 2,000 tok/s and would skew a model's
        mean (a 2-token aborted reply once read 28,828 tok/s).
        """
        start = self.ttft_any_ms
        if start is None or output_tokens < MIN_SPEED_TOKENS:
            return None
        decode_s = (self.latency_ms - start) / 1000
        if decode_s <= 0:
            return None
        return output_tokens / decode_s


MIN_SPEED_TOKENS = 10


class Meter:
    """Created when the request is sent; queued()/started() around a wait for the model, mark() per chunk, finish() once."""

    def __init__(self, clock=time.perf_counter):
        self._clock = clock
        self._start = clock()
        self._first_text: float | None = None
        self._first_any: float | None = None
        self._last: float | None = None
        self._gaps: list[float] = []
        self._queued_at: float | None = None
        self._queue_s: float | None = None

    def queued(self) -> None:
        if self._queued_at is None:
            self._queued_at = self._clock()

    def started(self) -> None:
        """The model took the request: the clock restarts, so TTFT and latency are the model's own."""
        if self._queue_s is None:
            now = self._clock()
            self._queue_s = now - self._start
            self._start = now

    def mark(self, is_text: bool) -> None:
        now = self._clock()
        if self._first_any is None:
            self._first_any = now
        if is_text and self._first_text is None:
            self._first_text = now
        if self._last is not None:
            self._gaps.append(now - self._last)
        self._last = now

    def elapsed(self) -> float:
        """Seconds since the request was sent."""
        return self._clock() - self._start

    def finish(self) -> Timing:
        end = self._clock()
        if self._queued_at is not None and self._queue_s is None:
            # stopped while still waiting: all of it was queue, none was the model's
            self._queue_s, self._start = end - self._start, end
        gaps = sorted(self._gaps)

        def ms(t):
            return None if t is None else (t - self._start) * 1000

        return Timing(
            ttft_ms=ms(self._first_text),
            ttft_any_ms=ms(self._first_any),
            latency_ms=(end - self._start) * 1000,
            queue_ms=None if self._queue_s is None else self._queue_s * 1000,
            gap_p50_ms=percentile(gaps, 0.5) * 1000 if gaps else None,
            gap_p95_ms=percentile(gaps, 0.95) * 1000 if gaps else None,
        )
