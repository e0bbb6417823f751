"""The engine and its providers: one exchange from request to metered, logged result."""
from chat.engine.engine import (MAX_OUTPUT_TOKENS, MAX_PROMPT_CHARS, BadRequest, ChatRequest, Chunk, Engine, Result,
                                Thinking, Waiting, check_params)

__all__ = ["MAX_OUTPUT_TOKENS", "MAX_PROMPT_CHARS", "BadRequest", "ChatRequest", "Chunk", "Engine", "Result",
           "Thinking", "Waiting", "check_params"]
