"""Compare tab: one prompt to 2-4 models at once, each streaming in its own column; blind voting and rating."""

import copy
import queue
import random
import threading
import time
import uuid
from dataclasses import asdict

import gradio as gr

from chat.engine import BadRequest, ChatRequest, Chunk, Engine, Result, check_params
from chat.engine.options import MAX_TOKENS
from chat.evaluation.ratings import DEFAULT_RUBRIC, Rubric, RubricError, rate, vote
from chat.ui.bind import bind
from chat.ui.components import CheckedNumber
from chat.ui.display import cost_breakdown, meter_line
from chat.ui.i18n import info, language, refuse, say, t, words
from chat.ui.identity import check_rate, rater_name
from chat.ui.untrusted import inert, plain
from chat.wording import explain

MAX_COLUMNS = 4
UPDATE_INTERVAL_S = 0.1
LETTERS = "ABCD"


def new_compare() -> dict:
    return {"compare_id": None, "models": [], "ids": [], "records": [], "revealed": False, "blind": False}


def _label(state: dict, i: int) -> str:
    if i >= len(state["models"]):
        return ""
    word = words(state.get("lang"))
    mark = " · ✓ " + word("your vote") if state.get("voted") == i else ""  # lasts: the toast is gone in seconds
    if state["blind"] and not state["revealed"]:
        return "### " + word("Model {letter}", letter=LETTERS[i]) + mark
    return f"### {LETTERS[i]}: {plain(state['models'][i])}{mark}"


def _named(state: dict, i: int) -> str:
    """A column as people can see it now: its letter, and its model once names are shown."""
    if state["blind"] and not state["revealed"]:
        return words(state.get("lang"))("Model {letter}", letter=LETTERS[i])
    return f"{LETTERS[i]} ({state['models'][i]})"


def _meter(state: dict, i: int) -> str:
    record = state["records"][i] if i < len(state["records"]) else None
    if not record:
        return ""
    word = words(state.get("lang"))
    if state["blind"] and not state["revealed"]:
        # cost, tokens and speed would give the model away
        return f"<small>{word('meter hidden until you vote, rate or reveal')}</small>"
    return f"{meter_line(record, word)}\n\n<small>{cost_breakdown(record, word)}</small>"


def view(state: dict, texts: list[str]) -> list:
    """Column visibility, header, answer and meter for each of the four columns, then the state."""
    out = []
    for i in range(MAX_COLUMNS):
        used = i < len(state["models"])
        out += [gr.update(visible=used), _label(state, i), inert(texts[i]) if used else "", _meter(state, i)]
    return [*out, state]


def compare(engine: Engine, prompt: str, models: list[str], system: str, max_tokens, blind: bool, state: dict,
            request: gr.Request = None):
    """Stream every chosen model at once; yields the 4 columns and the compare state."""
    models, prompt, max_tokens = _checked(models, prompt, max_tokens, request)
    # the caller's browser session pays, so its cap holds across Chat, Compare and Runs
    caller = check_rate(engine, request, f"compare:{uuid.uuid4().hex}")
    order = list(models)
    if blind:
        random.shuffle(order)  # position must not give the model away
    state = {"compare_id": uuid.uuid4().hex, "models": order, "ids": [uuid.uuid4().hex for _ in order],
             "records": [None] * len(order), "revealed": False, "blind": bool(blind), "prompt": prompt,
             "lang": language(request)}
    texts = [""] * MAX_COLUMNS
    parts: list[list[str]] = [[] for _ in range(MAX_COLUMNS)]  # joined only when repainting
    yield view(state, texts)
    events: queue.Queue = queue.Queue()
    cancel = threading.Event()
    request_of = lambda i: ChatRequest(  # noqa: E731
        model=order[i], prompt=prompt, system=(system or "").strip() or None, max_tokens=max_tokens,
        session_id=f"compare:{state['compare_id']}", compare_id=state["compare_id"], exchange_id=state["ids"][i],
        **asdict(caller))
    for i in range(len(order)):
        threading.Thread(target=_column, args=(engine, request_of(i), i, events, cancel), daemon=True).start()
    running, last = len(order), 0.0

    def current() -> list:
        for n, record in enumerate(state["records"]):
            if record is None:  # finished columns keep their final text (with any error note)
                texts[n] = "".join(parts[n])
        return view(state, texts)

    try:
        while running:
            i, item = events.get()
            if item is None:
                running -= 1
            elif isinstance(item, Chunk):
                parts[i].append(item.text)
            elif isinstance(item, Result):
                state["records"][i] = item.record
                why = explain(item.failure, words(state["lang"])) if item.failure and not item.ok else ""
                texts[i] = item.record.reply + (f"\n\n⚠️ {why}" if why else "")
            if time.monotonic() - last >= UPDATE_INTERVAL_S or item is None or isinstance(item, Result):
                last = time.monotonic()
                yield current()
    finally:
        cancel.set()
    yield current()


def _checked(models, prompt, max_tokens, request) -> tuple[list[str], str, int | None]:
    """The form's models (2 to 4), prompt and max tokens, each checked; a refusal in the reader's words."""
    models = [m for m in (models or []) if isinstance(m, str) and m] if isinstance(models, list) else []
    prompt = (prompt or "").strip() if isinstance(prompt, str) else ""
    if not 2 <= len(models) <= MAX_COLUMNS:
        raise refuse(request, "choose 2 to {most} models to compare (you chose {n})", most=MAX_COLUMNS, n=len(models))
    if not prompt:
        raise refuse(request, "type a prompt to send to every model")
    try:
        _, max_tokens = check_params(None, max_tokens if max_tokens not in (None, "") else None)
    except BadRequest as exc:
        raise refuse(request, exc) from None
    return models, prompt, max_tokens


def _column(engine: Engine, req: ChatRequest, i: int, events: queue.Queue, cancel: threading.Event) -> None:
    """One model's stream, on a thread of its own, its items queued for the columns; None when it is done."""
    stream = engine.stream(req)
    try:
        for item in stream:
            if cancel.is_set():
                break
            events.put((i, item))
    finally:
        stream.close()  # logs the column as aborted if we stopped early
        events.put((i, None))


def reveal(state: dict):
    state = copy.deepcopy(state)
    state["revealed"] = True
    return view(state, [r.reply if r else "" for r in state["records"]] + [""] * (MAX_COLUMNS - len(state["records"])))


def cast_vote(engine: Engine, column: int, state: dict, typed_rater: str, request: gr.Request = None):
    """Record 'best' for one column; in blind mode this reveals the names."""
    if not state or column >= len(state.get("records", [])) or not state["records"][column]:
        raise refuse(request, "nothing to vote on yet: send a prompt first")
    rater = rater_name(typed_rater, request)
    if not rater:
        raise refuse(request, "type your name in 'Rater' so the vote can be attributed")
    vote(engine.store, state["compare_id"], state["ids"][column], rater, "best", state["blind"] and not state["revealed"])
    state = {**state, "voted": column, "revealed": True}  # a vote shows the names: the toast may say whose it was
    info(say("Vote recorded for {name}", language(request), name=_named(state, column)), language(request))
    return reveal(state)


def save_rating(engine: Engine, column: int, state: dict, typed_rater: str, request: gr.Request, *scores,
                rubric: Rubric = DEFAULT_RUBRIC):
    """Store this column's rubric scores. Blind stays blind, so every column can be rated before the names show
    (a vote or Reveal shows them). The rater is the login under --auth (Gradio passes request only to a
    positional parameter, so it comes before the scores)."""
    if not state or column >= len(state.get("records", [])) or not state["records"][column]:
        raise refuse(request, "nothing to rate yet: send a prompt first")
    rater = rater_name(typed_rater, request)
    if not rater:
        raise refuse(request, "type your name in 'Rater' so the rating can be attributed")
    chosen = complete_scores(rubric, scores, request)
    try:
        rate(engine.store, state["ids"][column], chosen, rubric, rater, blind=state["blind"] and not state["revealed"])
    except RubricError as exc:
        raise refuse(request, exc) from None
    info(say("Rating saved for {name}", language(request), name=_named(state, column)), language(request))
    if state["blind"] and not state["revealed"]:
        return view(state, [r.reply if r else "" for r in state["records"]] + [""] * (MAX_COLUMNS - len(state["records"])))
    return reveal(state)


def complete_scores(rubric: Rubric, scores, request: gr.Request | None = None) -> dict:
    """A person's scores, one per criterion, or gr.Error naming what is missing: a half rating would skew the means."""
    chosen = {c.id: s for c, s in zip(rubric.criteria, scores) if s is not None}
    if not chosen:
        raise refuse(request, "pick a score for at least one criterion")
    lang = language(request)
    missing = [say(c.label, lang) for c in rubric.criteria if c.id not in chosen]
    if missing:
        raise refuse(request, "score every criterion before saving; not scored yet: {missing}", missing=", ".join(missing))
    return chosen


def score_choices(rubric: Rubric) -> list:
    return [1, 2, 3, 4, 5] if rubric.scale == "1-5" else [("pass", 1), ("fail", 0)]


def build(engine: Engine, choices: list[tuple[str, str]], rubric: Rubric = DEFAULT_RUBRIC) -> gr.Textbox:
    """The Compare tab's components and wiring (called inside a gr.Tab); returns the rater box."""

    state = gr.State(new_compare)
    with gr.Row():
        models = gr.Dropdown(choices=choices, multiselect=True, max_choices=MAX_COLUMNS, label=t("Models (2–4)"),
                             allow_custom_value=True, scale=3, elem_id="compare-models")
        blind = gr.Checkbox(label=t("Blind: hide names until you vote, rate or reveal"), value=False, elem_id="compare-blind")
        rater = gr.Textbox(label=t("Rater"), placeholder=t("your name (or log in)"), scale=1, elem_id="compare-rater")
    with gr.Row():
        prompt = gr.Textbox(label=t("Prompt"), placeholder=t("One prompt, sent to every model at once; Enter sends"),
                            show_label=False,
                            scale=5, elem_id="compare-prompt")
        send = gr.Button(t("Send to all"), variant="primary", scale=1, elem_id="compare-send")
        stop = gr.Button(t("Stop"), scale=1, elem_id="compare-stop")
        reveal_btn = gr.Button(t("Reveal"), scale=1, elem_id="compare-reveal")
    with gr.Accordion(t("System prompt and max tokens"), open=False):
        system = gr.Textbox(label=t("System prompt"), lines=2)
        max_tokens = CheckedNumber.of(MAX_TOKENS, value=512, label=t("Max tokens"))
    columns, column_outputs = [], []
    with gr.Row():
        for i in range(MAX_COLUMNS):
            with gr.Column(visible=False, elem_id=f"compare-col-{i}") as col:
                head = gr.Markdown(elem_id=f"compare-head-{i}")
                answer = gr.Markdown(elem_id=f"compare-answer-{i}", min_height=120)
                meter = gr.Markdown(elem_id=f"compare-meter-{i}")
                best = gr.Button(t("Best answer"), size="sm", elem_id=f"compare-vote-{i}")
                with gr.Accordion(t("Rate"), open=False):
                    radios = [gr.Radio(score_choices(rubric), label=t(c.label), elem_id=f"compare-rate-{i}-{c.id}")
                              for c in rubric.criteria]
                    save = gr.Button(t("Save rating"), size="sm", elem_id=f"compare-save-{i}")
            columns.append((best, radios, save, i))
            column_outputs += [col, head, answer, meter]
    outputs = [*column_outputs, state]
    run = bind(compare, engine)
    ev = [send.click(run, [prompt, models, system, max_tokens, blind, state], outputs, concurrency_limit=None,
                     show_progress="hidden", api_name="compare"),
          prompt.submit(run, [prompt, models, system, max_tokens, blind, state], outputs, concurrency_limit=None,
                        show_progress="hidden", api_name=False)]
    stop.click(None, None, None, cancels=ev, api_name=False)
    reveal_btn.click(reveal, [state], outputs, api_name=False)
    for best, radios, save, i in columns:
        best.click(bind(cast_vote, engine, i), [state, rater], outputs, api_name=False)
        save.click(bind(save_rating, engine, i, rubric=rubric), [state, rater, *radios], outputs, api_name=False)
    return rater

