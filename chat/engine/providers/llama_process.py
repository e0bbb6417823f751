"""The embedded model's worker processes seen from the app: started, watched, restarted, and never trusted.

llama.cpp is native code the app does not control: a GGUF a user names, a CPU path that crashes (Intel AMX,
ggml-org/llama.cpp#20824) or an out-of-memory kill must cost one reply, never the process serving everyone.
So each model file runs in a child process (`llama_worker`), and this side keeps the line, the timing and
the words. What the child sends is parsed as JSON lines only, never unpickled.
"""
from __future__ import annotations

import atexit
import functools
import json
import logging
import os
import platform
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from chat.engine.providers.base import ProviderError, TextDelta, UsageReport, finish
from chat.engine.providers.turn_line import TurnLine
from chat.engine.usage import Usage
from chat.wording import Said

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[3]  # where `python -m chat...` finds the package
MAX_LINE_BYTES = 1 << 20  # no protocol line is near this; a longer one means the child is not speaking it
STOP_DRAIN_S = 30.0  # a stopped reply ends within a token; past this the child is stuck and is replaced
LOAD_ATTEMPTS = 2  # a model whose child dies this many times in a row while loading is given up on
ROOM_POLL_S = 0.25  # while every worker is answering, how often a new model looks for a free place
DEFAULT_WORKERS = 2  # model processes alive at once: each holds its model's weights and a context in memory


def worker_limit() -> int:
    """CHAT_LOCAL_WORKERS: how many model processes may run at once (ValueError naming a bad value)."""
    raw = os.environ.get("CHAT_LOCAL_WORKERS", "").strip()
    if not raw:
        return DEFAULT_WORKERS
    if not raw.isdigit() or not 1 <= int(raw) <= 64:
        raise ValueError(f"CHAT_LOCAL_WORKERS={raw!r} must be a whole number of model processes from 1 to 64 (e.g. 2)")
    return int(raw)


@functools.cache
def fast_path_is_safe(cpuinfo: str = "/proc/cpuinfo", machine: str | None = None) -> bool:
    """llama.cpp's extra CPU buffer types (weight repacking) crash on Intel AMX: use them only where AMX is known absent."""
    if (machine or platform.machine()).lower() not in ("x86_64", "amd64", "i386", "i686", "x86"):
        return True  # AMX is Intel's x86 extension alone
    try:
        flags = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return False  # no way to tell: the path that works everywhere
    return re.search(r"\bamx_\w+", flags) is None


@dataclass(frozen=True)
class Settings:
    path: str
    n_ctx: int
    cache_bytes: int
    threads: int
    extra_bufts: bool


def describe_exit(code: int | None) -> str:
    """How a child ended, in words: 'crashed (SIGSEGV)'."""
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if name == "SIGKILL":
            return "was killed (SIGKILL, which is what the system sends when it runs out of memory)"
        return f"crashed ({name})"
    return f"exited (code {code})"


class WorkerGone(Exception):
    def __init__(self, how: str):
        super().__init__(how)
        self.how = how


class Worker:
    """One child process and its pipes. Only the request holding the model's turn reads or writes them."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chat.engine.providers.llama_worker", json.dumps(asdict(settings))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
            start_new_session=True,  # the terminal's Ctrl-C and hangup go to the app, which then ends the child
        )
        self.ready: dict | None = None
        self.alive = True
        self._lines: deque[bytes] = deque()
        self._partial = b""
        self._stderr: deque[str] = deque(maxlen=20)
        self._drain = threading.Thread(target=self._drain_stderr, name=f"llama-stderr-{self.proc.pid}", daemon=True)
        self._drain.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _drain_stderr(self) -> None:
        # a child that writes much to a pipe nobody reads would block; the last lines help after a crash
        for line in self.proc.stderr:
            self._stderr.append(line.decode("utf-8", "replace").rstrip()[:300])

    def last_error(self, fallback: str) -> str:
        """llama.cpp's own last error line, once the child has exited (it logs why it refused a file)."""
        self._drain.join(5)
        errors = [line for line in self._stderr if "error" in line.lower()]
        return (errors[-1] if errors else fallback)[:300]

    def send(self, message: dict) -> None:
        try:
            self.proc.stdin.write(json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise WorkerGone(self._ended()) from None

    def read(self, timeout: float) -> dict | None:
        """The next message, None after timeout seconds of silence; WorkerGone if the child died."""
        fd = self.proc.stdout.fileno()
        while not self._lines:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise WorkerGone(self._ended())
            parts = (self._partial + chunk).split(b"\n")
            self._partial = parts.pop()
            if len(self._partial) > MAX_LINE_BYTES:
                self.kill()
                raise WorkerGone("sent something that is not its protocol")
            self._lines.extend(parts)
        try:
            message = json.loads(self._lines.popleft())
        except ValueError:
            self.kill()
            raise WorkerGone("sent something that is not its protocol") from None
        if not isinstance(message, dict):
            self.kill()
            raise WorkerGone("sent something that is not its protocol")
        return message

    def _ended(self) -> str:
        self.alive = False
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.returncode
        if self._stderr:
            log.warning("the local model's process %s %s; its last words: %s", self.pid, describe_exit(code),
                        " | ".join(self._stderr))
        return describe_exit(code)

    def kill(self) -> None:
        self.alive = False
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


class Supervisor:
    """One model file's worker: started ahead of need, restarted after a crash, given up on if it crashes loading."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.line = TurnLine()
        self.broken: str | None = None  # why the model is unavailable, once it has failed to load for good
        self.worker: Worker | None = None
        self.replies = 0  # finished by any of its workers
        self.restarts = 0
        self.cache: dict | None = None  # the worker's prefix-cache figures after its last reply
        self.stopped_after: int | None = None  # tokens the worker had made when its last Stop reached it
        self.last_used = 0.0  # monotonic time it last started a reply: the least recently used worker goes first
        self._lock = threading.Lock()

    def start(self, wait_s: float = 0.0) -> bool:
        """Start the worker if none runs, without waiting for it to load (preloading, restarts, a request's turn).

        At most CHAT_LOCAL_WORKERS workers exist: an idle one, the least recently used, is stopped to make room;
        while all are busy this waits up to wait_s for one to finish. False when there was no room.
        """
        deadline = time.monotonic() + wait_s
        while True:
            with _room_lock:  # one start at a time, so two new models cannot both take the last place
                if self.worker is not None or self.broken is not None:
                    return True
                if _make_room(self):
                    with self._lock:
                        self.worker = Worker(self.settings)
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(ROOM_POLL_S)

    @property
    def idle(self) -> bool:
        return self.line.empty()

    def stop(self) -> None:
        with self._lock:
            worker, self.worker = self.worker, None
        if worker is not None:
            worker.kill()

    def _replace(self, worker: Worker, restart: bool = True) -> None:
        worker.kill()
        with self._lock:
            if self.worker is worker:
                self.worker = None
        if restart:
            self.restarts += 1
            self.start()  # at once, so those in line find it loading or loaded

    def ready(self, load_timeout: float) -> Worker:
        """The loaded worker, for the request holding the turn; ProviderError if the model cannot be loaded."""
        for attempt in range(LOAD_ATTEMPTS):
            if not self.start(load_timeout):
                raise ProviderError("unavailable", f"all {worker_limit()} local model processes (CHAT_LOCAL_WORKERS) "
                                    f"stayed busy for {load_timeout:g}s; try again when one is free", billable=False)
            worker = self.worker
            if worker is None:
                break
            if worker.ready is not None:
                self.last_used = time.monotonic()
                return worker
            try:
                message = worker.read(load_timeout)
            except WorkerGone as gone:
                self._replace(worker, restart=False)
                how = gone.how
                continue
            if message is None:
                self._replace(worker, restart=False)
                self.broken = Said("it did not load within {s}s (CHAT_MAX_SECONDS)", s=f"{load_timeout:g}")
                break
            if "fatal" in message:
                try:
                    worker.proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass
                said = worker.last_error(str(message["fatal"]))
                self.broken = Said("llama.cpp could not load it ({why}); the file may be damaged, or of a model "
                                   "architecture this llama.cpp does not know", why=said.rstrip("."))
                self._replace(worker, restart=False)
                break
            if not message.get("ready"):
                self._replace(worker, restart=False)
                how = "sent something that is not its protocol"
                continue
            worker.ready = message
            self.last_used = time.monotonic()
            return worker
        else:
            self.broken = Said("its process {how} while loading, {n} times in a row, so it is not restarted again: check "
                               "the file, or restart the app", how=how, n=LOAD_ATTEMPTS)
        raise ProviderError("unavailable", self.broken, billable=False)

    def wait_loaded(self, timeout: float) -> None:
        """Block until the worker has loaded the model (ProviderError if it cannot), taking a turn in line to read it."""
        ticket = self.line.join()
        try:
            while not self.line.wait(ticket, 0.5):
                pass
            self.ready(timeout)
        finally:
            self.line.leave(ticket)

    def generate(self, worker: Worker, messages: list[dict], max_tokens: int | None, temperature: float | None,
                 stall_s: float) -> Iterator[TextDelta | UsageReport]:
        """One reply from the worker; on Stop the worker hears of it before its next token."""
        finished = False
        try:
            worker.send({"op": "generate", "messages": messages, "max_tokens": max_tokens, "temperature": temperature})
            while True:
                message = worker.read(stall_s)
                if message is None:
                    self._replace(worker)
                    finished = True
                    raise ProviderError("timeout", f"the local model sent nothing for {stall_s:g}s, so its process "
                                                   "was restarted")
                if "t" in message:
                    yield TextDelta(str(message["t"]))
                elif "done" in message:
                    finished = True
                    self.replies += 1
                    self.cache = message.get("cache")
                    n_in, n_out = int(message["input_tokens"]), int(message["output_tokens"])
                    yield UsageReport(Usage(input_tokens=n_in, output_tokens=n_out),
                                      {"prompt_tokens": n_in, "completion_tokens": n_out})
                    yield finish(message.get("finish"))
                    return
                elif "error" in message:
                    finished = True
                    raise ProviderError(str(message["error"]), str(message.get("message", ""))[:500])
        except WorkerGone as gone:
            finished = True
            if self.settings.extra_bufts and not self.replies:
                # it never finished a reply with llama.cpp's faster CPU path: the next one starts without it
                self.settings = replace(self.settings, extra_bufts=False)
            self._replace(worker)
            raise ProviderError("crashed", f"the local model's process {gone.how} and was restarted",
                                billable=False) from None
        finally:
            if not finished:
                self._stop(worker)

    def _stop(self, worker: Worker) -> None:
        """Stopped mid-reply: tell the worker, then read to the end of its reply so the next request starts clean."""
        try:
            worker.send({"op": "stop"})
            while True:
                message = worker.read(STOP_DRAIN_S)
                if message is None:
                    self._replace(worker)
                    return
                if "done" in message or "error" in message:
                    if "done" in message:
                        self.replies += 1
                        self.stopped_after = int(message["output_tokens"])
                    return
        except WorkerGone:
            self._replace(worker)


_supervisors: dict[Settings, Supervisor] = {}
_supervisors_lock = threading.Lock()
_room_lock = threading.Lock()


def _make_room(newcomer: Supervisor) -> bool:
    """Stop the least recently used idle workers until the newcomer's fits under CHAT_LOCAL_WORKERS; False if it
    cannot, because the others are all answering (a worker in use is never stopped)."""
    with _supervisors_lock:
        running = [s for s in _supervisors.values() if s is not newcomer and s.worker is not None]
    excess = len(running) + 1 - worker_limit()
    idle = sorted((s for s in running if s.idle), key=lambda s: s.last_used)
    if excess > len(idle):
        return False
    for sup in idle[:max(excess, 0)]:
        log.info("stopping the local model %s, unused the longest, to start another", sup.settings.path)
        sup.stop()
    return True


def supervisor(settings: Settings) -> Supervisor:
    """The one supervisor of a model file with these settings, in this process."""
    with _supervisors_lock:
        sup = _supervisors.get(settings)
        if sup is None:
            sup = _supervisors[settings] = Supervisor(settings)
        return sup


def find(path: str) -> list[Supervisor]:
    with _supervisors_lock:
        return [s for k, s in _supervisors.items() if k.path == path]


def stop_all() -> None:
    """End every worker (shutdown; tests that want fresh models)."""
    with _supervisors_lock:
        sups = list(_supervisors.values())
        _supervisors.clear()
    for sup in sups:
        sup.stop()


atexit.register(stop_all)
