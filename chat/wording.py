"""The one place a failure becomes a sentence: what went wrong and what to do, never a traceback.

English is the log's language and the CLI's; the app words the same failures in the reader's language
from here too. Every sentence names what to change; amounts are USD as the log keeps them.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from chat import failures as f
from chat.redact import redact


def format_usd(amount: Decimal | None) -> str:
    """'$0.000123' style: enough digits that fractions of a cent stay visible; 'unpriced' for None."""
    if amount is None:
        return "unpriced"
    if amount == 0:
        return "$0"
    if abs(amount) >= 1:
        return f"${amount:,.2f}"
    # three significant figures keep fractions of a cent visible ($0.000123, $0.0000093) without noise
    q = amount.quantize(Decimal(1).scaleb(amount.adjusted() - 2)).normalize()
    if q.as_tuple().exponent > -2:
        q = q.quantize(Decimal("0.01"))  # $0.50, not $0.5
    return f"${format(q, 'f')}"


def english(text: str, **values) -> str:
    """Words as the code writes them, a template's {names} filled in. An edge that speaks another language
    passes its own function of this shape (chat.ui.i18n.words) to the meter, the estimate and the decision."""
    return text.format(**values) if values else text


CURRENCIES = ("USD", "KRW")


@dataclass(frozen=True)
class Currency:
    """What money is shown in besides dollars: set by the user (CHAT_CURRENCY, CHAT_USD_RATE and its date),
    never fetched. The log, exports and every sentence the log keeps stay in USD."""

    code: str = "USD"
    rate: Decimal | None = None  # won per dollar
    date: str | None = None  # the day the rate was taken, as the user gave it


def currency(environ=os.environ) -> Currency:
    """The display currency from the environment, or ValueError naming the variable and what it takes."""
    code = (environ.get("CHAT_CURRENCY") or "USD").strip().upper()
    if code not in CURRENCIES:
        raise ValueError(f"CHAT_CURRENCY={code[:20]!r}: use USD or KRW (KRW needs CHAT_USD_RATE, e.g. 1390)")
    if code == "USD":
        return Currency()
    raw = (environ.get("CHAT_USD_RATE") or "").strip().replace(",", "")
    try:
        rate = Decimal(raw)
    except InvalidOperation:
        rate = None
    if rate is None or not rate.is_finite() or not 1 <= rate <= 100_000:
        raise ValueError(f"CHAT_CURRENCY=KRW needs CHAT_USD_RATE, the won per dollar you want shown, from 1 to "
                         f"100,000 (e.g. CHAT_USD_RATE=1390); got {raw[:20]!r}. It is never fetched")
    day = (environ.get("CHAT_USD_RATE_DATE") or "").strip() or None
    if day is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
        raise ValueError(f"CHAT_USD_RATE_DATE={day[:20]!r}: the day the rate was taken, as YYYY-MM-DD")
    return Currency(code, rate, day)


def format_won(won: Decimal) -> str:
    """Won as people write it: whole won; a fraction of a won as won per 1,000 (₩55 per 1,000)."""
    if won == 0:
        return "₩0"
    if abs(won) >= 1:
        return f"₩{won:,.0f}"
    return f"₩{won * 1000:,.0f} per 1,000" if abs(won) * 1000 >= 1 else f"₩{won * 1_000_000:,.0f} per 1,000,000"


def format_money(amount: Decimal | None, environ=os.environ) -> str:
    """Dollars, and won beside them when CHAT_CURRENCY=KRW: '$0.0000398 (₩55 per 1,000)'."""
    usd = format_usd(amount)
    c = currency(environ)
    if amount is None or c.code == "USD":
        return usd
    return f"{usd} ({format_won(Decimal(amount) * c.rate)})"


def rate_note(environ=os.environ) -> str:
    """Where the won come from, for a page that shows them: '' when only dollars are shown."""
    c = currency(environ)
    if c.code == "USD":
        return ""
    when = f" on {c.date}" if c.date else " (no date given: CHAT_USD_RATE_DATE)"
    return f"Won at ₩{c.rate:,} per dollar, the rate you set{when}; the log and exports stay in USD."


def explain(failure: f.Failure) -> str:
    """The English sentence for a failure, as the log keeps it and the CLI prints it."""
    if isinstance(failure, f.Refused):
        return redact(refusal(failure.reason))
    if isinstance(failure, f.ProviderFailed):
        return redact(_provider(failure))
    if isinstance(failure, f.TooSlow):
        return (f"{failure.endpoint} was still replying after {failure.limit_s:g}s (CHAT_MAX_SECONDS), so the reply "
                "was stopped; the partial text is kept. Lower max tokens or raise CHAT_MAX_SECONDS")
    if isinstance(failure, f.Stopped):
        return {"stop": "stopped before the reply finished",
                "signal": "interrupted (Ctrl-C or a stop signal) before the reply finished",
                "shutdown": "the app shut down before the reply finished"}[failure.why]
    return redact(f"internal error ({failure.type}): {failure.detail}")


def refusal(reason: f.Reason) -> str:
    """Why a request was turned down before any call, and what to do."""
    r = reason
    if isinstance(r, f.ShuttingDown):
        return "the app is shutting down: nothing was sent; try again in a moment"
    if isinstance(r, f.NoSuchModel):
        return r.detail
    if isinstance(r, f.ModelUnavailable):
        return f"{r.model} is unavailable: {r.why}"
    if isinstance(r, f.EmptyMessage):
        return "the message is empty: type a question first"
    if isinstance(r, f.MessageTooLong):
        return f"the message is {r.chars:,} characters; at most {r.limit:,} can be sent to any model: shorten it"
    if isinstance(r, f.OverWindow):
        reserve = f" plus {r.reserved:,} reserved for the reply (max tokens)" if r.reserved else ""
        return (f"the message is about {r.tokens:,} tokens{reserve}, more than {r.model}'s window of {r.window:,}: "
                "shorten it, lower max tokens, or pick a model with a larger window. Nothing was sent")
    if isinstance(r, f.BadParameter):
        return r.detail
    if isinstance(r, f.CapReached):
        return _cap(r)
    if isinstance(r, f.CapUnenforceable):
        return (f"{r.model} has no price in pricing.yaml, so the spend cap cannot be enforced for it: add its price to "
                "pricing.yaml (0 if it is free) or pick a priced model")
    if isinstance(r, f.RateLimited):
        return f"too many requests: at most {r.per_minute} a minute per session; try again in {r.wait_s:.0f} s"
    return f"cannot set up {r.endpoint}: {r.detail}"


def _cap(r: f.CapReached) -> str:
    need = f"this request may cost up to {format_usd(r.need)}. No call was made"
    if r.scope == "day":
        return (f"daily spend cap reached: {format_usd(r.spent)} of {format_usd(r.limit)} used today (UTC) across all users and "
                f"processes; {need}. Use the embedded local model, lower max tokens, or try again tomorrow")
    if r.scope == "session":
        return (f"session spend cap reached: {format_usd(r.spent)} of {format_usd(r.limit)} used in this browser session (every tab "
                f"counts); {need}. Use the embedded local model, lower max tokens, or ask the host to raise "
                "CHAT_SESSION_CAP_USD")
    return (f"your daily spend cap is reached: {format_usd(r.spent)} of {format_usd(r.limit)} used today (UTC) by this login; "
            f"{need}. Use the embedded local model or try again tomorrow")


def _provider(e: f.ProviderFailed) -> str:
    ep = e.endpoint
    code = f" (HTTP {e.status})" if e.status else ""
    detail = e.detail.strip().rstrip(".")
    url = ep.url or "its default address"
    if ep.aws and e.kind in ("auth", "not_found", "rate_limit", "bad_request") and " — " in detail:
        text = f"{ep.name} refused {e.api_model!r}{code}: {detail}"  # the Converse adapter names the AWS fix
    elif ep.aws and e.kind == "server" and " — " in detail:
        text = f"{ep.name} failed{code}: {detail}"
    elif e.kind == "auth":
        where = f"check {ep.key_var} in .env" if ep.key_var else "check the endpoint's credentials"
        text = f"{ep.name} rejected the credentials{code}: {where}"
    elif e.kind == "rate_limit":
        text = f"{ep.name} is rate limiting or overloaded{code} ({detail}): wait a moment and retry, or lower concurrency"
    elif e.kind == "timeout":
        text = f"{ep.name} sent nothing for {e.stall_s:g}s, so the request timed out: retry, or raise CHAT_TIMEOUT"
    elif e.kind == "connect_timeout":
        text = (f"could not connect to {ep.name} at {url} within {e.connect_s:g}s (CHAT_CONNECT_TIMEOUT): is it "
                "running and reachable? Nothing was sent, nothing billed")
    elif e.kind == "cut_off":
        text = f"{ep.name} ended the stream without its end marker{code}: the reply was cut off"
    elif e.kind == "connection" and not e.partial and not e.billable:
        text = f"{detail} — is {ep.name} running at {url}? Nothing was sent, nothing billed"
    elif e.kind == "connection":
        text = f"{detail} — is {ep.name} running at {url}?" if not e.partial else f"{detail}"
    elif ep.local:
        text = detail  # the embedded runner says exactly which file is wrong, or how its process ended
        if e.kind == "unavailable":
            text = f"{e.model} is unavailable: {detail}"
        if e.kind == "crashed" and e.free:
            text += "; nothing was billed"
    elif e.kind == "not_found":
        text = f"{ep.name} does not serve model {e.api_model!r}{code}: check the name (python -m chat models)"
    elif e.kind == "bad_request":
        text = f"{ep.name} refused the request{code}: {detail}"
    else:
        text = f"{ep.name} failed{code}: {detail}; try again later"
    if e.partial:
        text += " — the reply was cut off; the partial text is kept"
    return text
