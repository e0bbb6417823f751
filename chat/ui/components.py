"""Gradio components whose API input is checked, so a bad value gets a message naming the field."""
from __future__ import annotations

import math

import gradio as gr
from gradio.components.chatbot import ChatbotDataMessages
from gradio.i18n import I18nData

from chat.engine.options import BadOption, Option
from chat.ui.i18n import CATALOGUE
from chat.ui.session import ChatView
from chat.ui.untrusted import as_html_text


class _Checked:
    """A number component whose API input is checked by an option's one declaration, or by its own bounds."""

    option: Option | None = None

    def _check(self, payload):
        if self.option is not None:
            try:
                return self.option.check(None if payload == "" else payload)
            except BadOption as exc:
                raise gr.Error(as_html_text(exc)) from None
        label = label_text(self.label)
        if payload is None or payload == "":
            return None
        try:
            value = float(payload)
        except (TypeError, ValueError):
            raise gr.Error(as_html_text(f"{label} must be a number, got {str(payload)[:40]!r}")) from None
        if not math.isfinite(value):
            raise gr.Error(as_html_text(f"{label} must be a finite number, got {payload!r}"))
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise gr.Error(as_html_text(f"{label} must be from {self.minimum:g} to {self.maximum:g}, got {value:g}"))
        return value


def label_text(label) -> str:
    """A component's label as words: a label in the reader's language (chat.ui.i18n.t) is a key Gradio's page
    translates, which an f-string would show as Gradio's '__i18n__{…}' marker; its English stands in here (the
    check runs before any handler, where no reader's language is known)."""
    if isinstance(label, I18nData):
        return CATALOGUE.entries.get(label.key, {}).get("en") or "number"
    return str(label or "number")


class CheckedNumber(gr.Number, _Checked):  # the Gradio base first: the browser renders it as that
    """gr.Number that answers 'abc', NaN or inf from the API with one line naming the field, not a bare Error."""

    is_template = True  # rendered by the browser as the gr.Number it extends

    # no __init__ of its own: Gradio builds a component's config from its constructor's signature
    @classmethod
    def of(cls, option: Option, **kwargs) -> CheckedNumber:
        """A number box bounded and checked by the option's one declaration."""
        box = cls(**{"minimum": option.low, "maximum": option.high, "precision": 0 if option.whole else None, **kwargs})
        box.option = option
        return box

    def preprocess(self, payload):
        value = self._check(payload)
        return None if value is None else super().preprocess(value)


class CheckedSlider(gr.Slider, _Checked):
    """gr.Slider that refuses NaN, inf and text from the API with one line naming the field."""

    is_template = True

    @classmethod
    def of(cls, option: Option, **kwargs) -> CheckedSlider:
        """A slider bounded and checked by the option's one declaration."""
        slider = cls(**{"minimum": option.low, "maximum": option.high, **kwargs})
        slider.option = option
        return slider

    def preprocess(self, payload):
        value = self._check(payload)
        return None if value is None else super().preprocess(value)


class ChatLog(gr.Chatbot):
    """gr.Chatbot that converts a finished turn once, not on every repaint of every later reply.

    Gradio's Chatbot re-validates and re-formats the whole history each time a streaming reply repaints,
    so at the 20th question a repaint cost several times what it did at the first. A finished turn no
    longer changes: its converted messages are kept with the turn in the session's state, and only the
    streaming turn is converted each time.
    """

    is_template = True  # rendered by the browser as the gr.Chatbot it extends

    def postprocess(self, value):
        if not isinstance(value, ChatView) or not value.finished:
            return super().postprocess(value)
        done, start = [], 0
        for turn, count in value.finished:
            shown = turn.get("shown")
            if shown is None or shown[0] != count:
                shown = turn["shown"] = (count, super().postprocess(value[start:start + count]).root)
            done += shown[1]
            start += count
        return ChatbotDataMessages(root=[*done, *super().postprocess(value[start:]).root])
