"""Provider adapters, one per wire protocol."""
from chat.engine.providers.base import (
    Event,
    Provider,
    ProviderError,
    ReasoningDelta,
    Request,
    TextDelta,
    UsageReport,
)

__all__ = ["Event", "Provider", "ProviderError", "ReasoningDelta", "Request", "TextDelta", "UsageReport"]
