"""Per-browser-session chat state and how it is shown: turns, meter lines, session totals."""
from __future__ import annotations

import uuid
from decimal import Decimal

from chat.engine import token_ratios
from chat.engine.pricing import PriceTable, costs_elsewhere
from chat.engine.usage import Usage
from chat.evaluation.meter_text import ratio_text
from chat.ui.display import cost_breakdown, meter_line
from chat.ui.i18n import words
from chat.ui.untrusted import inert, plain
from chat.wording import counted, english, explain, format_money, rate_note


def new_session() -> dict:
    return {"session_id": uuid.uuid4().hex, "turns": [], "requests": 0, "input": 0, "output": 0,
            "cost": Decimal(0), "unpriced": 0}


def fork(state) -> dict:
    """A copy a handler may change without touching Gradio's: its own totals, list of turns and turn dicts.

    Shallow on purpose: a deep copy per message walked every earlier reply and record, so a long
    conversation's 20th question paid for the 19 before it. Nothing changes a record once logged.
    """
    if not (isinstance(state, dict) and "turns" in state):
        return new_session()
    return {**state, "turns": [dict(turn) for turn in state["turns"]]}


def history(state: dict) -> list[dict]:
    """The conversation the model sees: finished turns with text (a stopped reply counts as said)."""
    out = []
    for turn in state["turns"]:
        if turn["status"] == "streaming" or not turn["reply"]:
            continue
        out += [{"role": "user", "content": turn["prompt"]}, {"role": "assistant", "content": turn["reply"]}]
    return out


def account(state: dict, record: dict) -> None:
    """Add a logged exchange to the session totals."""
    state["requests"] += 1
    state["input"] += record.input_tokens or 0
    state["output"] += record.output_tokens or 0
    if record.cost_usd is None:
        if record.input_tokens or record.output_tokens:
            state["unpriced"] += 1
    else:
        state["cost"] += Decimal(record.cost_usd)


ELSEWHERE_SHOWN = 10


def elsewhere(record: dict, prices: PriceTable, word=english, engine=None) -> str:
    """The same text priced on the other priced models, cheapest first: a compact table of ten, the rest one click
    away. With the engine, the tokens are translated through each model's token ratio (learned or a prior)."""
    if engine is not None:
        others = [(e.model, e.cost, e.ratio) for e in token_ratios.costs_elsewhere(engine, record)]
    else:
        usage = Usage.of_row(record)
        others = [(name, cost, None) for name, cost in costs_elsewhere(usage, prices) if name != record.model]
    if not others:
        return ""

    def how(ratio) -> str:
        return "" if ratio is None else f" {ratio_text(ratio, word)} |"

    def table(rows) -> str:
        cell = plain  # a model name is text, even with a | or a [
        extra = f" {word('Its tokens')} |" if engine is not None else ""
        return f"| {word('Model')} | {word('Same tokens')} |{extra}\n|---|---:|{'---:|' if extra else ''}\n" + "\n".join(
            f"| {cell(name)} | ≈{format_money(cost.total, word=word)} |{how(ratio)}" for name, cost, ratio in rows)

    shown, rest = others[:ELSEWHERE_SHOWN], others[ELSEWHERE_SHOWN:]
    intro = word("**Same tokens elsewhere**, cheapest first (approximate: tokenizers differ)") if engine is None else \
        word("**Same text elsewhere**, cheapest first: its tokens translated to each model's through that model's "
             "ratio to our count (learned from its answers, or its family's prior)")
    text = f"{intro}\n\n{table(shown)}"
    if rest:
        more = word("{n} more models", n=len(rest))
        text += f"\n\n<details><summary>{more}</summary>\n\n{table(rest)}\n\n</details>"
    return text


def _meter_message(record: dict, prices: PriceTable | None, word=None, engine=None) -> dict:
    word = word or words("en")
    source = word("tokens estimated") if record.usage_source == "estimate" else word("tokens reported by the provider")
    # a model name is typed by whoever chats ('openai:![x](/logout)'): shown as text, never as markup
    model = plain(record.model)
    details = (f"{cost_breakdown(record, word)}\n\n{word('model')} {model} · {word('status')} "
               f"`{record.status}` · {source}")
    if prices is not None and (record.input_tokens or record.output_tokens):
        details += f"\n\n{elsewhere(record, prices, word, engine)}"
    return {"role": "assistant", "content": details,
            "metadata": {"title": f"{model} · {meter_line(record, word)}", "status": "done"}}


class ChatView(list):
    """Chatbot messages as plain dicts, plus which finished turns they came from (see components.ChatLog)."""

    def __init__(self, messages: list[dict], finished: list[tuple[dict, int]]):
        super().__init__(messages)
        self.finished = finished  # (turn, how many of the leading messages are its), in order


def render(state: dict, prices: PriceTable | None = None, engine=None) -> ChatView:
    """Chatbot messages: each reply, then its meter line (expand it for the cost breakdown)."""
    messages, finished, settled = [], [], True
    for turn in state["turns"]:
        start = len(messages)
        if turn["status"] == "streaming":
            messages += _streaming(turn, words(state.get("lang")))
            settled = False
        else:
            # a finished turn never changes: its messages are built once, and repaints during later replies reuse them
            if "messages" not in turn:
                turn["messages"] = _finished(turn, prices, words(state.get("lang")), engine)
            messages += turn["messages"]
        if settled:
            finished.append((turn, len(messages) - start))
    return ChatView(messages, finished)


def _streaming(turn: dict, word=english) -> list[dict]:
    body = turn["reply"]
    if not body and turn.get("waiting"):
        ahead = turn["waiting"]
        body = "⏳ " + (word("waiting for the model: 1 request ahead of yours") if ahead == 1 else
                        word("waiting for the model: {n} requests ahead of yours", n=ahead))
    # the model's text loads nothing, even half-written
    return [{"role": "user", "content": inert(turn["prompt"])}, {"role": "assistant", "content": inert(body or "…")}]


def _finished(turn: dict, prices: PriceTable | None, word=english, engine=None) -> list[dict]:
    record = turn.get("record")
    body = turn["reply"]
    if record and record.status != "ok":
        failure = turn.get("failure")
        why = explain(failure, word) if failure else record.error
        note = "⏹ " + word("stopped") if record.status == "aborted" else f"⚠️ {why}"
        body = f"{body}\n\n{note}" if body else note
    shown = [{"role": "user", "content": inert(turn["prompt"])}, {"role": "assistant", "content": inert(body)}]
    return shown + ([_meter_message(record, prices, word, engine)] if record else [])


def panel(state: dict, context_window: int | None) -> str:
    """Session totals and a context-window gauge for the current conversation."""
    word = words(state.get("lang"))
    cost = format_money(state["cost"], word=word) if state["requests"] else "$0"
    if state["unpriced"]:
        cost += word(" + {n} unpriced", n=state["unpriced"])
    lines = [counted("**Session** · {n} request · {i} in / {o} out tokens · {cost}",
                     "**Session** · {n} requests · {i} in / {o} out tokens · {cost}", state["requests"], word=word,
                     n=f"{state['requests']:,}", i=f"{state['input']:,}", o=f"{state['output']:,}", cost=cost)]
    last = next((turn["record"] for turn in reversed(state["turns"]) if turn.get("record")), None)
    used = (last.input_tokens + last.output_tokens) if last else 0
    if context_window:
        share = used / context_window
        filled = min(10, round(share * 10))
        lines.append(word("**Context** {bar} {used} / {window} tokens ({share})", bar="▰" * filled + "▱" * (10 - filled),
                          used=f"{used:,}", window=f"{context_window:,}", share=f"{share:.1%}"))
    else:
        lines.append(word("**Context** {used} tokens (window unknown for this model)", used=f"{used:,}"))
    if last and last.trimmed_turns:
        lines.append(word("{n} oldest turns were left out to fit the window", n=last.trimmed_turns))
    if rate_note():
        lines.append(f"<small>{rate_note(word=word)}</small>")
    return "\n\n".join(lines)
