"""Spend caps: reservations make parallel requests unable to overshoot; local models are never capped."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from chat.budget import Budget, CapExceeded, parse_cap
from chat.models import resolve
from chat.pricing import load_prices

PRICES = load_prices()


def test_parallel_reservations_never_pass_the_daily_cap(fake):
    model = resolve("gpt-4o", PRICES)
    one = Budget(daily_cap=Decimal(1)).worst_case(model, 1000, 1000)  # $0.0125
    budget = Budget(daily_cap=one * 10)
    granted, refused = [], []
    lock = threading.Lock()

    def try_once(n):
        try:
            r = budget.reserve(f"s{n}", model, 1000, 1000)
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
    assert "daily spend cap reached" in refused[0] and "across all users" in refused[0]
    for r in granted[:5]:
        budget.settle(r, one / 2)  # cheaper than reserved: the difference is released
    assert budget.reserve("late", model, 1000, 1000) is not None


def test_session_cap_counts_only_that_session(fake):
    model = resolve("gpt-4o-mini", PRICES)
    budget = Budget(session_cap=Decimal("0.001"))
    r = budget.reserve("a", model, 100, 1000)
    budget.settle(r, Decimal("0.0009"))
    with pytest.raises(CapExceeded, match="session spend cap reached"):
        budget.reserve("a", model, 100, 1000)
    assert budget.reserve("b", model, 100, 1000) is not None


def test_local_models_are_never_capped_and_unpriced_remote_ones_are_refused(fake):
    budget = Budget(session_cap=Decimal("0.000001"), daily_cap=Decimal("0.000001"))
    assert budget.reserve("a", resolve("smollm2-135m-instruct", PRICES), 10**6, 10**6) is None
    with pytest.raises(CapExceeded, match="no price in pricing.yaml"):
        budget.reserve("a", resolve("openrouter:some/model", PRICES), 10, 10)


@pytest.mark.parametrize("raw, ok", [("5", True), ("$0.50", True), ("0", False), ("-1", False), ("five", False)])
def test_cap_values(raw, ok):
    if ok:
        assert parse_cap("CHAT_DAILY_CAP_USD", raw) > 0
    else:
        with pytest.raises(ValueError, match="CHAT_DAILY_CAP_USD"):
            parse_cap("CHAT_DAILY_CAP_USD", raw)
