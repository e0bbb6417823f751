"""The Runs tab's rating: the blind rater (one unrated answer at a time, the model hidden until saved) and the judge
model that pre-fills ratings, kept apart from people's."""

import random
import uuid
from types import SimpleNamespace

import gradio as gr

from chat.engine import Engine
from chat.engine.models import UnknownModel
from chat.evaluation.judge import JudgeCapped, judge
from chat.evaluation.questionsets import thawed
from chat.evaluation.ratings import DEFAULT_RUBRIC, Rubric, RubricError, rate
from chat.storage import runs as queries
from chat.ui.access import Access
from chat.ui.bind import bind
from chat.ui.compare_tab import complete_scores, score_choices
from chat.ui.i18n import language, refuse, say, t, words
from chat.ui.identity import check_rate, rater_name
from chat.ui.untrusted import inert, plain
from chat.ui.visible import visible_summary
from chat.wording import Worded


def next_unrated(engine: Engine, access: Access, run_id: str, rater: str, blind: bool, request: gr.Request = None):
    """An answer of the run this rater has not rated yet, with the model hidden in blind mode."""
    rater = rater_name(rater, request)  # the login under --auth: a typed name cannot speak for someone else
    if not run_id:
        raise refuse(request, "pick a run first")
    if not rater:
        raise refuse(request, "type your name in 'Rater' so ratings can be attributed")
    run = visible_summary(engine, access, request, run_id).run  # within the visitor's scope, or not found
    word = words(language(request))
    rows = queries.unrated(engine.store, run_id, rater, "human")
    if not rows:
        return None, word("All answers of this run are rated by you."), "", ""
    row = random.choice(rows)
    who = word("hidden (blind)") if blind else plain(row.model)
    # the question and the reference are text someone else wrote: each its own block, rendered inert
    question = word("**Question** ({id}):", id=plain(row.question_id)) + "\n\n" + inert(row.prompt)
    # 'contains the answer' is judged against the reference, so the rater sees it beside the answer
    reference = next((q.reference for q in thawed(run.set_json).questions if q.id == row.question_id),
                     None)
    if reference:
        question += "\n\n" + word("**Reference answer**:") + "\n\n" + inert(reference)
    return ({"id": row.id, "blind": bool(blind), "model": row.model}, question,
            inert(row.reply), word("Model: {who} · {n} left to rate", who=who, n=len(rows)))


def save_answer_rating(engine: Engine, current: dict, rater: str, request: gr.Request, *scores,
                       rubric: Rubric = DEFAULT_RUBRIC):
    """One rater's scores for the answer shown; the rater is the login under --auth (Gradio passes request
    only to a positional parameter, so it comes before the scores)."""
    rater = rater_name(rater, request)
    if not current:
        raise refuse(request, "press 'Next answer' first")
    chosen = complete_scores(rubric, scores, request)
    try:
        rate(engine.store, current["id"], chosen, rubric, rater, blind=current["blind"])
    except RubricError as exc:
        raise refuse(request, exc) from None
    if current["blind"]:  # naming it now would unblind every rating that follows
        return say("Saved. The model stays hidden while Blind is ticked.", language(request))
    return say("Saved. That answer was from **{model}**.", language(request), model=plain(current["model"]))


def judge_run(engine: Engine, access: Access, run_id: str, judge_model: str, request: gr.Request = None,
              progress=gr.Progress(), rubric: Rubric = DEFAULT_RUBRIC):
    """Pre-fill judge ratings for every answer of the run the judge has not rated yet."""
    if not run_id or not judge_model:
        raise refuse(request, "pick a run and a judge model")
    run = visible_summary(engine, access, request, run_id).run
    caller = check_rate(engine, request, f"judge:{uuid.uuid4().hex}")
    engine.store.flush()
    rows = queries.unrated(engine.store, run_id, judge_model, "judge")
    refs = {q.id: q.reference for q in thawed(run.set_json).questions}
    done, failed, capped = 0, [], None
    word = words(language(request))
    for row in progress.tqdm(rows, desc=word("judging with {model}", model=judge_model)):
        try:
            judge(engine, judge_model, row, refs.get(row.question_id), rubric, caller)
            done += 1
        except JudgeCapped as exc:
            capped = exc.scope  # every later call would be turned down too: stop asking
            break
        except (ValueError, UnknownModel) as exc:
            failed.append(exc.worded(word) if isinstance(exc, Worded) else word(str(exc)))
    engine.store.flush()
    text = word("Judge {model} rated {n} answers.", model=plain(judge_model), n=done)
    if capped:
        text += " " + word(CAPPED[capped], n=len(rows) - done - len(failed))
    if failed:
        text += " " + word("{n} could not be rated (first reason: {why}).", n=len(failed), why=plain(failed[0]))
    return text


# why the judge stopped, by the cap that stopped it
CAPPED = {"day": "{n} not rated: the daily spend cap was reached.",
          "session": "{n} not rated: this session's spend cap was reached.",
          "user": "{n} not rated: your spend cap was reached."}


def build(ui: SimpleNamespace, choices: list[tuple[str, str]], rubric: Rubric) -> None:
    """The answers side by side, the blind rater, and the judge model."""
    # closed while rating blind: the answers there carry the models' names, right above the rater
    with gr.Accordion(t("Answers, side by side"), open=False) as ui.side_by_side:
        ui.answers = gr.HTML(elem_id="run-answers")
    with gr.Accordion(t("Rate answers"), open=False):
        ui.current = gr.State(None)
        with gr.Row():
            ui.rater = gr.Textbox(label=t("Rater"), placeholder=t("your name"), elem_id="run-rater")
            ui.blind = gr.Checkbox(label=t("Blind (hide the model)"), value=True, elem_id="run-blind")
            ui.nxt = gr.Button(t("Next answer"), elem_id="run-next")
        ui.question = gr.Markdown(elem_id="run-question")
        ui.answer = gr.Markdown(elem_id="run-answer")
        ui.who = gr.Markdown(elem_id="run-who")
        ui.radios = [gr.Radio(score_choices(rubric), label=t(c.label), elem_id=f"run-rate-{c.id}")
                     for c in rubric.criteria]
        ui.save = gr.Button(t("Save rating"), elem_id="run-save")
        ui.saved = gr.Markdown(elem_id="run-saved")
    with gr.Accordion(t("Judge model (pre-fills ratings, shown apart from human ones)"), open=False):
        with gr.Row():
            ui.judge_model = gr.Dropdown(choices=choices, label=t("Judge model"), allow_custom_value=True)
            ui.judge_btn = gr.Button(t("Judge every answer of the run"))
        ui.judged = gr.Markdown()


def wire(ui: SimpleNamespace, engine: Engine, access: Access, rubric: Rubric, after: list[tuple]) -> None:
    """The blind rater and the judge; after a rating is saved or the judge is done, each of `after` (a handler,
    its inputs and outputs) runs: the decision, then the results and the answers in turn."""
    ui.blind.change(lambda hidden: gr.update(open=not hidden), ui.blind, ui.side_by_side, api_name=False)
    ui.nxt.click(bind(next_unrated, engine, access), [ui.picker, ui.rater, ui.blind],
                 [ui.current, ui.question, ui.answer, ui.who], api_name=False)
    saving = ui.save.click(bind(save_answer_rating, engine, rubric=rubric), [ui.current, ui.rater, *ui.radios],
                           ui.saved, api_name=False)
    judging = ui.judge_btn.click(bind(judge_run, engine, access, rubric=rubric), [ui.picker, ui.judge_model], ui.judged,
                                 api_name=False)
    first, *chained = after
    for done in (saving, judging):
        done.then(*first, api_name=False)
        step = done
        for fn, inputs, outputs in chained:
            step = step.then(fn, inputs, outputs, api_name=False)
