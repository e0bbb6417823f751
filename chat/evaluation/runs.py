"""Question-set runs: every model x variant x question x repeat, concurrently, cancellable and resumable."""
from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone

from chat.clock import now_iso
from chat.engine import Caller, ChatRequest, Engine, Result, check_params
from chat.engine.options import CONCURRENCY, REPEATS, BadOption
from chat.evaluation.questionsets import Question, QuestionSet, Variant
from chat.storage import runs as queries
from chat.storage.rows import Run
from chat.storage.scope import Scope
from chat.wording import N_, Said, Worded

MAX_CELLS = 20_000  # models x questions x repeats in one run


class RunError(Worded):
    """A run cannot start or resume as asked; the message says why (an edge words it in the reader's language)."""


class NoSuchRun(RunError):
    """No run has this id that the reader may see. The message never names where the log is (a web reader has no
    business with the server's paths); the command line adds it from `where`."""

    def __init__(self, run_id: str, where):
        super().__init__(N_("no run {run}"), run=repr(run_id))
        self.run_id, self.where = run_id, where


log = logging.getLogger(__name__)
ELSEWHERE = object()  # a cell another process is asking right now
CLAIM_WAIT_S = 5.0  # a claim the log cannot record in this long is given up on, and the run asks unclaimed


@dataclass(frozen=True)
class Cell:
    model: str
    question: Question
    repeat: int
    variant: Variant | None = None  # None: the run's one way of asking

    @property
    def key(self) -> tuple[str, str | None, str, int]:
        return self.model, self.variant.name if self.variant else None, self.question.id, self.repeat

    def request_params(self, qs: QuestionSet, max_tokens: int | None, temperature: float | None) -> dict:
        """What this cell is asked with: its variant's system prompt and parameters, else the set's and the run's."""
        v = self.variant
        return {"system": v.system if v and v.system is not None else qs.system,
                "max_tokens": v.max_tokens if v and v.max_tokens is not None else max_tokens,
                "temperature": v.temperature if v and v.temperature is not None else temperature,
                "cache": v.cache if v and v.cache is not None else qs.cache,
                "variant": v.name if v else None}


@dataclass(frozen=True)
class Progress:
    run_id: str
    done: int  # finished cells, including those skipped because an earlier attempt finished them
    total: int
    skipped: int
    failed: int
    cell: Cell | None = None
    record: dict | None = None
    cancelled: bool = False


def plan(qs: QuestionSet, models: list[str], repeats: int) -> list[Cell]:
    # repeat-major, models and variants interleaved: a run cut short still covers every one evenly
    variants = qs.variants or (None,)
    return [Cell(m, q, r, v) for r in range(repeats) for q in qs.questions for m in models for v in variants]


def create(engine: Engine, qs: QuestionSet, models: list[str], repeats: int, concurrency: int,
           max_tokens: int | None = None, temperature: float | None = None, run_id: str | None = None, *,
           caller: Caller = Caller(), scope: Scope = Scope(), estimate: dict | None = None) -> str:
    """Record a new run owned by the caller (or check a resumed one matches, within the caller's scope); its id."""
    if not models:
        raise RunError("choose at least one model")  # each edge says how: the CLI its -m, the app its menu
    try:
        check_params(temperature, max_tokens)
        repeats, concurrency = REPEATS.check(repeats), CONCURRENCY.check(concurrency)
    except BadOption as exc:
        raise RunError(exc.template, **exc.values) from None
    ways = len(qs.variants) or 1
    cells = len(models) * ways * len(qs.questions) * repeats
    if cells > MAX_CELLS:
        shown = Said(" x {n} variants", n=ways) if qs.variants else ""
        raise RunError("{models} models{variants} x {questions} questions x {repeats} repeats is {cells} answers; a run "
                       "may ask at most {most}: fewer repeats, models or questions", models=len(models), variants=shown,
                       questions=f"{len(qs.questions):,}", repeats=repeats, cells=f"{cells:,}", most=f"{MAX_CELLS:,}")
    for name in models:
        model = engine.resolve(name)  # raises UnknownModel with a clear message
        ok, why = model.status()
        if not ok:
            raise RunError("{model} is unavailable: {why}", model=name, why=why)
    if run_id:
        existing = queries.run(engine.store, run_id, scope)
        if existing is None:
            raise NoSuchRun(run_id, engine.store.where)
        if existing.set_digest != qs.digest:
            raise RunError("run {run} was made with a different question set; start a new run instead", run=run_id)
        return run_id
    run_id = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    # on disk before any answer (or in the spill file, if another connection holds the log for long)
    engine.store.insert_now("runs", Run(
        run_id, now_iso(), qs.name, qs.digest, qs.frozen(), json.dumps(models), repeats, concurrency,
        # the estimate shown before the run, kept so its results can set it beside what the run really cost
        json.dumps({"max_tokens": max_tokens, "temperature": temperature, "estimate": estimate}),
        caller.user, caller.browser_session), wait_s=5)
    return run_id


def finished_keys(engine: Engine, run_id: str) -> set[tuple[str, str | None, str, int]]:
    if run_id in engine.runs_asked:  # answers this process logged a moment ago; readers are never blocked
        engine.store.flush(timeout=5)  # (a run this process has not asked yet has none: no wait on a locked log)
    return queries.answered_cells(engine.store, run_id)


def _ask(engine: Engine, run_id: str, qs: QuestionSet, cell: Cell, params: dict, cancel: threading.Event,
         gate: threading.Semaphore | None = None) -> dict | None:
    if engine.closing.is_set():
        return None  # the process is stopping: cells not begun stay unasked, a resume picks them up
    # an embedded model answers one request at a time: waiting for it must not count as its latency
    with gate or nullcontext():
        if cancel.is_set():
            return None
        return _ask_now(engine, run_id, qs, cell, params, cancel)


def _ask_now(engine: Engine, run_id: str, qs: QuestionSet, cell: Cell, params: dict, cancel: threading.Event):
    """The cell's record; None if stopped; ELSEWHERE when another process is asking it (two hosts on one run)."""
    claims: threading.Event = params["claims"]
    claimed = claims.is_set()
    if claimed:
        try:
            if not queries.claim_cell(engine.store, run_id, cell.key, timeout=CLAIM_WAIT_S):
                return ELSEWHERE
        except Exception as exc:  # the log cannot be written now (locked, down): the answers matter more
            claims.clear()
            log.warning("run %s: cells cannot be claimed (%s); asking them unclaimed", run_id, exc)
    try:
        return _ask_claimed(engine, run_id, qs, cell, params, cancel)
    finally:
        if claimed:  # queued behind the claim (even one still waiting for the log) and the cell's own row
            queries.release_cell(engine.store, run_id, cell.key)


def _ask_claimed(engine: Engine, run_id: str, qs: QuestionSet, cell: Cell, params: dict, cancel: threading.Event):
    # logged under the run; spend counts against whoever started it (their browser session, their login)
    caller = {k: v for k, v in params.items() if k not in ("max_tokens", "temperature", "claims")}
    req = ChatRequest(model=cell.model, prompt=cell.question.text, session_id=f"run:{run_id}", run_id=run_id,
                      question_id=cell.question.id, repeat_index=cell.repeat,
                      **cell.request_params(qs, params["max_tokens"], params["temperature"]), **caller)
    stream = engine.stream(req)
    try:
        for item in stream:
            if cancel.is_set():
                return None  # closing the stream logs this cell as aborted
            if isinstance(item, Result):
                return item.record
    finally:
        stream.close()
    return None


def execute(engine: Engine, run_id: str, qs: QuestionSet, models: list[str], repeats: int, concurrency: int,
            max_tokens: int | None = None, temperature: float | None = None,
            cancel: threading.Event | None = None, caller: Caller = Caller()) -> Iterator[Progress]:
    """Run every unfinished cell, at most `concurrency` at once; yields after each one."""
    cancel = cancel or threading.Event()
    cells = plan(qs, models, repeats)
    finished = finished_keys(engine, run_id)
    todo = [c for c in cells if c.key not in finished]
    skipped = len(cells) - len(todo)
    last = Progress(run_id, skipped, len(cells), skipped, 0)
    yield last
    # claims: set while this process can take cells for itself; cleared for the run once the log cannot be written
    params = {"max_tokens": max_tokens, "temperature": temperature, "claims": threading.Event(), **asdict(caller)}
    if not engine.store.backlogged:  # a log that just refused the run's own row would not record a claim either
        params["claims"].set()
    try:
        for last in _pump(engine, run_id, qs, params, cancel, iter(todo), concurrency, len(cells), skipped):
            yield last
    except GeneratorExit:
        cancel.set()  # the caller went away (Cancel button, closed tab): stop the cells in flight
        raise
    engine.store.flush()
    if cancel.is_set():
        yield replace(last, cell=None, record=None, cancelled=True)


def _pump(engine, run_id, qs, params, cancel, pending_cells, concurrency, total, skipped) -> Iterator[Progress]:
    done, failed = skipped, 0
    gates = {}
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="run")
    running = {}

    def submit(cell: Cell):
        if cell.model not in gates:
            local = engine.resolve(cell.model).endpoint.facts.local
            gates[cell.model] = threading.Semaphore(1) if local else None
        running[pool.submit(_ask, engine, run_id, qs, cell, params, cancel, gates[cell.model])] = cell

    try:
        # feed the pool lazily so a cancel stops new cells at once
        for cell in pending_cells:
            submit(cell)
            if len(running) >= concurrency:
                break
        while running:
            finished_now, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished_now:
                cell = running.pop(future)
                record = future.result()
                if record is ELSEWHERE:  # another host is answering it (and counts it): this one goes on
                    nxt = None if cancel.is_set() else next(pending_cells, None)
                    if nxt is not None:
                        submit(nxt)
                    continue
                if record is None:
                    continue
                done += 1
                failed += record.status != "ok"
                yield Progress(run_id, done, total, skipped, failed, cell, record)
                if not cancel.is_set():
                    nxt = next(pending_cells, None)
                    if nxt is not None:
                        submit(nxt)
    except BaseException:
        # Cancel, a closed tab or a stop signal: cells in flight end at their next chunk and log themselves
        # (engine.close() logs any still silent); waiting for them here would keep the caller from answering
        cancel.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
