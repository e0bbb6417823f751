"""Failures are data the engine returns; one module words them, and the log keeps those words."""
from __future__ import annotations

from decimal import Decimal

from chat import failures as f
from chat.engine import Engine
from chat.engine.budget import Budget
from chat.wording import explain
from tests.fake_servers import Scenario
from tests.helpers import run


def test_a_cap_refusal_is_typed_with_the_cap_and_the_spend(fake, store):
    engine = Engine(store, budget=Budget(session_cap=Decimal("0.0001")))
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=8, output_tokens=50)
    _, result = run(engine, model="gpt-4o-mini", prompt="hi", session_id="s", max_tokens=4000)
    reason = result.failure.reason
    assert isinstance(result.failure, f.Refused) and isinstance(reason, f.CapReached)
    assert reason.scope == "session" and reason.limit == Decimal("0.0001") and reason.spent == 0 and reason.need > reason.limit
    assert result.error == explain(result.failure) and "session spend cap reached" in result.error
    assert not fake.requests  # refused before any call


def test_a_provider_failure_is_typed_with_its_kind_status_and_endpoint(fake, engine):
    fake.scenarios["gpt-4o-mini"] = Scenario(status=401)
    _, result = run(engine, model="gpt-4o-mini", prompt="hi")
    failure = result.failure
    assert isinstance(failure, f.ProviderFailed) and (failure.kind, failure.status) == ("auth", 401)
    assert failure.endpoint.name == "openai" and failure.endpoint.key_var == "OPENAI_API_KEY" and not failure.billable
    logged = engine.store.exchange(result.record.id)
    assert logged.error == explain(failure) == "openai rejected the credentials (HTTP 401): check OPENAI_API_KEY in .env"


def test_the_engine_refuses_in_data_not_in_sentences(fake, engine):
    _, empty = run(engine, model="gpt-4o-mini", prompt="   ")
    assert empty.failure == f.Refused(f.EmptyMessage())
    _, unknown = run(engine, model="no-such-model-anywhere", prompt="hi")
    assert isinstance(unknown.failure.reason, f.NoSuchModel) and unknown.status == "error"
    # the sentences live in chat/wording.py alone: the engine's own code holds none of them
    from pathlib import Path

    engine_code = (Path(__file__).resolve().parent.parent / "chat" / "engine" / "engine.py").read_text()
    for sentence in ("type a question first", "rejected the credentials", "spend cap reached", "shutting down"):
        assert sentence not in engine_code
