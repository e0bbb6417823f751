"""Runs that outlive the page that started them: each on a server thread, its progress kept for whoever may see it."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal

from chat.engine import Caller, Engine
from chat.evaluation.questionsets import QuestionSet
from chat.evaluation.runs import execute

KEEP_FINISHED = 50  # finished runs remembered for the pages that reopen; their results are in the log anyway


@dataclass(frozen=True)
class Live:
    """A run's progress as the server sees it, copied for a page to show."""

    run_id: str
    total: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    spent: Decimal = Decimal(0)
    unpriced: bool = False  # an answer had no price: the spend so far is not the whole of it
    estimate_high: Decimal | None = None
    state: str = "starting"  # starting | running | done | cancelled | stopped | failed
    error: str | None = None
    seconds_left: float | None = None

    @property
    def running(self) -> bool:
        return self.state in ("starting", "running")


@dataclass
class _Entry:
    live: Live
    cancel: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)
    started: float = field(default_factory=time.monotonic)
    first_done: int | None = None


class Runner:
    """The app's runs in flight. A run stops only by cancel(), by a cap or estimate refusal inside the engine,
    or by the process stopping (a signal sets engine.closing, and the cells not begun stay unasked)."""

    def __init__(self):
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def start(self, engine: Engine, run_id: str, qs: QuestionSet, models: list[str], repeats: int, concurrency: int,
              max_tokens: int | None, caller: Caller, estimate_high: Decimal | None) -> Live:
        with self._lock:
            entry = self._entries.get(run_id)
            if entry is not None and entry.live.running:
                return entry.live  # a second Run press on a resumed run joins the one going
            entry = self._entries[run_id] = _Entry(Live(run_id, estimate_high=estimate_high))
            self._forget_old()
        thread = threading.Thread(target=self._run, name=f"run-{run_id}", daemon=True,
                                  args=(entry, engine, run_id, qs, models, repeats, concurrency, max_tokens, caller))
        thread.start()
        return entry.live

    def _run(self, entry: _Entry, engine, run_id, qs, models, repeats, concurrency, max_tokens, caller) -> None:
        state, error = "done", None
        try:
            for p in execute(engine, run_id, qs, models, repeats, concurrency, max_tokens, cancel=entry.cancel,
                             caller=caller):
                self._update(entry, p)
                if p.cancelled:
                    state = "cancelled"
            if engine.closing.is_set() and state == "done" and entry.live.done < entry.live.total:
                state = "stopped"
        except Exception as exc:  # the run's own thread: nobody else would hear of it
            state, error = "failed", str(exc)[:300]
        with entry.changed:
            entry.live = replace(entry.live, state=state, error=error, seconds_left=None)
            entry.changed.notify_all()

    def _update(self, entry: _Entry, p) -> None:
        with entry.changed:
            live = entry.live
            spent, unpriced = live.spent, live.unpriced
            if p.record is not None:
                if p.record.cost_usd is None:
                    unpriced = unpriced or p.record.status == "ok"
                else:
                    spent += Decimal(p.record.cost_usd)
            if entry.first_done is None:
                entry.first_done = p.done  # cells an earlier attempt finished do not make this one look fast
            now_done, left = p.done - entry.first_done, p.total - p.done
            seconds_left = (time.monotonic() - entry.started) / now_done * left if now_done and left else None
            entry.live = replace(live, total=p.total, done=p.done, failed=p.failed, skipped=p.skipped, spent=spent,
                                 unpriced=unpriced, state="running", seconds_left=seconds_left)
            entry.changed.notify_all()

    def get(self, run_id: str | None) -> Live | None:
        with self._lock:
            entry = self._entries.get(run_id or "")
        return None if entry is None else entry.live

    def wait(self, run_id: str, after: Live | None, timeout: float) -> Live | None:
        """The run's progress once it differs from `after` (or the timeout passes)."""
        with self._lock:
            entry = self._entries.get(run_id)
        if entry is None:
            return None
        with entry.changed:
            entry.changed.wait_for(lambda: entry.live != after, timeout)
            return entry.live

    def running(self) -> list[str]:
        with self._lock:
            return [run_id for run_id, e in self._entries.items() if e.live.running]

    def cancel(self, run_id: str) -> bool:
        with self._lock:
            entry = self._entries.get(run_id)
        if entry is None or not entry.live.running:
            return False
        entry.cancel.set()
        return True

    def _forget_old(self) -> None:
        finished = [run_id for run_id, e in self._entries.items() if not e.live.running]
        for run_id in finished[:-KEEP_FINISHED] if len(finished) > KEEP_FINISHED else []:
            del self._entries[run_id]
