"""Provider adapters, one per wire protocol."""
from chat.engine.providers.base import (
    Event,
    Provider,
    ProviderError,
    Queued,
    ReasoningDelta,
    Request,
    Started,
    TextDelta,
    UsageReport,
)

__all__ = ["Event", "Provider", "ProviderError", "Queued", "ReasoningDelta", "Request", "Started", "TextDelta",
           "UsageReport"]
