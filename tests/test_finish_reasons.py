"""Why each reply ended, from every provider: a reply cut at max tokens is marked so, in the log and the meter."""
from __future__ import annotations

import pytest

from chat.evaluation.meter_text import meter_line
from tests.conftest import need
from tests.fake_servers import Scenario
from tests.test_controls_matrix import BEDROCK, REMOTE, _chat, routes  # noqa: F401 (the fixture)

MODELS = [m for m, _ in REMOTE] + ["meta.llama3-70b-instruct-v1:0"]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("cut", [False, True])
def test_every_provider_says_why_the_reply_ended(routes, engine, model, cut):  # noqa: F811
    if model in (BEDROCK, "meta.llama3-70b-instruct-v1:0"):
        need("boto3", "Bedrock through the real SDK")
    routes.default = Scenario(cut_at_max=cut)  # whatever name each wire gives the model
    _, row = _chat(engine, model)
    assert row.status == "ok", row.error
    assert row.finish_reason == ("max_tokens" if cut else "stop")
    assert ("stopped at max tokens" in meter_line(row)) is cut


def test_a_failed_reply_has_no_finish_reason(routes, engine):  # noqa: F811
    routes.scenarios["gpt-4o-mini"] = Scenario(drop_after=2)
    _, row = _chat(engine, "gpt-4o-mini")
    assert row.status == "error" and row.finish_reason is None
    assert "stopped at max tokens" not in meter_line(row)


def test_the_embedded_model_cut_at_its_limit_says_so_and_drops_half_a_character(fake, engine):
    need("llama_cpp", "the embedded model")
    from chat.ui import app
    from chat.ui.session import new_session

    # Korean takes several tokens a character in SmolLM2's byte-level vocabulary: a short limit cuts mid-character
    cut = []
    for limit in range(5, 15):
        *_, (chat, state, _) = app.respond(engine, "한국어로 훈련장려금에 대해 길게 설명해 주세요.", new_session(),
                                           "smollm2-135m-instruct", "항상 한국어로 답하세요.", 0, limit)
        engine.store.flush()
        row = engine.store.exchange(state["turns"][-1]["id"])
        assert row.status == "ok", row.error
        if row.output_tokens == limit:
            cut.append(row)
            assert row.finish_reason == "max_tokens" and "stopped at max tokens" in meter_line(row)
            assert "\ufffd" not in row.reply  # never a replacement mark where a character was cut in half
            assert "\ufffd" not in chat[-1]["content"]
    assert cut, "no reply reached its limit"
    *_, (chat, state, _) = app.respond(engine, "Say hi.", new_session(), "smollm2-135m-instruct", None, 0, 400)
    engine.store.flush()
    row = engine.store.exchange(state["turns"][-1]["id"])
    assert row.output_tokens < 400 and row.finish_reason == "stop"
