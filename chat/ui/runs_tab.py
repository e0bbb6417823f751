"""Runs tab: question sets across models with repeats, results tables and plots, blind rating, judge, export."""

import dataclasses
import html
import uuid
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pandas as pd

from chat.engine import Engine
from chat.engine.models import UnknownModel
from chat.engine.options import CACHE, CONCURRENCY, MAX_TOKENS, REPEATS, BadOption, Option
from chat.evaluation import report_files
from chat.evaluation.answers import CSS as ANSWERS_CSS
from chat.evaluation.answers import answers_html
from chat.evaluation.background import Live, Runner
from chat.evaluation.decision import ConstraintError
from chat.evaluation.estimate import beside_actual, duration, estimate, summary_line
from chat.evaluation.estimate import table as estimate_table
from chat.evaluation.projection import check_per_day, project
from chat.evaluation.questionsets import QuestionSet, QuestionSetError, Variant, load
from chat.evaluation.ratings import DEFAULT_RUBRIC, Rubric
from chat.evaluation.report import PALETTE, elsewhere_table, model_table, projection_table, question_table, rating_table
from chat.evaluation.results import candidates, label
from chat.evaluation.runs import RunError, create
from chat.evaluation.summary import list_runs
from chat.storage import runs as queries
from chat.ui import decision_view, downloads, rating_view
from chat.ui.access import Access, scope
from chat.ui.bind import bind
from chat.ui.components import CheckedNumber
from chat.ui.i18n import language, refuse, say, t, words
from chat.ui.identity import check_rate
from chat.ui.newest import newest
from chat.ui.untrusted import plain
from chat.ui.visible import visible_summary
from chat.wording import format_money

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example_sets() -> list[str]:
    return sorted(str(p.relative_to(EXAMPLES.parent)) for p in EXAMPLES.glob("*") if p.suffix in (".yaml", ".yml", ".csv", ".txt"))


def run_choices(engine: Engine, access: Access, request: gr.Request | None) -> list[tuple[str, str]]:
    """The runs this visitor may see: their own under --auth or on a shared link, every run locally."""
    return [(f"{r.id} · {r.set_name} · {', '.join(r.models)}", r.id)
            for r in list_runs(engine.store, scope(access, request))]


def _question_set(upload, example: str, system: str, request: gr.Request | None = None):
    path = upload if isinstance(upload, str) else getattr(upload, "name", None)
    name = Path(path).name if path else None  # the upload's own name: the server's temp path is nobody's business
    study = False  # an upload's `set:` would name a file on the server: only the app's own examples are studies
    if not path and example:
        if example not in example_sets():
            raise refuse(request, "no example {name}; pick one from the list", name=repr(str(example)[:80]))
        path, name, study = str(EXAMPLES.parent / example), example, True
    if not path:
        raise refuse(request, "upload a question set (YAML, CSV or one question per line) or pick an example")
    try:
        return load(path, system=(system or "").strip() or None if isinstance(system, str) else None, name=name,
                    study=study)
    except QuestionSetError as exc:
        raise refuse(request, exc) from None


def _whole(value, option: Option, default: int | None = None, request: gr.Request | None = None) -> int | None:
    """A Runs tab number checked by its one declaration; empty means the default."""
    try:
        return option.check(default if value in (None, "") else value)
    except BadOption as exc:
        raise refuse(request, exc) from None


def _with_prompts(qs: QuestionSet, second, third) -> QuestionSet:
    """The set asked with a second or third system prompt too: each prompt becomes a variant of the run."""
    extra = [p.strip() for p in (second, third) if isinstance(p, str) and p.strip()]
    if not extra:
        return qs
    prompts = [qs.system, *extra]
    return replace(qs, variants=tuple(Variant(f"prompt-{i}", text) for i, text in enumerate(prompts, 1)))


def _plan(engine: Engine, access: Access, request, upload, example, system, models, repeats, concurrency, max_tokens,
          resume, second, third, cache=""):
    """The run the form describes, checked: its set, models, numbers, resume id and the estimate of what is left."""
    repeats = _whole(repeats, REPEATS, 1, request)
    concurrency = _whole(concurrency, CONCURRENCY, 1, request)
    max_tokens = _whole(max_tokens, MAX_TOKENS, None, request)
    models = [m for m in models if isinstance(m, str) and m] if isinstance(models, list) else []
    resume = (resume or "").strip()[:100] or None if isinstance(resume, str) else None
    qs = _with_prompts(_question_set(upload, example, system, request), second, third)
    if cache:
        try:
            qs = dataclasses.replace(qs, cache=CACHE.check(cache))
        except BadOption as exc:
            raise refuse(request, exc) from None
    if not models:
        raise refuse(request, "choose at least one model")
    done = set()
    if resume:
        if queries.run(engine.store, resume, scope(access, request)) is None:
            raise refuse(request, "no run {run}", run=repr(resume))
        done = queries.answered_cells(engine.store, resume)
    try:
        est = estimate(engine, qs, models, repeats, concurrency, max_tokens, done=done, scope=scope(access, request))
    except UnknownModel as exc:
        raise refuse(request, exc) from None
    return qs, models, repeats, concurrency, max_tokens, resume, est


def estimate_markdown(est, lang: str = "en") -> str:
    word = words(lang)
    head, rows = estimate_table(est, word)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(plain(c) for c in row) + " |" for row in rows]
    return (word("**Estimate before any call** · {line}", line=plain(summary_line(est, word)))
            + "\n\n" + "\n".join(lines) + "\n\n" + word(
                "Low: nothing can cost less (each answer as short as the model's shortest in this log, none with no "
                "past answers); expected: the model's mean answer length in this log; high: every answer running to "
                "max tokens."))


def show_estimate(engine: Engine, access: Access, upload, example, system, models, repeats, concurrency, max_tokens,
                  resume, second="", third="", cache="", request: gr.Request = None):
    """What the run in the form would cost and take, low to high; nothing is asked of any model."""
    if not models or not (upload or example):
        return say("Pick a question set and models to see what the run will cost before it starts.", language(request))
    try:
        *_, est = _plan(engine, access, request, upload, example, system, models, repeats, concurrency, max_tokens,
                        resume, second, third, cache)
    except gr.Error as exc:
        return plain(html.unescape(str(exc.message)))  # the toast's text (escaped for HTML) shown as Markdown
    return estimate_markdown(est, language(request))


def live_status(live: Live, lang: str = "en") -> str:
    """A run's progress in one line: answers, failures, spend against the estimate, time left, state."""
    word = words(lang)
    high = word("no bound") if live.estimate_high is None else format_money(live.estimate_high, word=word)
    money = (word("spend unknown (unpriced models)") if live.unpriced else
             word("{spent} spent of {high} at most", spent=format_money(live.spent, word=word), high=high))
    left = "" if live.seconds_left is None else word(" · about {time} left", time=duration(live.seconds_left, word))
    state = {"starting": word("starting"), "running": word("running"), "done": word("done"),
             "cancelled": word("cancelled — resume with this run id"),
             "stopped": word("stopped with the app — resume with this run id"),
             "failed": word("failed ({error}) — resume with this run id", error=plain(live.error))}[live.state]
    return word("**Run `{run}`** · {done}/{total} answers · {failed} failed · {skipped} skipped (already done) · "
                "{money}{left} · {state}", run=live.run_id, done=live.done, total=live.total, failed=live.failed,
                skipped=live.skipped, money=money, left=left, state=state)


def start_run(engine: Engine, access: Access, upload, example, system, models, repeats, concurrency, max_tokens, resume,
              second="", third="", cache="", request: gr.Request = None, progress=gr.Progress(),
              runner: Runner | None = None):
    """Start (or resume) a question set on a server thread, then follow it: a status line at each answer, and
    the run picker pointing at the run. Closing or reloading the page stops only the following; Cancel stops
    the run."""
    runner = runner or Runner()
    caller = check_rate(engine, request, f"runs:{uuid.uuid4().hex}")
    # a status first, and a large file is read after the user sees something happen
    yield say("Reading the question set…", language(request)), gr.update()
    qs, models, repeats, concurrency, max_tokens, resume, est = _plan(
        engine, access, request, upload, example, system, models, repeats, concurrency, max_tokens, resume, second, third,
        cache)
    try:
        run_id = create(engine, qs, models, repeats, concurrency, max_tokens, None, resume,
                        caller=caller, scope=scope(access, request), estimate=est.as_json())
    except (RunError, UnknownModel) as exc:
        raise refuse(request, exc) from None
    live = runner.start(engine, run_id, qs, models, repeats, concurrency, max_tokens, caller, est.cost_high)
    # the picker points at the run at once: Cancel and a reopened page find it there
    lang = language(request)
    yield live_status(live, lang), gr.update(choices=run_choices(engine, access, request), value=run_id)
    while live.running:
        live = runner.wait(run_id, live, timeout=1.0)
        if live.total:
            progress((live.done, live.total), desc=say("run {run}", lang, run=run_id), unit=say("answers", lang))
        yield live_status(live, lang), gr.update()
    yield live_status(live, lang), gr.update(choices=run_choices(engine, access, request), value=run_id)


def cancel_run(engine: Engine, access: Access, run_id: str, request: gr.Request = None, runner: Runner | None = None):
    """Stop the chosen run (one the visitor may see): cells in flight end at their next chunk and are logged."""
    if not run_id:
        raise refuse(request, "pick the run to cancel")
    visible_summary(engine, access, request, run_id)  # within the visitor's scope, or not found
    if runner is None or not runner.cancel(run_id):
        return gr.update()
    lang = language(request)
    return live_status(runner.wait(run_id, None, 0) or Live(run_id), lang) + say(" · cancelling…", lang)


def follow(engine: Engine, access: Access, run_id: str, seen: str | None, request: gr.Request = None,
           runner: Runner | None = None, rubric: Rubric = DEFAULT_RUBRIC):
    """The timer's look at the chosen run when the server has it (started from this page or another, before a
    reload): while it runs, its status and results fill in; once it has ended, one last refresh, then nothing.
    `seen` is what this page last showed, 'run id:state'."""
    live = runner.get(run_id) if runner and run_id else None
    if live is None or (not live.running and seen == f"{run_id}:{live.state}"):
        return gr.skip(), seen, False, gr.Timer(active=False), *[gr.skip()] * 8
    try:
        results = show_results(engine, access, run_id, request, rubric)
    except gr.Error:  # not the visitor's run
        return gr.skip(), seen, False, gr.Timer(active=False), *[gr.skip()] * 8
    # after the run's end, this last refresh; then the timer stops
    return live_status(live, language(request)), f"{run_id}:{live.state}", True, gr.Timer(active=live.running), *results


def watch(run_id: str | None, runner: Runner | None = None) -> gr.Timer:
    """The timer runs only while the picked run is running on the server: an idle page asks nothing (it asked
    twice every 2 s, which a class of 50 idle pages turned into 50 events a second)."""
    live = runner.get(run_id) if runner and run_id else None
    return gr.Timer(active=live is not None and live.running)


def decide_followed(engine: Engine, access: Access, fresh: bool, run_id, cached, max_ttft, max_latency,
                    min_acceptable_pct, max_cost, per_day, max_monthly, max_failure_pct=None,
                    request: gr.Request = None, *min_scores, rubric: Rubric = DEFAULT_RUBRIC):
    """The decision view brought up to date after the timer refreshed a running run's results."""
    if not fresh:
        return (gr.skip(),) * 6
    return decision_view.show_decision(engine, access, run_id, cached, max_ttft, max_latency, min_acceptable_pct,
                                       max_cost, per_day, max_monthly, max_failure_pct, request, *min_scores,
                                       rubric=rubric)


def _df(head, rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=head)


def _blank(table) -> pd.DataFrame:
    """A table's headers and no rows."""
    return pd.DataFrame(columns=table[0])


def show_results(engine: Engine, access: Access, run_id: str, request: gr.Request = None,
                 rubric: Rubric = DEFAULT_RUBRIC):
    """Tables and plot data for a run: per model, latency vs cost, cost bars, latency spread, consistency, ratings
    (the run picked last, not one picked before it whose answer came late)."""
    return newest("results", request, lambda: _results(engine, access, run_id, request, rubric))


def _results(engine: Engine, access: Access, run_id: str, request: gr.Request = None, rubric: Rubric = DEFAULT_RUBRIC):
    if not run_id:
        # no points: the charts get None (_plots), and the frames only carry the columns
        scatter = pd.DataFrame({"model": pd.Series(dtype=str), "latency_ms": pd.Series(dtype=float),
                                "cost_usd": pd.Series(dtype=float)})
        latency = scatter[["model", "latency_ms"]]
        word = words(language(request))
        blank = lambda table: _df(table[0], [])  # noqa: E731
        return (word("Pick a run."), blank(model_table([], word)), *_plots(scatter, scatter[["model", "cost_usd"]],
                                                                             latency, word),
                blank(question_table([], word)), blank(rating_table([], [c.id for c in rubric.criteria], word)),
                blank(elsewhere_table([], engine.prices, word, engine.ratios)))
    s = visible_summary(engine, access, request, run_id, rubric)
    priced = [m for m in s.models if m.cost_per_question is not None and m.latency_p50_ms is not None]
    # plain column names: Vega-Lite reads spaces and brackets in field names as paths
    scatter = pd.DataFrame({"model": [m.label for m in priced],
                            "latency_ms": [m.latency_p50_ms for m in priced],
                            "cost_usd": [float(m.cost_per_question) for m in priced]})
    bars = scatter[["model", "cost_usd"]]
    ok = [r for r in s.rows if r.status == "ok"]
    latency = pd.DataFrame({"model": [label(r.model, r.variant) for r in ok], "latency_ms": [r.latency_ms for r in ok]})
    criteria = [c.id for c in s.rubric.criteria]
    word = words(language(request))
    unpriced = [m.label for m in s.models if m.cost_per_question is None]
    note = word(" · unpriced (not plotted): {models}", models=plain(", ".join(unpriced))) if unpriced else ""
    guessed = beside_actual(s.run, s.rows, word)
    header = word("**Run `{run}`** · {set} · {n} answers · {repeats} repeats", run=run_id,
                  set=plain(s.run.set_name), n=len(s.rows), repeats=s.run.repeats) + note + (
        f"\n\n{guessed}" if guessed else "")
    return (header, _df(*model_table(s.models, word)), *_plots(scatter, bars, latency, word),
            _df(*question_table(s.questions, word)), _df(*rating_table(s.ratings, criteria, word)),
            _df(*elsewhere_table(s.rows, engine.prices, word, engine.ratios)))


def _plots(scatter: pd.DataFrame, bars: pd.DataFrame, latency: pd.DataFrame, word) -> tuple:
    """The three charts' data with their axis and legend titles in the reader's words."""
    # room past the largest point on both axes: at the data's own maximum, its point was cut in half
    room = lambda column: [0, float(scatter[column].max()) * 1.15 if len(scatter) else None]  # noqa: E731
    # no data is None, never an empty frame: a chart first sent an empty frame draws no points from later data
    shown = lambda frame: frame if len(frame) else None  # noqa: E731
    cost, model = word("cost per question (USD)"), word("model")
    # one colour per candidate on both charts (each would otherwise colour by its own order of rows)
    names = sorted({*scatter["model"], *latency["model"]})
    colours = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    return (gr.update(value=shown(scatter), x_lim=room("latency_ms"), y_lim=room("cost_usd"), color_map=colours,
                      x_title=word("median latency (ms)"), y_title=cost, color_title=model),
            gr.update(value=shown(bars), x_title=model, y_title=cost),
            gr.update(value=shown(latency), x_title=word("latency (ms)"), y_title=model, color_title=model,
                      color_map=colours))


def show_answers(engine: Engine, access: Access, run_id: str, per_day, request: gr.Request = None,
                 rubric: Rubric = DEFAULT_RUBRIC):
    """The projection at the volume typed last, and every answer side by side per question."""
    return newest("answers", request, lambda: _answers(engine, access, run_id, per_day, request, rubric))


def _answers(engine: Engine, access: Access, run_id: str, per_day, request: gr.Request = None,
             rubric: Rubric = DEFAULT_RUBRIC):
    if not run_id:
        return pd.DataFrame(), ""
    try:
        per_day = check_per_day(per_day)
    except ValueError as exc:
        raise refuse(request, exc) from None
    s = visible_summary(engine, access, request, run_id, rubric)
    word = words(language(request))
    table = _df(*projection_table(project(s.models, engine.prices, per_day), per_day, word))
    page = answers_html(list(s.question_set.questions), s.rows, s.scores, candidates(s.run), word=word)
    return table, f"<style>{ANSWERS_CSS}</style>{page}"


def export(engine: Engine, access: Access, run_id: str, per_day=1000, request: gr.Request = None, max_ttft=None,
           max_latency=None, min_acceptable_pct=None, max_cost=None, max_monthly=None, max_failure_pct=None,
           *min_scores, rubric: Rubric = DEFAULT_RUBRIC):
    """The report (leading with the decision under the view's constraints), its blind twin and the key."""
    if not run_id:
        raise refuse(request, "pick a run first")
    try:
        per_day = check_per_day(per_day)
    except ValueError as exc:
        raise refuse(request, exc) from None
    constraints = decision_view.constraints_from(max_ttft, max_latency, min_acceptable_pct, max_cost, per_day,
                                                 max_monthly, min_scores, rubric, request, max_failure_pct)
    out = downloads.new_folder("chat-report-")
    summary = visible_summary(engine, access, request, run_id, rubric)
    try:
        # the report in the reader's language: the page's, for the managers it is sent on to
        html_path = report_files.write_report(summary, out, engine.prices, per_day, constraints,
                                              word=words(language(request)),
                                   ratios=engine.ratios)[1]
    except ConstraintError as exc:
        raise refuse(request, exc) from None
    csv_path = html_path.with_suffix(".csv")
    _, blind_path, key_path = report_files.write_blind(summary, out, engine.prices, per_day,
                                                       word=words(language(request)))
    # the reports people open first; the CSV and the key to the letters after them
    return [str(html_path), str(blind_path), str(csv_path), str(key_path)]


def refresh_runs(engine: Engine, access: Access, current: str | None, request: gr.Request = None,
                 runner: Runner | None = None):
    """The run picker brought up to date, keeping the chosen run (else one of the visitor's still running, else
    the newest): a page reopened during a run finds it."""
    choices = run_choices(engine, access, request)
    ids = [value for _, value in choices]
    running = [run_id for run_id in (runner.running() if runner else []) if run_id in ids]
    value = current if current in ids else (running[0] if running else ids[0] if ids else None)
    return gr.update(choices=choices, value=value)


def build(engine: Engine, choices: list[tuple[str, str]], tab: gr.Tab, access: Access,
          rubric: Rubric = DEFAULT_RUBRIC, runner: Runner | None = None) -> gr.Textbox:
    """The Runs tab's components and wiring (called inside the gr.Tab it is given); returns the rater box.
    `runner` holds the app's runs in flight, so they outlive the pages that start them."""
    ui = SimpleNamespace()
    _form(ui, choices)
    _run_picker(ui)
    ui.decide_handler, ui.decide_inputs, ui.decide_outputs, ui.constraint_boxes, ui.per_day = decision_view.build(
        engine, access, ui.picker, rubric)
    _tables(ui, engine, rubric)
    rating_view.build(ui, choices, rubric)
    _wire_run(ui, engine, access, tab, rubric, runner or Runner())
    # a rating saved re-reads the decision, the results and the answers
    rating_view.wire(ui, engine, access, rubric, [
        (ui.decide_handler, ui.decide_inputs, ui.decide_outputs),
        (bind(show_results, engine, access, rubric=rubric), [ui.picker], ui.results),
        (bind(show_answers, engine, access, rubric=rubric), [ui.picker, ui.per_day], [ui.projection, ui.answers])])
    return ui.rater


def _form(ui: SimpleNamespace, choices: list[tuple[str, str]]) -> None:
    """The run's form: a question set, its system prompts, models, numbers, resume, cache; Run and Cancel."""
    with gr.Row():
        with gr.Column():
            ui.upload = gr.File(label=t("Question set (YAML, CSV or .txt)"), file_types=[".yaml", ".yml", ".csv", ".txt"],
                                elem_id="run-upload")
            ui.example = gr.Dropdown(example_sets(), label=t("…or an example"), value=None, elem_id="run-example")
            ui.system = gr.Textbox(label=t("System prompt (overrides the set's own)"), lines=2)
            with gr.Accordion(t("Compare system prompts (variants)"), open=False):
                ui.second = gr.Textbox(label=t("Second system prompt"), lines=2, elem_id="run-second-prompt",
                                       placeholder=t("each prompt becomes a variant: every model answers with each"))
                ui.third = gr.Textbox(label=t("Third system prompt"), lines=2, elem_id="run-third-prompt")
        with gr.Column():
            ui.models = gr.Dropdown(choices=choices, multiselect=True, label=t("Models"), allow_custom_value=True,
                                    elem_id="run-models")
            with gr.Row():
                ui.repeats = CheckedNumber.of(REPEATS, value=3, label=t("Repeats"), elem_id="run-repeats")
                ui.concurrency = CheckedNumber.of(CONCURRENCY, value=4, label=t("Concurrency"))
                ui.max_tokens = CheckedNumber.of(MAX_TOKENS, value=512, label=t("Max tokens"))
            ui.resume = gr.Textbox(label=t("Resume run id (optional: finished answers are skipped)"))
            # '' keeps the set's own cache: line (auto unless it says off)
            ui.cache = gr.Radio([(t("as the set says"), ""), (t("auto"), "auto"), (t("off"), "off")], value="",
                                label=t("Prompt cache (marks the system prompt where the vendor must be asked)"),
                                elem_id="run-cache")
            with gr.Row():
                ui.go = gr.Button(t("Run"), variant="primary", elem_id="run-go")
                ui.cancel = gr.Button(t("Cancel"), elem_id="run-cancel")
    ui.form = [ui.upload, ui.example, ui.system, ui.models, ui.repeats, ui.concurrency, ui.max_tokens, ui.resume,
               ui.second, ui.third, ui.cache]


def _run_picker(ui: SimpleNamespace) -> None:
    """The estimate, the run's status line, which run's results are shown, and its report files."""
    ui.plan_md = gr.Markdown(t("Pick a question set and models to see what the run will cost before it starts."),
                             elem_id="run-estimate")
    ui.status = gr.Markdown(elem_id="run-status")
    with gr.Row():
        ui.picker = gr.Dropdown([], value=None, label=t("Results of run"), elem_id="run-picker", scale=4)
        ui.refresh = gr.Button(t("Refresh"), scale=1)
        ui.export_btn = gr.Button(t("Export CSV + HTML report (and a blind one)"), scale=1, elem_id="run-export")
    ui.files = gr.File(label=t("Report files"), file_count="multiple", elem_id="run-files")
    ui.header = gr.Markdown(elem_id="run-header")


def _tables(ui: SimpleNamespace, engine: Engine, rubric: Rubric) -> None:
    """The run's results: per model, three charts, consistency, ratings, elsewhere, the projection."""
    # headers from the start: an empty table otherwise reads "1 2 3"
    ui.per_model = gr.Dataframe(_blank(model_table([])), label=t("Per model"), elem_id="run-per-model",
                                interactive=False)
    # a row of its own: beside the bars, the right-hand points and the legend were cut off
    # axis titles come with the data, in the reader's words (_plots); no fixed height, which cut the legend off
    ui.scatter = gr.ScatterPlot(x="latency_ms", y="cost_usd", color="model", label=t("Latency against cost"),
                                elem_id="run-scatter", x_lim=[0, None], y_lim=[0, None])
    ui.bars = gr.BarPlot(x="model", y="cost_usd", label=t("Cost per question"), elem_id="run-bars")
    ui.latency = gr.ScatterPlot(x="latency_ms", y="model", color="model", label=t("Latency distribution"),
                                elem_id="run-latency")
    ui.per_question = gr.Dataframe(_blank(question_table([])), interactive=False,
                                   label=t("Consistency across repeats (per question × model)"))
    ui.ratings = gr.Dataframe(_blank(rating_table([], [c.id for c in rubric.criteria])),
                              label=t("Ratings (human and judge apart)"), interactive=False, elem_id="run-ratings")
    ui.elsewhere = gr.Dataframe(_blank(elsewhere_table([], engine.prices, ratios=engine.ratios)),
                                label=t("What this run's text would cost on other models (its tokens translated through "
                                        "each model's ratio to our count)"),
                                interactive=False)
    ui.projection = gr.Dataframe(_blank(projection_table([], 1000)),
                                 label=t("Projected monthly cost (30 days) and where a self-hosted machine breaks even"),
                                 interactive=False, elem_id="run-projection")
    ui.results = [ui.header, ui.per_model, ui.scatter, ui.bars, ui.latency, ui.per_question, ui.ratings, ui.elsewhere]


def _wire_run(ui: SimpleNamespace, engine: Engine, access: Access, tab: gr.Tab, rubric: Rubric, runner: Runner):
    """The estimate following the form; Run, Cancel and a run followed from any page; the results and the
    decision of the picked run."""
    results, decide = ui.results, (ui.decide_handler, ui.decide_inputs, ui.decide_outputs)
    show = bind(show_results, engine, access, rubric=rubric)
    for part in ui.form:
        # the estimate follows the form; the text boxes only once typing stops, so a keystroke counts nothing
        trigger = part.blur if isinstance(part, gr.Textbox) else part.change
        trigger(bind(show_estimate, engine, access), ui.form, ui.plan_md, api_name=False, show_progress="hidden")
    # the status line is the progress (answers, spend so far, time left): Gradio's own overlay would grey it out and
    # cover it with a second, vaguer progress text
    ui.run_event = ui.go.click(bind(start_run, engine, access, runner=runner), ui.form, [ui.status, ui.picker],
                               concurrency_limit=None, api_name="run", show_progress="hidden")
    ui.run_event.then(show, [ui.picker], results, api_name=False)
    ui.cancel.click(bind(cancel_run, engine, access, runner=runner), [ui.picker], ui.status, cancels=[ui.run_event],
                    api_name=False)
    # a run goes on on the server when its page closes: a reopened page (or another tab) follows it from here
    seen, fresh, timer = gr.State(None), gr.State(False), gr.Timer(2.0, active=False)
    timer.tick(bind(follow, engine, access, runner=runner, rubric=rubric), [ui.picker, seen],
               [ui.status, seen, fresh, timer, *results], api_name=False, show_progress="hidden").then(
        bind(decide_followed, engine, access, rubric=rubric), [fresh, *ui.decide_inputs], ui.decide_outputs,
        api_name=False, show_progress="hidden")
    ui.picker.change(bind(watch, runner=runner), [ui.picker], timer, api_name=False, show_progress="hidden")
    ui.picker.change(show, [ui.picker], results, api_name=False)
    ui.picker.change(*decide, api_name=False)
    ui.run_event.then(*decide, api_name=False)
    # opening the tab lists the runs made since the page loaded (other sessions and the CLI included)
    for trigger in (ui.refresh.click, tab.select):
        trigger(bind(refresh_runs, engine, access, runner=runner), [ui.picker], ui.picker, api_name=False).then(
            show, [ui.picker], results, api_name=False)
    ui.export_btn.click(bind(export, engine, access, rubric=rubric), [ui.picker, ui.per_day, *ui.constraint_boxes],
                        ui.files, api_name=False)
    answers = bind(show_answers, engine, access, rubric=rubric)
    for trigger in (ui.picker.change, ui.per_day.submit, ui.per_day.blur, ui.run_event.then):
        trigger(answers, [ui.picker, ui.per_day], [ui.projection, ui.answers], api_name=False)
