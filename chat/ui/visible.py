"""What a visitor may see of a run: its summary within their scope, or a refusal that reads as no run at all."""
from __future__ import annotations

import gradio as gr

from chat.engine import Engine
from chat.evaluation.ratings import DEFAULT_RUBRIC, Rubric
from chat.evaluation.runs import RunError
from chat.evaluation.summary import RunSummary, summarize
from chat.ui.access import Access, scope
from chat.ui.i18n import refuse


def visible_summary(engine: Engine, access: Access, request: gr.Request | None, run_id: str,
                    rubric: Rubric = DEFAULT_RUBRIC) -> RunSummary:
    """The run's summary within the visitor's scope: another's run reads as no run (gr.Error)."""
    try:
        return summarize(engine.store, run_id, rubric, scope(access, request))
    except RunError as exc:
        raise refuse(request, exc) from None
