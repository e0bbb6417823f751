"""A judge model pre-fills rubric scores with a rationale; stored apart from human ratings."""
from __future__ import annotations

import json
import re
from dataclasses import asdict

from chat.engine import Caller, ChatRequest, Engine, Result
from chat.evaluation.ratings import Rubric, rate
from chat.failures import CapReached, Refused
from chat.storage.rows import Exchange

_JSON = re.compile(r"\{.*\}", re.S)


class JudgeCapped(ValueError):
    """A spend cap turned the judge's call down before it was sent: every later call would be turned down too."""

    def __init__(self, scope: str):
        super().__init__(f"the {scope} spend cap was reached")
        self.scope = scope  # day | session | user


def judge_prompt(question: str, answer: str, reference: str | None, rubric: Rubric) -> str:
    scale = "an integer from 1 (poor) to 5 (excellent)" if rubric.scale == "1-5" else "1 (pass) or 0 (fail)"
    criteria = "\n".join(f'- "{c.id}": {c.label}' for c in rubric.criteria)
    ref = f"\nReference answer:\n{reference}\n" if reference else ""
    return (
        f"Rate the assistant's answer to the user's question on each criterion, each as {scale}.\n"
        f"Criteria:\n{criteria}\n\nQuestion:\n{question}\n{ref}\nAnswer to rate:\n{answer}\n\n"
        'Reply with JSON only: {"scores": {"<criterion id>": <score>, ...}, "rationale": "<one or two sentences>"}'
    )


def parse_verdict(text: str, rubric: Rubric) -> tuple[dict[str, float], str]:
    """Scores and rationale from the judge's reply; ValueError if it did not follow the format."""
    match = _JSON.search(text or "")
    if not match:
        raise ValueError("the judge did not reply with JSON")
    try:
        data = json.loads(match.group(0))
    except ValueError:
        raise ValueError("the judge's JSON could not be read") from None
    if not isinstance(data, dict) or not isinstance(data.get("scores") or {}, dict):
        raise ValueError("the judge's JSON has no 'scores' mapping")
    scores = {}
    for c in rubric.criteria:
        raw = (data.get("scores") or {}).get(c.id)
        if raw is None:
            raise ValueError(f"the judge gave no score for {c.id!r}")
        try:
            scores[c.id] = rubric.check(c.id, int(round(float(raw))))
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"the judge's score for {c.id!r} is not a number on the scale: {str(raw)[:40]!r}") from None
    return scores, str(data.get("rationale") or "").strip()


def judge(engine: Engine, judge_model: str, exchange: Exchange, reference: str | None, rubric: Rubric,
          caller: Caller = Caller()) -> tuple[dict, str]:
    """Ask judge_model to rate one logged exchange and store the result as a judge rating."""
    req = ChatRequest(model=judge_model, prompt=judge_prompt(exchange.prompt, exchange.reply or "", reference, rubric),
                      temperature=0, max_tokens=400, session_id=f"judge:{exchange.run_id or exchange.id}",
                      **asdict(caller))
    result = next(item for item in engine.stream(req) if isinstance(item, Result))
    failure = result.failure
    if isinstance(failure, Refused) and isinstance(failure.reason, CapReached):
        raise JudgeCapped(failure.reason.scope)
    if not result.ok:
        raise ValueError(f"judge call failed: {result.error}")
    scores, rationale = parse_verdict(result.record.reply, rubric)
    rate(engine.store, exchange.id, scores, rubric, rater=judge_model, kind="judge", rationale=rationale)
    return scores, rationale
