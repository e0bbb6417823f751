"""Conversation memory: system prompt plus turns, trimmed oldest-first to fit the context window."""
from __future__ import annotations

from chat.engine.tokens import count_messages, most_tokens

# When a model's window is unknown we don't trim: the server will say if it's too long.
DEFAULT_REPLY_RESERVE = 1024


def build_messages(
    system: str | None,
    history: list[dict],
    prompt: str,
    model: str,
    context_window: int | None,
    max_tokens: int | None,
) -> tuple[list[dict], int]:
    """Messages to send and how many earlier turns were dropped to fit.

    A turn is a user message with the replies after it; whole turns go, oldest
    first, so the model never sees an answer without its question.
    """
    head = [{"role": "system", "content": system}] if system else []
    tail = [{"role": "user", "content": prompt}]
    turns: list[list[dict]] = []
    for message in history:
        role = message.get("role")
        if role not in ("user", "assistant") or not isinstance(message.get("content"), str):
            continue
        if role == "user" or not turns:
            turns.append([])
        turns[-1].append({"role": role, "content": message["content"]})
    everything = head + [m for t in turns for m in t] + tail
    budget = context_window - (max_tokens or DEFAULT_REPLY_RESERVE) if context_window else 0
    if not context_window or most_tokens(everything) <= budget:
        return everything, 0  # no window to fit, or it fits by its bytes: no tokenizer needed
    # count each turn once; the framing constant in count_messages is paid by head+tail only
    fixed = count_messages(head + tail, model)[0]
    sizes = [count_messages(t, model)[0] - count_messages([], model)[0] for t in turns]
    total = fixed + sum(sizes)
    trimmed = 0
    while turns and total > budget:
        turns.pop(0)
        total -= sizes.pop(0)
        trimmed += 1
    return head + [m for t in turns for m in t] + tail, trimmed
