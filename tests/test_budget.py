"""Spend caps against the shared ledger: parallel requests cannot overshoot; only free models go uncapped."""
from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import pytest

from chat.engine.budget import Budget, CapExceeded, parse_cap, parse_rate
from chat.engine.models import resolve
from chat.engine.pricing import load_prices

PRICES = load_prices()


def _reserve(budget, session, model, input_tokens=1000, max_tokens=1000, user=None):
    return budget.reserve(uuid.uuid4().hex, session, user, model, input_tokens, max_tokens)


def test_parallel_reservations_never_pass_the_daily_cap(fake, store):
    model = resolve("gpt-4o", PRICES)
    one = Budget().worst_case(model, 1000, 1000)
    budget = Budget(daily_cap=one * 10, store=store)
    granted, refused = [], []
    lock = threading.Lock()

    def try_once(n):
        try:
            r = _reserve(budget, f"s{n}", model)
            with lock:
                granted.append(r)
        except CapExceeded as exc:
            with lock:
                refused.append(str(exc))

    threads = [threading.Thread(target=try_once, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 10 and len(refused) == 30  # 40 users at once, exactly ten fit
    assert "daily spend cap reached" in refused[0] and "across all users and processes" in refused[0]
    for r in granted[:5]:
        budget.settle(r, one / 2, r.exchange_id, r.session_key, None)  # cheaper than reserved: the rest is released
    store.flush()
    assert _reserve(budget, "late", model) is not None


def test_a_restart_or_a_second_process_sees_money_already_committed(fake, tmp_path):
    from chat.storage.store import Store

    model = resolve("gpt-4o", PRICES)
    cap = Budget().worst_case(model, 1000, 1000) * 3
    first = Budget(daily_cap=cap, store=Store(tmp_path / "shared.db"))
    for n in range(2):
        _reserve(first, f"a{n}", model)  # reserved and never settled: the process died mid-reply
    second = Budget(daily_cap=cap, store=Store(tmp_path / "shared.db"))  # a new process on the same file
    _reserve(second, "b", model)
    with pytest.raises(CapExceeded, match="daily spend cap reached"):
        _reserve(second, "c", model)


def test_session_cap_counts_only_that_session(fake, store):
    model = resolve("gpt-4o-mini", PRICES)
    budget = Budget(session_cap=Decimal("0.001"), store=store)
    r = _reserve(budget, "a", model, 100, 1000)
    budget.settle(r, Decimal("0.0009"), r.exchange_id, "a", None)
    store.flush()
    with pytest.raises(CapExceeded, match="session spend cap reached"):
        _reserve(budget, "a", model, 100, 1000)
    assert _reserve(budget, "b", model, 100, 1000) is not None


def test_user_cap_holds_across_that_logins_sessions(fake, store):
    model = resolve("gpt-4o-mini", PRICES)
    one = Budget().worst_case(model, 100, 1000)
    budget = Budget(user_cap=one * 2, store=store)
    _reserve(budget, "browser:1", model, 100, 1000, user="alice")
    _reserve(budget, "browser:2", model, 100, 1000, user="alice")
    with pytest.raises(CapExceeded, match="this login"):
        _reserve(budget, "browser:3", model, 100, 1000, user="alice")
    assert _reserve(budget, "browser:4", model, 100, 1000, user="bob") is not None


def test_only_free_models_go_uncapped_and_unpriced_ones_are_refused_wherever_served(fake, store, monkeypatch):
    monkeypatch.setenv("CHAT_ENDPOINTS", "proxy=http://127.0.0.1:9/v1")  # a localhost proxy to a paid API
    budget = Budget(session_cap=Decimal("0.000001"), daily_cap=Decimal("0.000001"), store=store)
    assert _reserve(budget, "a", resolve("smollm2-135m-instruct", PRICES), 10**6, 10**6) is None
    for name in ("openrouter:some/model", "proxy:gpt-4o", "ollama:llama3.2"):
        with pytest.raises(CapExceeded, match="no price in pricing.yaml"):
            _reserve(budget, "a", resolve(name, PRICES), 10, 10)


def test_the_reservation_is_a_real_bound(fake, store):
    model = resolve("claude-haiku-4-5", PRICES)
    budget = Budget(daily_cap=Decimal(1), store=store)
    # the input the engine reserves is the most Claude may bill: our count at its upper token ratio
    r = _reserve(budget, "a", model, 1800, None)
    # no max tokens given: the reserved output is what the model will be told to stop at
    assert r.output_tokens == 4096
    # at the cache-write rate: a prompt may be written to the cache
    assert r.amount == (Decimal(1800) * Decimal("1.25") + Decimal(4096) * Decimal(5)) / Decimal(10**6)


def test_rate_limit_per_session():
    budget = Budget(rate_limit=3)
    for _ in range(3):
        budget.check_rate("browser:x")
    with pytest.raises(CapExceeded, match="at most 3 a minute"):
        budget.check_rate("browser:x")
    budget.check_rate("browser:y")


@pytest.mark.parametrize("raw, ok", [("5", True), ("$0.50", True), ("0", False), ("-1", False), ("five", False),
                                     ("nan", False), ("1e400", False)])
def test_cap_values(raw, ok):
    if ok:
        assert parse_cap("CHAT_DAILY_CAP_USD", raw) > 0
    else:
        with pytest.raises(ValueError, match="CHAT_DAILY_CAP_USD"):
            parse_cap("CHAT_DAILY_CAP_USD", raw)


@pytest.mark.parametrize("raw", ["0", "-3", "lots", "1e9"])
def test_rate_values(raw):
    with pytest.raises(ValueError, match="CHAT_RATE_LIMIT"):
        parse_rate("CHAT_RATE_LIMIT", raw)


def test_one_cap_set_up_names_what_the_user_wrote_and_flags_win():
    from argparse import Namespace

    from chat.engine.budget import limits

    env = {"CHAT_DAILY_CAP_USD": "5", "CHAT_SESSION_CAP_USD": "lots", "CHAT_RATE_LIMIT": "20"}
    got = limits(Namespace(daily_cap="2.50", session_cap="1"), environ=env)
    assert got == {"session_cap": Decimal("1"), "daily_cap": Decimal("2.50"), "user_cap": None, "rate_limit": 20}
    with pytest.raises(ValueError, match=r"^--daily-cap='x' is not an amount in USD"):
        limits(Namespace(daily_cap="x", session_cap="1"), environ=env)
    with pytest.raises(ValueError, match=r"^CHAT_SESSION_CAP_USD='lots' is not an amount"):
        limits(Namespace(), environ=env)
    assert limits(Namespace(), ("daily_cap",), environ=env) == {"daily_cap": Decimal("5")}  # only what was asked for
