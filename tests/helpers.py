"""Small helpers shared by tests."""
from __future__ import annotations


def run(engine, **kwargs):
    """Drive one exchange to the end; returns (reply text, Result)."""
    from chat.engine import ChatRequest, Chunk, Result

    text, result = [], None
    for item in engine.stream(ChatRequest(**kwargs)):
        if isinstance(item, Chunk):
            text.append(item.text)
        elif isinstance(item, Result):
            result = item
    engine.store.flush()
    return "".join(text), result


def templates() -> dict[str, str]:
    """Every literal sentence the app hands to its word functions (word, say, t, refuse, w), where it is written."""
    import ast
    from pathlib import Path

    found = {}
    for path in (Path(__file__).resolve().parents[1] / "chat").rglob("*.py"):
        if path.name.startswith("cli"):
            continue  # the command line stays English
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in ("word", "say", "t", "w", "refuse", "QuestionSetError", "Said", "Worded", "counted", "N_"):
                continue  # and each kept sentence, each plural's two forms, each word listed for the catalog
            arg = node.args[1] if name == "refuse" and len(node.args) > 1 else node.args[0]
            values = arg.values if isinstance(arg, ast.Dict) else node.args[:2] if name == "counted" else [arg]
            for v in values:
                if isinstance(v, ast.Constant) and isinstance(v.value, str):
                    found.setdefault(v.value, f"{path.name}:{node.lineno}")
    return found


def shown(html_text: str) -> str:
    """What a reader sees of rendered, inert HTML: its text, entities decoded, through a real HTML parser."""
    from html.parser import HTMLParser

    class Text(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []

        def handle_data(self, data):
            self.parts.append(data)

    parser = Text()
    parser.feed(html_text or "")
    parser.close()
    return "".join(parser.parts).strip("\n")


def korean_request():
    """A request as Gradio hands a handler one from a Korean browser, with no login."""
    import gradio as gr

    class Korean(gr.Request):
        headers = {"accept-language": "ko-KR,ko;q=0.9"}
        username = None
        session_hash = "korean-reader"

    return Korean()


def catalog(lang: str) -> dict[str, str]:
    """A language's catalog as its translator wrote it (chat/locale/<lang>/LC_MESSAGES/messages.po): English ->
    the translation; a plural's forms each under its English form. Untranslated entries are left out."""
    from babel.messages.pofile import read_po

    from chat.ui.i18n import LOCALE_DIR

    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        found = read_po(f)
    out = {}
    for m in found:
        if not m.id or m.context or not m.string or not all(m.string if isinstance(m.string, tuple) else [m.string]):
            continue
        if isinstance(m.id, tuple):
            out.update({m.id[0]: m.string[0], m.id[1]: m.string[-1]})
        else:
            out[m.id] = m.string
    return out


def run_cli(args, env=None, cwd=None, input: str | None = None, text: bool = True):
    """`python -m chat ARGS` through chat.ui.cli.main in this process, where a separate process is not what a test
    checks: the same parser and exit codes, stdout and stderr as a user sees them, warnings included, without a
    second and a half of imports per call. Returns what subprocess.run(..., capture_output=True, text=True) would.
    Tests of signals, crashes, several hosts or a fresh process's defaults still start `python -m chat` itself."""
    from chat.ui.cli import main

    return run_main(main, ["python", "-m", "chat"], args, env=env, cwd=cwd, input=input, text=text)


def run_main(main, command: list[str], args, env=None, cwd=None, input: str | None = None, text: bool = True):
    """A program's main(argv) in this process, as its own process would run it (see run_cli)."""
    import contextlib
    import io
    import logging
    import os
    import signal
    import subprocess
    import sys
    import threading

    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_signals = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    out, err = (io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True) for _ in range(2))
    # a process's warnings reach its stderr through logging's last resort; pytest's own handler would take them here
    handler = logging.StreamHandler(err)
    handler.setLevel(logging.WARNING)
    # ...its own warnings only: threads an earlier test left running in this worker are not part of a fresh process
    before = set(threading.enumerate()) - {threading.current_thread()}
    handler.addFilter(lambda record: threading.current_thread() not in before)  # a record is handled on its thread
    logging.getLogger().addHandler(handler)
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    try:
        os.chdir(cwd or saved_cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                _stdin(io.StringIO(input or "")):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:  # argparse's refusals, as the process would exit
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if isinstance(exc.code, str):
                    print(exc.code, file=sys.stderr)
            except Exception:  # what the process would print as it died, through its redacting hook
                sys.excepthook(*sys.exc_info())
                code = 1
    finally:
        logging.getLogger().removeHandler(handler)
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        for sig, was in saved_signals.items():
            signal.signal(sig, was)
    shown = [s.buffer.getvalue() for s in (out, err)]
    if text:
        shown = [b.decode("utf-8", "replace") for b in shown]
    return subprocess.CompletedProcess([*command, *args], code or 0, *shown)


def _stdin(stream):
    import contextlib
    import sys

    @contextlib.contextmanager
    def swapped():
        saved, sys.stdin = sys.stdin, stream
        try:
            yield
        finally:
            sys.stdin = saved

    return swapped()
