"""Gradio components whose API input is checked, so a bad value gets a message naming the field."""
from __future__ import annotations

import math

import gradio as gr


class CheckedNumber(gr.Number):
    """gr.Number that answers 'abc', NaN or inf from the API with one line naming the field, not a bare Error."""

    is_template = True  # rendered by the browser as the gr.Number it extends

    def preprocess(self, payload):
        label = self.label or "number"
        if payload is None or payload == "":
            return None
        try:
            value = float(payload)
        except (TypeError, ValueError):
            raise gr.Error(f"{label} must be a number, got {str(payload)[:40]!r}") from None
        if not math.isfinite(value):
            raise gr.Error(f"{label} must be a finite number, got {payload!r}")
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise gr.Error(f"{label} must be from {self.minimum:g} to {self.maximum:g}, got {value:g}")
        return super().preprocess(value)


class CheckedSlider(gr.Slider):
    """gr.Slider that refuses NaN, inf and text from the API with one line naming the field."""

    is_template = True

    def preprocess(self, payload):
        label = self.label or "value"
        if payload is None:
            return None
        try:
            value = float(payload)
        except (TypeError, ValueError):
            raise gr.Error(f"{label} must be a number, got {str(payload)[:40]!r}") from None
        if not math.isfinite(value) or not self.minimum <= value <= self.maximum:
            raise gr.Error(f"{label} must be from {self.minimum:g} to {self.maximum:g}, got {payload!r}")
        return super().preprocess(value)
