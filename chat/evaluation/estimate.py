"""What a run will cost and how long it will take, before any call: per model and variant, low to high."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from chat.engine import Engine
from chat.engine.budget import DEFAULT_RESERVED_OUTPUT
from chat.engine.history import build_messages
from chat.engine.pricing import cost_of
from chat.engine.token_ratios import Ratio, our_count, script_of, sent_text
from chat.engine.usage import Usage
from chat.evaluation.questionsets import QuestionSet
from chat.evaluation.results import label
from chat.evaluation.runs import plan
from chat.storage import runs as queries
from chat.storage.runs import History
from chat.storage.scope import Scope
from chat.wording import english, format_money


@dataclass(frozen=True)
class Line:
    """One candidate (a model, asked one way): its calls and their cost and time, low, expected and high."""

    model: str
    variant: str | None
    calls: int
    input_tokens: int  # every call's prompt, counted with the tokenizer
    ratio: Ratio  # the vendor's tokens per token of our count (o200k_base) the input was taken at
    output_low: int  # the fewest output tokens this model has answered with in this log, x calls; 0 with none
    output_expected: int | None  # its mean output in this log x calls; None with no past answers
    output_high: int  # the max tokens each call may be sent (or what caps reserve) x calls
    cost_low: Decimal | None  # None: unpriced. A true lower bound: nothing cheaper can happen
    cost_expected: Decimal | None  # None: unpriced, or no past answers
    cost_high: Decimal | None  # None: unpriced
    seconds: float | None  # answering time summed over calls; None: never timed
    past_answers: int  # answers in the log the output and the time come from
    priced: bool
    local: bool  # answers one at a time, whatever the concurrency
    capped_output: bool = False  # no max tokens was given: the high assumes what caps reserve

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
    def cost_expected(self) -> Decimal | None:
        return None if any(line.cost_expected is None for line in self.lines) else sum(
            (line.cost_expected for line in self.lines), Decimal(0))

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
        return {"calls": self.calls, "cost_low_usd": money(self.cost_low),
                "cost_expected_usd": money(self.cost_expected), "cost_high_usd": money(self.cost_high),
                "wall_seconds": self.wall_seconds, "concurrency": self.concurrency,
                "models": [{"model": line.model, "variant": line.variant, "calls": line.calls,
                            "input_tokens": line.input_tokens, "counted_with": counted_with(line.ratio),
                            "output_tokens_low": line.output_low, "output_tokens_expected": line.output_expected,
                            "output_tokens_high": line.output_high, "output_high_assumed": line.capped_output,
                            "cost_low_usd": money(line.cost_low), "cost_expected_usd": money(line.cost_expected),
                            "cost_high_usd": money(line.cost_high),
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
            ratio = engine.token_ratio(model, script_of(sent_text(messages)))
            prompt_tokens[(*key, cell.question.id)] = (our_count(messages), ratio)
        n_in, ratio = prompt_tokens[(*key, cell.question.id)]
        tally = totals.setdefault(key, {"calls": 0, "inputs": [], "max_tokens": params["max_tokens"]})
        tally["calls"] += 1
        tally["inputs"].append((n_in, ratio))
    lines = [_line(engine, resolved[name], name, variant, tally, history.get(name))
             for (name, variant), tally in totals.items()]
    return Estimate(tuple(lines), concurrency)


def _line(engine: Engine, model, name: str, variant: str | None, tally: dict, past: History | None) -> Line:
    """One candidate's calls: low (nothing can cost less), expected (the log's mean answer), high (every answer as
    long as it may be)."""
    calls = tally["calls"]
    low_each = int(past.fewest_output or 0) if past else 0
    expected_each = round(past.mean_output) if past and past.mean_output is not None else None
    high_each = tally["max_tokens"] or DEFAULT_RESERVED_OUTPUT  # never the context window: no answer runs that long
    # our count in this vendor's tokens: at its ratio's mean for the expected, its interval's ends for low and high
    inputs = [ratio.tokens(n) for n, ratio in tally["inputs"]]
    fewest_in = [ratio.tokens(n, "low") for n, ratio in tally["inputs"]]
    most_in = [ratio.tokens(n, "high") for n, ratio in tally["inputs"]]
    seconds_each = _seconds_each(model, inputs, expected_each, past)
    cost_low = cost_expected = cost_high = None
    if model.price is not None:
        cost_low = _total(model, [(n, low_each) for n in fewest_in], 0.0)
        if expected_each is not None:
            cost_expected = _total(model, [(n, expected_each) for n in inputs], seconds_each)
        cost_high = sum((engine.budget.worst_case(model, n, high_each) for n in most_in), Decimal(0))
    return Line(name, variant, calls, sum(inputs), tally["inputs"][-1][1], low_each * calls,
                None if expected_each is None else expected_each * calls, high_each * calls, cost_low, cost_expected,
                cost_high, None if seconds_each is None else seconds_each * calls, past.answers if past else 0,
                model.price is not None, model.endpoint.facts.local, not tally["max_tokens"])


def counted_with(ratio, word=english) -> str:
    """How the input was counted: 'o200k_base ×1.32 (learned from 10 answers)', or '(prior: Anthropic Claude)'."""
    how = word("learned from {n} answers", n=f"{ratio.answers:,}") if ratio.source == "learned" else word(
        "prior: {family}", family=ratio.family)
    return f"o200k_base ×{ratio.mean:.2f} ({how})"


def _total(model, usages: list[tuple[int, int]], seconds: float | None) -> Decimal | None:
    costs = [cost_of(Usage(n_in, n_out), model.price, seconds) for n_in, n_out in usages]
    return None if None in costs else sum((c.total for c in costs), Decimal(0))


def _seconds_each(model, inputs: list[int], expected_out: int | None, past: History | None) -> float | None:
    """A call's time: a model on this machine reads this prompt and writes the expected answer at the rates it was
    measured at here; a remote one takes its logged mean."""
    if past is None:
        return None
    if model.endpoint.facts.local and past.read_per_s and past.write_per_s and expected_out is not None:
        prompt = sum(inputs) / len(inputs)
        return prompt / past.read_per_s + expected_out / past.write_per_s
    return past.mean_latency_ms / 1000 if past.mean_latency_ms is not None else None


def _tokens(n: int | None, word=english) -> str:
    return word("no bound") if n is None else f"{n:,}"


def _cost(low, expected, high, priced: bool, word=english) -> str:
    """'$0.010 – $0.050 (expected $0.020)'."""
    if not priced:
        return word("unpriced")
    money = lambda v: "?" if v is None else format_money(v, word=word)  # noqa: E731
    text = f"{money(low)} – {money(high)}"
    return text if expected is None else text + " " + word("(expected {cost})", cost=money(expected))


def duration(seconds: float | None, word=english) -> str:
    if seconds is None:
        return word("unknown (no past answers)")
    if seconds < 90:
        return word("{n} s", n=f"{seconds:,.0f}")
    if seconds < 5400:
        return word("{n} min", n=f"{seconds / 60:,.0f}")
    return word("{n} h", n=f"{seconds / 3600:,.1f}")


def about(seconds: float | None, word=english) -> str:
    """'about 3 min', or why the time is unknown: never 'about unknown'."""
    if seconds is None:
        return word("time unknown: none of these models has answered in this log yet")
    return word("about {time}", time=duration(seconds, word))


def table(est: Estimate, word=english) -> tuple[list[str], list[list[str]]]:
    """The estimate as a table: a row per candidate, then the run's total."""
    head = [word(h) for h in ("Model", "Calls", "Input tokens", "Output tokens (low – high)", "Cost (low – high)",
                              "Answering time", "From past answers")]
    rows = [[line.label, f"{line.calls:,}", f"{line.input_tokens:,} ({counted_with(line.ratio, word)})",
             f"{line.output_low:,} – {line.output_high:,}" + ("" if line.output_expected is None else " " + word(
                 "(expected {n})", n=f"{line.output_expected:,}")),
             _cost(line.cost_low, line.cost_expected, line.cost_high, line.priced, word), duration(line.seconds, word),
             f"{line.past_answers:,}"] for line in est.lines]
    priced = all(line.priced for line in est.lines)
    unpriced = ", ".join(line.label for line in est.lines if not line.priced)
    rows.append([word("All"), f"{est.calls:,}", "", "",
                 _cost(est.cost_low, est.cost_expected, est.cost_high, priced, word) if priced else
                 word("unpriced models: {models}", models=unpriced),
                 word("{time} at concurrency {n}", time=duration(est.wall_seconds, word), n=est.concurrency), ""])
    return head, rows


def summary_line(est: Estimate, word=english) -> str:
    """One sentence: calls, cost low to high (and expected), time."""
    priced = all(line.priced for line in est.lines)
    cost = _cost(est.cost_low, est.cost_expected, est.cost_high, True, word) if priced else word(
        "cost unknown: {models} unpriced", models=", ".join(line.label for line in est.lines if not line.priced))
    capped = [line for line in est.lines if line.capped_output]
    bound = "" if not capped or not priced else word(" (high: up to {n} tokens an answer, what caps reserve; set max "
                                                      "tokens to bound it yourself)", n=f"{DEFAULT_RESERVED_OUTPUT:,}")
    return word("{calls} calls · {cost}{bound} · {time} at concurrency {concurrency}", calls=f"{est.calls:,}",
                cost=cost, bound=bound, time=about(est.wall_seconds, word), concurrency=est.concurrency)


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
    return word("Estimated before the run: {calls} calls, {guessed}, {time}. Actual: {n} calls, {actual}.",
                calls=f"{est.get('calls', 0):,}", guessed=guessed, time=about(est.get("wall_seconds"), word),
                n=f"{len(spent):,}", actual=actual)
