"""The engine and its providers: one exchange from request to metered, logged result."""
from __future__ import annotations

__all__ = ["MAX_OUTPUT_TOKENS", "MAX_PROMPT_CHARS", "BadRequest", "Caller", "ChatRequest", "Chunk", "Engine", "Result",
           "Thinking", "Waiting", "check_params"]


def __getattr__(name: str):
    # imported on first use, so the embedded model's worker process (chat.engine.providers...) loads no engine
    if name == "MAX_OUTPUT_TOKENS":
        from chat.engine import options

        return options.MAX_OUTPUT_TOKENS
    if name in __all__:
        from chat.engine import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'chat.engine' has no attribute {name!r}")
