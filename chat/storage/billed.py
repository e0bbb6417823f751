"""What a model was sent beside the input tokens its provider billed for it: what token ratios are learned from."""
from __future__ import annotations

from chat.storage.store import Store


def billed_inputs(store: Store, model: str, limit: int = 200) -> list[tuple[str, int]]:
    """The model's latest answers whose input its provider reported: (the messages sent, as JSON; input tokens)."""
    rows = store.query("SELECT messages_json, input_tokens FROM exchanges_full WHERE model = ? AND status = 'ok' "
                       "AND usage_source = 'provider' AND input_tokens > 0 ORDER BY created_at DESC LIMIT ?",
                       [model, limit])
    return [(r["messages_json"], int(r["input_tokens"])) for r in rows if r["messages_json"]]
