"""Provider adapters, one per wire protocol."""
from __future__ import annotations

__all__ = ["Event", "Finished", "Provider", "ProviderError", "Queued", "ReasoningDelta", "Request", "Started",
           "TextDelta", "UsageReport"]


def __getattr__(name: str):
    # on first use, so the embedded model's worker process imports no SDK or HTTP library
    if name in __all__:
        from chat.engine.providers import base

        return getattr(base, name)
    raise AttributeError(f"module 'chat.engine.providers' has no attribute {name!r}")
