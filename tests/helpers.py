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
