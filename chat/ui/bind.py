"""Handlers with the engine bound in, which Gradio still sees as functions (so it passes gr.Request)."""
from __future__ import annotations

import functools
import inspect


def bind(fn, *bound, **fixed):
    """Like functools.partial, but Gradio reads the signature and type hints through it.

    Gradio cannot read type hints through a partial, so a partial never receives gr.Request, and every
    request then looked anonymous: no login, no browser session, for caps, rate limits and log privacy.
    """
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def handler(*args, **kwargs):
            yield from fn(*bound, *args, **fixed, **kwargs)
    else:
        @functools.wraps(fn)
        def handler(*args, **kwargs):
            return fn(*bound, *args, **fixed, **kwargs)
    signature = inspect.signature(fn)
    rest = [p for p in list(signature.parameters.values())[len(bound):] if p.name not in fixed]
    handler.__signature__ = signature.replace(parameters=rest)
    return handler
