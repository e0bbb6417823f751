"""What a run will cost and how long it will take, before any call: per model and variant, low to high."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from chat.engine import Engine
from chat.engine.budget import DEFAULT_RESERVED_OUTPUT
from chat.engine.history import build_messages
from chat.engine.pricing import cost_of
from chat.engine.tokens import count_messages
from chat.engine.usage import Usage
from chat.evaluation.questionsets import QuestionSet
from chat.evaluation.results import label
from chat.evaluation.runs import plan
from chat.storage import runs as queries
from chat.storage.scope import Scope
from chat.wording import english, format_money


@dataclass(frozen=True)
class Line:
    """One candidate (a model, asked one way): its calls and their cost and time, low to high."""

    model: str
    variant: str | None
    calls: int
    input_tokens: int  # every call's prompt, counted with the tokenizer
    counted_with: str  # tiktoken:<encoding>, or heuristic
    output_low: int  # the model's mean output in this log x calls; 0 with no past answers
    output_high: int | None  # the max tokens each call may be sent x calls; None: no bound is known
    cost_low: Decimal | None  # None: unpriced
    cost_high: Decimal | None  # None: unpriced, or no bound
    seconds: float | None  # answering time summed over calls, at the logged mean latency; None: never timed
    past_answers: int  # answers in the log the low output and the time come from
    priced: bool
    local: bool  # answers one at a time, whatever the concurrency

    @property
    def label(self) -> str:
        return label(self.model, self.variant)


@dataclass(frozen=True)
class Estimate:
    lines: tuple[Line, ...]
    concurrency: int

    @property
    def calls(self) -> int:
        return sum(line.calls for line in self.lines)

    @property
    def cost_low(self) -> Decimal | None:
        """None when any candidate is unpriced: the run's total cannot be bounded."""
        return None if any(line.cost_low is None for line in self.lines) else sum(
            (line.cost_low for line in self.lines), Decimal(0))

    @property
    def cost_high(self) -> Decimal | None:
        return None if any(line.cost_high is None for line in self.lines) else sum(
            (line.cost_high for line in self.lines), Decimal(0))

    @property
    def wall_seconds(self) -> float | None:
        """Time to the last answer: the work spread over `concurrency` slots, but a local model's one at a time."""
        if not self.lines or any(line.seconds is None for line in self.lines if line.calls):
            return None
        work = sum(line.seconds for line in self.lines)
        serial = sum(line.seconds for line in self.lines if line.local)
        return max(work / self.concurrency, serial)

    def as_json(self) -> dict:
        money = lambda d: None if d is None else float(d)  # noqa: E731
        return {"calls": self.calls, "cost_low_usd": money(self.cost_low), "cost_high_usd": money(self.cost_high),
                "wall_seconds": self.wall_seconds, "concurrency": self.concurrency,
                "models": [{"model": line.model, "variant": line.variant, "calls": line.calls,
                            "input_tokens": line.input_tokens, "counted_with": line.counted_with,
                            "output_tokens_low": line.output_low, "output_tokens_high": line.output_high,
                            "cost_low_usd": money(line.cost_low), "cost_high_usd": money(line.cost_high),
                            "seconds": line.seconds, "past_answers": line.past_answers} for line in self.lines]}


def estimate(engine: Engine, qs: QuestionSet, models: list[str], repeats: int, concurrency: int,
             max_tokens: int | None = None, temperature: float | None = None,
             done: set | frozenset = frozenset(), scope: Scope = Scope()) -> Estimate:
    """The estimate for the cells of a run not in `done` (a resumed run's finished ones); makes no call."""
    resolved = {name: engine.resolve(name) for name in models}  # UnknownModel says what to fix
    history = queries.answer_history(engine.store, models, scope)
    totals: dict[tuple[str, str | None], dict] = {}
    prompt_tokens: dict[tuple[str, str | None, str], tuple[int, str]] = {}
    for cell in plan(qs, models, repeats):
        if cell.key in done:
            continue
        model = resolved[cell.model]
        params = cell.request_params(qs, max_tokens, temperature)
        key = (cell.model, params["variant"])
        if (*key, cell.question.id) not in prompt_tokens:  # repeats send the same prompt
            messages, _ = build_messages(params["system"], [], cell.question.text, model.api_model,
                                         model.context_window, params["max_tokens"])
            prompt_tokens[(*key, cell.question.id)] = count_messages(messages, model.api_model)
        n_in, method = prompt_tokens[(*key, cell.question.id)]
        t = totals.setdefault(key, {"calls": 0, "inputs": [], "method": method, "max_tokens": params["max_tokens"]})
        t["calls"] += 1
        t["inputs"].append(n_in)
    lines = []
    for (name, variant), t in totals.items():
        model = resolved[name]
        n, mean_out, mean_latency = history.get(name, (0, None, None))
        calls, inputs = t["calls"], t["inputs"]
        low_each = round(mean_out or 0)
        seconds_each = mean_latency / 1000 if mean_latency is not None else None
        cost_low = cost_high = None
        high_each = []
        for n_in in inputs:
            bound = t["max_tokens"] or (DEFAULT_RESERVED_OUTPUT if engine.budget.active else None) or \
                (model.context_window - n_in if model.context_window else None)
            high_each.append(bound)
        output_high = None if None in high_each else sum(high_each)
        if model.price is not None:
            low = [cost_of(Usage(n_in, low_each), model.price, seconds_each) for n_in in inputs]
            cost_low = None if None in low else sum((c.total for c in low), Decimal(0))
            if output_high is not None:
                cost_high = sum((engine.budget.worst_case(model, n_in, out) for n_in, out in zip(inputs, high_each)),
                                Decimal(0))
        lines.append(Line(name, variant, calls, sum(inputs), t["method"], low_each * calls, output_high, cost_low,
                          cost_high, None if seconds_each is None else seconds_each * calls, n, model.price is not None,
                          model.endpoint.facts.local))
    return Estimate(tuple(lines), concurrency)


def _tokens(n: int | None, word=english) -> str:
    return word("no bound") if n is None else f"{n:,}"


def _cost(line_or_total_low, high, priced: bool, word=english) -> str:
    if not priced:
        return word("unpriced")
    low_text = "?" if line_or_total_low is None else format_money(line_or_total_low, word=word)
    return f"{low_text} – {word('no bound') if high is None else format_money(high, word=word)}"


def duration(seconds: float | None, word=english) -> str:
    if seconds is None:
        return word("unknown (no past answers)")
    if seconds < 90:
        return word("{n} s", n=f"{seconds:,.0f}")
    if seconds < 5400:
        return word("{n} min", n=f"{seconds / 60:,.0f}")
    return word("{n} h", n=f"{seconds / 3600:,.1f}")


def table(est: Estimate, word=english) -> tuple[list[str], list[list[str]]]:
    """The estimate as a table: a row per candidate, then the run's total."""
    head = [word(h) for h in ("Model", "Calls", "Input tokens", "Output tokens (low – high)", "Cost (low – high)",
                              "Answering time", "From past answers")]
    rows = [[line.label, f"{line.calls:,}", f"{line.input_tokens:,} ({line.counted_with})",
             f"{line.output_low:,} – {_tokens(line.output_high, word)}",
             _cost(line.cost_low, line.cost_high, line.priced, word), duration(line.seconds, word),
             f"{line.past_answers:,}"] for line in est.lines]
    priced = all(line.priced for line in est.lines)
    unpriced = ", ".join(line.label for line in est.lines if not line.priced)
    rows.append([word("All"), f"{est.calls:,}", "", "", _cost(est.cost_low, est.cost_high, priced, word) if priced else
                 word("unpriced models: {models}", models=unpriced),
                 word("{time} at concurrency {n}", time=duration(est.wall_seconds, word), n=est.concurrency), ""])
    return head, rows


def summary_line(est: Estimate, word=english) -> str:
    """One sentence: calls, cost low to high, time."""
    priced = all(line.priced for line in est.lines)
    cost = _cost(est.cost_low, est.cost_high, True, word) if priced else word(
        "cost unknown: {models} unpriced", models=", ".join(line.label for line in est.lines if not line.priced))
    bound = "" if est.cost_high is not None or not priced else word(" (no upper bound: set max tokens)")
    return word("{calls} calls · {cost}{bound} · about {time} at concurrency {concurrency}", calls=f"{est.calls:,}",
                cost=cost, bound=bound, time=duration(est.wall_seconds, word), concurrency=est.concurrency)


def beside_actual(run, rows, word=english) -> str | None:
    """The estimate a run was started with, set beside what it really cost and took; None for a run with none."""
    est = run.params.get("estimate")
    if not est:
        return None
    spent = [r.cost_usd for r in rows if r.status != "streaming"]
    actual = word("unpriced") if not spent or any(c is None for c in spent) else format_money(
        sum((Decimal(c) for c in spent), Decimal(0)), word=word)
    low, high = est.get("cost_low_usd"), est.get("cost_high_usd")
    money = lambda v: "?" if v is None else format_money(Decimal(str(v)), word=word)  # noqa: E731
    guessed = word("unpriced") if low is None else f"{money(low)} – {word('no bound') if high is None else money(high)}"
    return word("Estimated before the run: {calls} calls, {guessed}, about {time}. Actual: {n} answers, {actual}.",
                calls=f"{est.get('calls', 0):,}", guessed=guessed, time=duration(est.get("wall_seconds"), word),
                n=f"{len(spent):,}", actual=actual)
