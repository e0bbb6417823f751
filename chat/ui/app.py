"""The Gradio app: module-level handlers (testable without a browser) and the Blocks that wire them."""
from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import asdict
from types import SimpleNamespace

import gradio as gr
from gradio.i18n import I18nData

from chat.engine import MAX_PROMPT_CHARS, ChatRequest, Chunk, Engine, Result, Waiting
from chat.engine.config import default_model
from chat.engine.models import LOCAL_DEFAULT, UnknownModel, listed
from chat.engine.options import MAX_TOKENS, TEMPERATURE
from chat.engine.tokens import preload_soon
from chat.evaluation.ratings import DEFAULT_RUBRIC, Rubric
from chat.ui import compare_tab, logs_tab, runs_tab
from chat.ui.access import Access
from chat.ui.bind import bind
from chat.ui.components import ChatLog, CheckedNumber, CheckedSlider
from chat.ui.display import price_text
from chat.ui.downloads import KEEP_S
from chat.ui.i18n import CATALOGUE, LANGS, language, say, t, words
from chat.ui.identity import check_rate
from chat.ui.login_guard import LOGOUT_JS
from chat.ui.session import account, fork, history, new_session, panel, render
from chat.wording import english, reworded

# A fast model streams 1,000+ tokens/s; the browser needs far fewer repaints than that. With many
# streams at once the interval stretches, so total repaints stay about constant and the CPU keeps up.
UI_UPDATE_INTERVAL_S = 0.08
UI_UPDATES_PER_S_BUDGET = 150
_active = {"streams": 0}
_active_lock = threading.Lock()


def _update_interval() -> float:
    with _active_lock:
        streams = _active["streams"]
    return max(UI_UPDATE_INTERVAL_S, streams / UI_UPDATES_PER_S_BUDGET)
PROVIDER_LABELS = {"local": "Local", "openai": "OpenAI", "azure": "Azure OpenAI", "anthropic": "Anthropic",
                   "bedrock": "AWS Bedrock", "bedrock-converse": "AWS Bedrock (Converse)",
                   "azure-ai": "Azure AI Foundry", "gemini": "Gemini", "ollama": "Ollama", "openrouter": "OpenRouter"}


def model_choices(engine: Engine, word=english) -> tuple[list[tuple[str, str]], list[str]]:
    """(usable models as (label, name), grouped by provider; one line per unusable provider saying why), labelled
    in the reader's words."""
    usable, blocked = [], {}
    models = listed(engine.prices, default_model()) + [engine.resolve(name) for name in engine.local.offered()]
    order = list(PROVIDER_LABELS)
    models.sort(key=lambda m: (order.index(m.endpoint.name) if m.endpoint.name in order else len(order), m.name))
    for model in models:
        ok, why = model.status()
        provider = word(PROVIDER_LABELS.get(model.endpoint.name, model.endpoint.name))
        if ok:
            # the embedded model is a 135M English model: a reader of another language is told before asking
            english_only = word(" · answers in English only") if model.name == LOCAL_DEFAULT and \
                getattr(word, "lang", "en") != "en" else ""
            usable.append((f"{provider} · {model.name} · {price_text(model.price, word)}{english_only}", model.name))
        else:
            blocked.setdefault((provider, why), []).append(model.name)
    # what to set, as the endpoint said it (its variables' names stay as they are)
    unusable = [f"**{provider}** — {reworded(why, word)}: {', '.join(names)}" for (provider, why), names in blocked.items()]
    return usable, unusable


def model_hint() -> I18nData:
    """Under the model menu: how to name any other model, and for a reader of another language than English, that
    the embedded model answers in English only and what to pick instead."""
    hint = {lang: say("Type endpoint:model for any other model, e.g. ollama:llama3.2", lang) for lang in LANGS}
    return CATALOGUE.pair({lang: text if lang == "en" else text + " " + say(
        "The embedded model {model} answers in English only: for questions in your language, pick an API model, or "
        "a multilingual GGUF file as local:/path/to/model.gguf.", lang, model=LOCAL_DEFAULT)
        for lang, text in hint.items()})


def labelled_choices(engine: Engine) -> tuple[list[tuple[I18nData, str]], I18nData | None]:
    """The model menus' choices and the unusable models' note, labelled in each reader's language."""
    found = {lang: model_choices(engine, words(lang)) for lang in LANGS}
    usable = [(CATALOGUE.pair({lang: found[lang][0][i][0] for lang in LANGS}), name)
              for i, (_, name) in enumerate(found["en"][0])]
    listing = lambda lines: "\n".join(f"- {line}" for line in lines)  # noqa: E731
    unusable = {lang: listing(found[lang][1]) for lang in LANGS}
    return usable, CATALOGUE.pair(unusable) if found["en"][1] else None


def context_window(engine: Engine, model: str) -> int | None:
    try:
        return engine.resolve(model).context_window
    except (UnknownModel, ValueError):
        return None


def _outputs(engine, state, model, textbox=None):
    textbox = gr.skip() if textbox is None else textbox
    return render(state, engine.prices, engine), state, textbox, panel(state, context_window(engine, model))


def respond(engine: Engine, message: str, state: dict, model: str, system: str, temperature, max_tokens,
            cache="auto", request: gr.Request = None):
    """Stream one reply into the chat; yields (chatbot, state, question box).

    The session panel is not an output: Gradio builds a new component for every skipped output on every
    repaint, so it is refreshed once after the reply instead (show_panel). The box is emptied by the first
    yield and skipped after, so a follow-up typed during the reply is left alone.
    """
    message = (message or "").strip() if isinstance(message, str) else ""
    state = fork(state)
    state["lang"] = language(request)  # the meter and the panel speak the reader's language
    if not message:
        yield render(state, engine.prices, engine), state, gr.skip()
        return
    caller = check_rate(engine, request, state["session_id"])
    turn = {"id": uuid.uuid4().hex, "prompt": message, "reply": "", "status": "streaming", "record": None, "model": model}
    prior = history(state)
    state["turns"].append(turn)
    yield render(state, engine.prices, engine), state, ""
    req = ChatRequest(
        model=model or default_model(),
        prompt=message,
        system=(system or "").strip() or None if isinstance(system, str) else None,
        history=tuple(prior),
        # checked by the engine, which logs a bad value as an error naming the field
        max_tokens=max_tokens if max_tokens not in (None, "") else None,
        temperature=temperature if temperature not in (None, "") else None,
        cache=cache or None,  # the engine checks it, as it does the numbers
        session_id=state["session_id"],
        exchange_id=turn["id"],
        **asdict(caller),
    )
    last = time.monotonic()
    parts: list[str] = []  # joined only when repainting, so each chunk costs O(1)
    with _active_lock:
        _active["streams"] += 1
    try:
        for item in engine.stream(req):
            if isinstance(item, Chunk):
                parts.append(item.text)
                # the first text goes out at once: time to first token is what people feel most
                if len(parts) == 1 or time.monotonic() - last >= _update_interval():
                    last = time.monotonic()
                    turn["reply"] = "".join(parts)
                    turn.pop("waiting", None)
                    yield render(state, engine.prices, engine), gr.skip(), gr.skip()
            elif isinstance(item, Waiting):
                turn["waiting"] = item.ahead
                yield render(state, engine.prices, engine), gr.skip(), gr.skip()
            elif isinstance(item, Result):
                turn["record"], turn["status"], turn["reply"] = item.record, item.status, item.record.reply
                turn["failure"] = item.failure
                turn.pop("waiting", None)
                account(state, item.record)
    finally:
        with _active_lock:
            _active["streams"] -= 1
    yield render(state, engine.prices, engine), state, gr.skip()


def show_panel(engine: Engine, state: dict, model: str, request: gr.Request = None) -> str:
    """The session panel (totals, context gauge), refreshed after each reply and when the page opens."""
    state = state if isinstance(state, dict) and "turns" in state else new_session()
    return panel({**state, "lang": language(request)}, context_window(engine, model))


def on_open(engine: Engine, state: dict, model: str, request: gr.Request = None) -> str:
    """A page opens: its session panel, and the tokenizer loading in the background for the estimates it will ask
    for (the app's start does not wait for it)."""
    preload_soon()
    return show_panel(engine, state, model, request)


def after_stop(engine: Engine, state: dict, model: str, wait_s: float = 5.0):
    """After Stop: show the stopped turn with the row the engine logged for it."""
    state = fork(state)
    for turn in state["turns"]:
        if turn["status"] != "streaming":
            continue
        deadline = time.monotonic() + wait_s
        row = None
        while (row is None or row.status == "streaming") and time.monotonic() < deadline:
            engine.store.flush(timeout=1)
            row = engine.store.exchange(turn["id"])
            if row is None or row.status == "streaming":
                time.sleep(0.05)  # the generator is closed a moment after the cancel
        if row is None or row.status == "streaming":
            turn["status"] = "aborted"
            continue
        turn["record"], turn["status"], turn["reply"] = row, row.status, row.reply or ""
        account(state, row)
    return _outputs(engine, state, model)


def undo(engine: Engine, state: dict, model: str):
    """Drop the last turn and put its question back in the box."""
    state = fork(state)
    prompt = state["turns"].pop()["prompt"] if state["turns"] else ""
    return _outputs(engine, state, model, prompt)


# Retry is Undo followed by sending the restored question again (the next step in the event chain).
pop_for_retry = undo


def clear(engine: Engine, state: dict, model: str):
    """Forget the conversation; the session's totals stay (they are what was spent)."""
    state = fork(state)
    state["turns"] = []
    return _outputs(engine, state, model, "")


def takes_temperature(engine: Engine, model: str) -> bool:
    try:
        return engine.resolve(model).takes_temperature
    except (UnknownModel, ValueError):
        return True


def on_model_change(engine: Engine, state: dict, model: str, request: gr.Request = None):
    """The context gauge for the new model, and the temperature slider greyed out where the model takes none."""
    sampling = takes_temperature(engine, model)
    info = None if sampling else say("{model} takes no temperature; none is sent", language(request), model=model)
    return panel(state or new_session(), context_window(engine, model)), gr.update(interactive=sampling, info=info)


CSS = """
#meter-panel {font-size: 0.9em}
#unavailable {opacity: 0.6; font-size: 0.85em}
/* the Logs table is read-only: a click opens the row, so it shows a chosen row, not an edit box on one cell */
#logs-table [role=gridcell] {cursor: pointer}
#logs-table .cell-selected, #logs-table .cell-selected * {box-shadow: none !important}
#logs-table .selection-button {display: none !important}
"""


def _toast_titles() -> str:
    """A toast's title is its type as Gradio spells it ("Info", "Error"): a reader of another language gets it in
    theirs, drawn by CSS over the English (the page is marked with the reader's language once it loads)."""
    rules = []
    for lang in LANGS[1:]:
        page = f".reader-{lang} .toast-title"
        rules += [f"{page}.info, {page}.error, {page}.warning {{font-size: 0}}",
                  f"{page}::before {{font-size: var(--text-md, 14px)}}",
                  *(f"{page}.{kind.lower()}::before {{content: {json.dumps(say(kind, lang), ensure_ascii=False)}}}"
                    for kind in ("Info", "Error", "Warning"))]
    return "\n".join(rules) + "\n"


CSS += _toast_titles()
# the reader's language, as the server decided it (chat.ui.i18n.language), on the page for what only CSS can reach
READER_LANG_JS = "(lang) => { document.documentElement.classList.add('reader-' + lang); }"


def reader_language(request: gr.Request = None) -> str:
    return language(request)


DEFAULT_TITLE = "LLM chat meter"


def build_app(engine: Engine, title: str = DEFAULT_TITLE, rubric: Rubric = DEFAULT_RUBRIC,
              access: Access = Access(), tz: str | None = None) -> gr.Blocks:
    """The app. `tz` (--tz) shows every time in that zone; without it each reader sees their browser's."""
    usable, unusable = labelled_choices(engine)
    names = [value for _, value in usable]
    wanted = default_model()
    selected = wanted if wanted in names else (LOCAL_DEFAULT if LOCAL_DEFAULT in names else (names[0] if names else wanted))
    # uploads and downloads in Gradio's cache are removed after an hour, and all of them when the app restarts
    with gr.Blocks(title=title, delete_cache=(KEEP_S, KEEP_S)) as demo:
        ui = SimpleNamespace(state=gr.State(new_session))
        gr.Markdown(t("## {title}", title=title) if title == DEFAULT_TITLE else f"## {title}")
        gr.Markdown(t("Every reply is metered — tokens, cost, time to first token, total time, tokens/s — and logged."))
        if access.auth:  # a POST, never a link: no page content can log its reader out (login_guard.PostOnlyLogout)
            gr.Button(t("Log out"), size="sm", elem_id="logout").click(None, js=LOGOUT_JS)
        with gr.Tab(t("Chat")):
            _chat_tab(ui, engine, usable, unusable, selected)
        _wire_chat(ui, engine)
        with gr.Tab(t("Compare")):
            compare_rater = compare_tab.build(engine, usable, rubric)
        with gr.Tab(t("Runs")) as runs:
            runs_rater = runs_tab.build(engine, usable, runs, access, rubric)
        with gr.Tab(t("Logs")) as logs:
            # the reader's time zone: --tz, else the browser's, read once the page loads (the log keeps UTC)
            reader_tz = gr.Textbox(value=tz or "", visible=False, elem_id="reader-tz")
            logs_tab.build(engine, logs, access, reader_tz)
        demo.load(logged_in_user, None, [compare_rater, runs_rater], api_name=False)
        demo.load(bind(on_open, engine), [ui.state, ui.model], ui.meter, api_name=False,
                  show_progress="hidden")  # in the reader's words
        reader_lang = gr.Textbox(visible=False, elem_id="reader-lang")
        demo.load(reader_language, None, reader_lang, api_name=False, show_progress="hidden").then(
            None, reader_lang, None, js=READER_LANG_JS)
        if not tz:
            demo.load(None, None, reader_tz, js="() => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'")
    return demo


def _chat_tab(ui: SimpleNamespace, engine: Engine, usable, unusable, selected: str) -> None:
    """The Chat tab: the conversation, the question box and its buttons, the meter; the model and its settings."""
    with gr.Row():
        with gr.Column(scale=3):
            ui.chatbot = ChatLog(label=t("Chat"), height=520, buttons=["copy", "copy_all"], elem_id="chatbot",
                                 feedback_options=None)
            with gr.Row():
                ui.box = gr.Textbox(label=t("Your question"), placeholder=t("Ask something and press Enter"),
                                    show_label=False, scale=5, elem_id="prompt", submit_btn=False,
                                    max_length=MAX_PROMPT_CHARS)
                ui.send = gr.Button(t("Send"), variant="primary", scale=1, elem_id="send")
            with gr.Row():
                ui.stop = gr.Button(t("Stop"), elem_id="stop")
                ui.retry = gr.Button(t("Retry"), elem_id="retry")
                ui.undo = gr.Button(t("Undo"), elem_id="undo")
                ui.clear = gr.Button(t("Clear"), elem_id="clear")
            ui.meter = gr.Markdown(panel(new_session(), context_window(engine, selected)), elem_id="meter-panel")
        with gr.Column(scale=1):
            ui.model = gr.Dropdown(choices=usable, value=selected, label=t("Model"), allow_custom_value=True,
                                   info=model_hint(), elem_id="model")
            ui.system = gr.Textbox(label=t("System prompt"), lines=4, elem_id="system")
            sampling = takes_temperature(engine, selected)
            ui.temperature = CheckedSlider.of(
                TEMPERATURE, value=0.7, step=0.05, label=t("Temperature"), elem_id="temperature", interactive=sampling,
                info=None if sampling else t("{model} takes no temperature; none is sent", model=selected))
            ui.max_tokens = CheckedNumber.of(MAX_TOKENS, value=512, label=t("Max tokens"), elem_id="max-tokens")
            ui.cache = gr.Radio([(t("auto"), "auto"), (t("off"), "off")], value="auto", elem_id="cache",
                                label=t("Prompt cache (marks the system prompt where the vendor must be asked)"))
            if unusable:
                with gr.Accordion(t("Unavailable models"), open=False):
                    gr.Markdown(unusable, elem_id="unavailable")


def _wire_chat(ui: SimpleNamespace, engine: Engine) -> None:
    """Send (the /chat API), Retry, Stop, Undo, Clear, and the meter after each; a model change re-reads the gauge."""
    outputs = [ui.chatbot, ui.state, ui.box, ui.meter]
    inputs = [ui.box, ui.state, ui.model, ui.system, ui.temperature, ui.max_tokens, ui.cache]
    run = bind(respond, engine)
    refresh = bind(show_panel, engine)
    # the streaming text is the progress indicator; Gradio's own overlay would only flicker over it
    streaming = dict(concurrency_limit=None, show_progress="hidden")
    send_events = [
        ui.box.submit(run, inputs, [ui.chatbot, ui.state, ui.box], api_name="chat", **streaming),
        ui.send.click(run, inputs, [ui.chatbot, ui.state, ui.box], api_name=False, **streaming),
    ]
    retry_event = ui.retry.click(bind(pop_for_retry, engine), [ui.state, ui.model], outputs, api_name=False).then(
        run, inputs, [ui.chatbot, ui.state, ui.box], api_name=False, **streaming)
    for event in (*send_events, retry_event):
        event.then(refresh, [ui.state, ui.model], ui.meter, api_name=False, show_progress="hidden")
    ui.stop.click(None, None, None, cancels=[*send_events, retry_event], api_name=False).then(
        bind(after_stop, engine), [ui.state, ui.model], outputs, api_name=False
    )
    ui.undo.click(bind(undo, engine), [ui.state, ui.model], outputs, api_name=False)
    ui.clear.click(bind(clear, engine), [ui.state, ui.model], outputs, api_name=False)
    ui.chatbot.clear(bind(clear, engine), [ui.state, ui.model], outputs, api_name=False)
    ui.model.change(bind(on_model_change, engine), [ui.state, ui.model], [ui.meter, ui.temperature], api_name=False)


def logged_in_user(request: gr.Request = None):
    """With --auth on, ratings and votes are attributed to the login, filled in for the user."""
    name = getattr(request, "username", None)
    return (name, name) if name else (gr.skip(), gr.skip())
