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
