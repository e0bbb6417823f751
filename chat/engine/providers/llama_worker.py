"""The embedded model's own process: loads one GGUF, then serves one request at a time over JSON lines.

Run by `llama_process.Worker` as `python -m chat.engine.providers.llama_worker SETTINGS_JSON`. It reads
`{"op": "generate", ...}` and `{"op": "stop"}` lines on stdin and writes, on the descriptor that was stdout,
`{"ready": ...}` once loaded, then per request `{"t": text}` lines and one `{"done": ...}` or `{"error": ...}`.
Native code that writes to stdout is sent to stderr instead, so it can never corrupt that stream. When stdin
closes, or the parent is gone, it exits at once: no orphan outlives the app, even one SIGKILLed.
"""
from __future__ import annotations

import codecs
import json
import os
import queue
import signal
import sys
import threading
import time

# SmolLM2's own chat template, used only when a GGUF carries none
_CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
DEFAULT_MAX_TOKENS = 512
PARENT_CHECK_S = 1.0


class _Channel:
    """stdin read on its own thread, so a stop (or the parent's death) is seen between two tokens."""

    def __init__(self, out):
        self.out = out
        self.requests: queue.Queue = queue.Queue()
        self.stop = threading.Event()
        self._parent = os.getppid()
        threading.Thread(target=self._read, name="stdin", daemon=True).start()
        threading.Thread(target=self._watch_parent, name="parent-watch", daemon=True).start()

    def send(self, message: dict) -> None:
        self.out.write(json.dumps(message, ensure_ascii=False) + "\n")
        self.out.flush()

    def _read(self) -> None:
        for line in sys.stdin.buffer:
            message = json.loads(line)
            if message.get("op") == "stop":
                self.stop.set()
            else:
                self.requests.put(message)
        os._exit(0)  # the parent closed our stdin, or died: nobody is left to answer

    def _watch_parent(self) -> None:
        while True:
            time.sleep(PARENT_CHECK_S)
            if os.getppid() != self._parent:
                os._exit(0)


def load_llama(path: str, n_ctx: int, threads: int, extra_bufts: bool):
    """llama_cpp.Llama with llama.cpp's extra CPU buffer types on or off (the worker's, and the benchmark's)."""
    from llama_cpp import Llama
    from llama_cpp import llama_cpp as native

    # they repack weights for AMX, whose kernels crash (ggml-org/llama.cpp#20824); Llama() takes no argument for
    # it, so the defaults it starts from are changed while it loads
    original = native.llama_model_default_params

    def defaults():
        params = original()
        params.use_extra_bufts = extra_bufts
        return params

    native.llama_model_default_params = defaults
    try:
        # reading the prompt is a batch: without n_threads_batch it would take every core the machine has
        llm = Llama(model_path=path, n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, verbose=False)
    finally:
        native.llama_model_default_params = original
    if llm.model_params.use_extra_bufts != extra_bufts:
        raise RuntimeError("this llama-cpp-python no longer builds its model settings from llama_model_default_params")
    return llm


def _load(settings: dict):
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    llm = load_llama(settings["path"], settings["n_ctx"], settings["threads"], settings["extra_bufts"])
    template = llm.metadata.get("tokenizer.chat_template") or _CHATML
    eos = llm.detokenize([llm.token_eos()]).decode("utf-8", "ignore")
    bos = llm.detokenize([llm.token_bos()]).decode("utf-8", "ignore")
    formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos, add_generation_prompt=True)
    return llm, formatter


def _is_end(llm, token: int) -> bool:
    if hasattr(llm._model, "token_is_eog"):
        return bool(llm._model.token_is_eog(token))
    return token == llm.token_eos()


def _generate(llm, formatter, cache, channel: _Channel, request: dict) -> None:
    prompt = formatter(messages=request["messages"]).prompt
    tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
    n_ctx = llm.n_ctx()
    if len(tokens) >= n_ctx:
        channel.send({"error": "bad_request", "message": f"the prompt is {len(tokens)} tokens; the local model's "
                                                         f"window is {n_ctx}"})
        return
    limit = min(request.get("max_tokens") or DEFAULT_MAX_TOKENS, n_ctx - len(tokens))
    temperature = request.get("temperature")
    temperature = 0.7 if temperature is None else temperature
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    produced, stopped, cut = 0, False, False
    channel.stop.clear()
    if cache is not None:
        cache.prepare(llm, tokens)
    try:
        for token in llm.generate(tokens, temp=temperature, top_p=0.95, top_k=40, repeat_penalty=1.1, reset=True):
            if channel.stop.is_set():
                stopped = True
                break
            if _is_end(llm, token):
                break
            produced += 1
            # byte-level BPE can split a character across tokens; the incremental decoder holds the pieces
            text = decoder.decode(llm.detokenize([token]))
            if text:
                channel.send({"t": text})
            if produced >= limit:
                cut = True
                break
        # a reply cut at its limit may end in half a character: drop it rather than send a replacement mark
        tail = decoder.decode(b"", final=True)
        if tail and not stopped and not cut:
            channel.send({"t": tail})
    finally:
        if cache is not None:
            cache.generated()
    stats = {"hits": cache.hits, "saves": cache.saves, "size": cache.size, "items": len(cache)} if cache else None
    channel.send({"done": True, "input_tokens": len(tokens), "output_tokens": produced, "stopped": stopped,
                  "finish": "max_tokens" if cut else "stop",
                  "cache": stats})


def main(argv: list[str]) -> int:
    settings = json.loads(argv[1])
    # the app's terminal and process group own Ctrl-C and hangups; the app decides when this process ends
    for sig in (signal.SIGINT, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, signal.SIG_IGN)
    if hasattr(os, "nice"):
        os.nice(5)  # when cores are short, the app serving everyone goes first; alone, this costs nothing
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever native code prints goes to stderr, never into the protocol
    channel = _Channel(out)
    try:
        from chat.engine.providers.llama_state import PrefixCache

        llm, formatter = _load(settings)
    except Exception as exc:  # llama.cpp refuses the file: one line, and no restart will help
        channel.send({"fatal": str(exc).replace(f": {settings['path']}", "")[:300]})
        sys.stderr.flush()
        os._exit(3)  # not a return: the stdin thread would hold up the interpreter's shutdown
    cache = PrefixCache(settings["cache_bytes"]) if settings["cache_bytes"] else None
    channel.send({"ready": True, "pid": os.getpid(), "n_ctx": llm.n_ctx(), "extra_bufts": settings["extra_bufts"]})
    while True:
        request = channel.requests.get()
        try:
            _generate(llm, formatter, cache, channel, request)
        except Exception as exc:
            channel.send({"error": "server", "message": f"the local model failed: {type(exc).__name__}: {exc}"[:500]})


if __name__ == "__main__":
    sys.exit(main(sys.argv))
