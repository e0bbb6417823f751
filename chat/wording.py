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


def english(text: str, /, **values) -> str:
    """Words as the code writes them, a template's {names} filled in. An edge that speaks another language
    passes its own function of this shape (chat.ui.i18n.words) to the meter, the estimate and the decision."""
    return text.format(**values) if values else text


def format_usd(amount: Decimal | None, word=english) -> str:
    """'$0.000123' style: enough digits that fractions of a cent stay visible; 'unpriced' for None."""
    if amount is None:
        return word("unpriced")
    if amount == 0:
        return "$0"
    if abs(amount) >= 1:
        return f"${amount:,.2f}"
    # three significant figures keep fractions of a cent visible ($0.000123, $0.0000093) without noise
    q = amount.quantize(Decimal(1).scaleb(amount.adjusted() - 2)).normalize()
    if q.as_tuple().exponent > -2:
        q = q.quantize(Decimal("0.01"))  # $0.50, not $0.5
    return f"${format(q, 'f')}"


def N_(text: str) -> str:
    """Marks a word for Babel's extraction where it is written apart from the word function that shows it
    (chat/ui/vocabulary.py)."""
    return text


def counted(one: str, many: str, count: int, /, word=english, **values) -> str:
    """A sentence about `count` things in the word function's language, in the plural form that language uses for
    it (English: `one` for 1, `many` otherwise; Korean has one form)."""
    choose = getattr(word, "ngettext", None)
    template = choose(one, many, count) if choose is not None else one if count == 1 else many
    return english(template, **values)


class Worded(ValueError):
    """An error kept as its sentence's template and values: str() is the English the log and the CLI show; an edge
    in another language words it again (`worded(word)`), so the engine never picks the reader's language."""

    def __init__(self, template: str, /, **values):
        super().__init__(english(template, **values))
        self.template, self.values = template, values

    def worded(self, word=english) -> str:
        return word(self.template, **_worded(self.values, word))

    def said(self) -> Said:
        """The sentence, to keep (a failure's detail): English wherever a str goes, worded again at an edge."""
        return Said(self.template, **self.values)


def reworded(text: str, word=english) -> str:
    """A kept sentence in the word function's language: a Said with its values, else the sentence as it stands."""
    return text.worded(word) if isinstance(text, Said) else word(text)


def _worded(values: dict, word) -> dict:
    """A sentence's values, each that is a sentence of its own (Said) worded in the same language."""
    return {k: v.worded(word) if isinstance(v, Said) else v for k, v in values.items()}


class Said(str):
    """A sentence that keeps its template and values: the English text wherever a str goes (the log, the CLI), and
    an edge in another language words it again (`worded(word)`)."""

    template: str
    values: dict

    def __new__(cls, template: str, /, **values):
        said = super().__new__(cls, english(template, **values))
        said.template, said.values = template, values
        return said

    def worded(self, word=english) -> str:
        return word(self.template, **_worded(self.values, word))


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


def format_won(won: Decimal, word=english) -> str:
    """Won as people write it: whole won; a fraction of a won as won per 1,000 (₩55 per 1,000)."""
    if won == 0:
        return "₩0"
    if abs(won) >= 100:
        return f"₩{won:,.0f}"
    if abs(won) >= 1:  # one decimal under ₩100: ₩3.2 against a limit of ₩3.0 must not read ₩3 against ₩3
        return f"₩{won:,.1f}"
    if abs(won) * 1000 >= 1:
        return word("{won} per 1,000", won=f"₩{won * 1000:,.0f}")
    return word("{won} per 1,000,000", won=f"₩{won * 1_000_000:,.0f}")


def format_money(amount: Decimal | None, environ=os.environ, word=english) -> str:
    """Dollars, and won beside them when CHAT_CURRENCY=KRW: '$0.0000398 (₩55 per 1,000)'."""
    usd = format_usd(amount, word)
    c = currency(environ)
    if amount is None or c.code == "USD":
        return usd
    return f"{usd} ({format_won(Decimal(amount) * c.rate, word)})"


def rate_note(environ=os.environ, word=english) -> str:
    """Where the won come from, for a page that shows them: '' when only dollars are shown."""
    c = currency(environ)
    if c.code == "USD":
        return ""
    if c.date:
        return word("Won at ₩{rate} per dollar, the rate you set on {date}; the log and exports stay in USD.",
                    rate=f"{c.rate:,}", date=c.date)
    return word("Won at ₩{rate} per dollar, the rate you set (no date given: CHAT_USD_RATE_DATE); the log and "
                "exports stay in USD.", rate=f"{c.rate:,}")


STOPPED = {"stop": N_("stopped before the reply finished"),
           "signal": N_("interrupted (Ctrl-C or a stop signal) before the reply finished"),
           "shutdown": N_("the app shut down before the reply finished")}


def explain(failure: f.Failure, word=english) -> str:
    """The sentence for a failure: English as the log keeps it and the CLI prints it, or the reader's words."""
    w = word
    if isinstance(failure, f.Refused):
        return redact(refusal(failure.reason, w))
    if isinstance(failure, f.ProviderFailed):
        return redact(_provider(failure, w))
    if isinstance(failure, f.TooSlow):
        return w("{endpoint} was still replying after {s}s (CHAT_MAX_SECONDS), so the reply was stopped; the partial "
                 "text is kept. Lower max tokens or raise CHAT_MAX_SECONDS", endpoint=failure.endpoint,
                 s=f"{failure.limit_s:g}")
    if isinstance(failure, f.Stopped):
        return w(STOPPED[failure.why])
    return redact(w("internal error ({type}): {detail}", type=failure.type, detail=failure.detail))


def refusal(reason: f.Reason, word=english) -> str:
    """Why a request was turned down before any call, and what to do."""
    r, w = reason, word
    if isinstance(r, f.ShuttingDown):
        return w("the app is shutting down: nothing was sent; try again in a moment")
    if isinstance(r, f.NoSuchModel):
        return reworded(r.detail, w)
    if isinstance(r, f.ModelUnavailable):
        return w("{model} is unavailable: {why}", model=r.model, why=reworded(r.why, w))
    if isinstance(r, f.EmptyMessage):
        return w("the message is empty: type a question first")
    if isinstance(r, f.MessageTooLong):
        return w("the message is {chars} characters; at most {limit} can be sent to any model: shorten it",
                 chars=f"{r.chars:,}", limit=f"{r.limit:,}")
    if isinstance(r, f.OverWindow):
        reserve = w(" plus {n} reserved for the reply (max tokens)", n=f"{r.reserved:,}") if r.reserved else ""
        return w("the message is about {tokens} tokens{reserve}, more than {model}'s window of {window}: shorten it, "
                 "lower max tokens, or pick a model with a larger window. Nothing was sent", tokens=f"{r.tokens:,}",
                 reserve=reserve, model=r.model, window=f"{r.window:,}")
    if isinstance(r, f.BadParameter):
        return reworded(r.detail, w)
    if isinstance(r, f.CapReached):
        return _cap(r, w)
    if isinstance(r, f.CapUnenforceable):
        return w("{model} has no price in pricing.yaml, so the spend cap cannot be enforced for it: add its price to "
                 "pricing.yaml (0 if it is free) or pick a priced model", model=r.model)
    if isinstance(r, f.CapUncheckable):
        return w("the log cannot be reached, so no spend cap can be checked: nothing was sent; try again in a "
                 "moment ({detail})", detail=r.detail)
    if isinstance(r, f.RateLimited):
        return w("too many requests: at most {n} a minute per session; try again in {s} s", n=r.per_minute,
                 s=f"{r.wait_s:.0f}")
    return w("cannot set up {endpoint}: {detail}", endpoint=r.endpoint, detail=r.detail)


def _cap(r: f.CapReached, w) -> str:
    amounts = dict(spent=format_usd(r.spent), limit=format_usd(r.limit), need=format_usd(r.need))
    if r.scope == "day":
        return w("daily spend cap reached: {spent} of {limit} used today (UTC) across all users and processes; this "
                 "request may cost up to {need}. No call was made. Use the embedded local model, lower max tokens, or "
                 "try again tomorrow", **amounts)
    if r.scope == "session":
        return w("session spend cap reached: {spent} of {limit} used in this browser session (every tab counts); this "
                 "request may cost up to {need}. No call was made. Use the embedded local model, lower max tokens, or "
                 "ask the host to raise CHAT_SESSION_CAP_USD", **amounts)
    return w("your daily spend cap is reached: {spent} of {limit} used today (UTC) by this login; this request may "
             "cost up to {need}. No call was made. Use the embedded local model or try again tomorrow", **amounts)


def _provider(e: f.ProviderFailed, w) -> str:
    ep = e.endpoint
    code = f" (HTTP {e.status})" if e.status else ""
    detail = e.detail.strip().rstrip(".")
    url = ep.url or w("its default address")
    v = dict(name=ep.name, code=code, detail=detail, url=url, model=repr(e.api_model))
    if ep.aws and e.kind in ("auth", "not_found", "rate_limit", "bad_request") and " — " in detail:
        text = w("{name} refused {model}{code}: {detail}", **v)  # the Converse adapter names the AWS fix
    elif ep.aws and e.kind == "server" and " — " in detail:
        text = w("{name} failed{code}: {detail}", **v)
    elif e.kind == "auth":
        where = w("check {var} in .env", var=ep.key_var) if ep.key_var else w("check the endpoint's credentials")
        text = w("{name} rejected the credentials{code}: {where}", where=where, **v)
    elif e.kind == "rate_limit":
        text = w("{name} is rate limiting or overloaded{code} ({detail}): wait a moment and retry, or lower concurrency",
                 **v)
    elif e.kind == "timeout":
        text = w("{name} sent nothing for {s}s, so the request timed out: retry, or raise CHAT_TIMEOUT",
                 s=f"{e.stall_s:g}", **v)
    elif e.kind == "connect_timeout":
        text = w("could not connect to {name} at {url} within {s}s (CHAT_CONNECT_TIMEOUT): is it running and "
                 "reachable? Nothing was sent, nothing billed", s=f"{e.connect_s:g}", **v)
    elif e.kind == "cut_off":
        text = w("{name} ended the stream without its end marker{code}: the reply was cut off", **v)
    elif e.kind == "connection" and not e.partial and not e.billable:
        text = w("{detail} — is {name} running at {url}? Nothing was sent, nothing billed", **v)
    elif e.kind == "connection":
        text = w("{detail} — is {name} running at {url}?", **v) if not e.partial else detail
    elif ep.local:
        text = detail  # the embedded runner says exactly which file is wrong, or how its process ended
        if e.kind == "unavailable":
            text = w("{model} is unavailable: {why}", model=e.model, why=detail)
        if e.kind == "crashed" and e.free:
            text += w("; nothing was billed")
    elif e.kind == "not_found":
        text = w("{name} does not serve model {model}{code}: check the name (python -m chat models)", **v)
    elif e.kind == "bad_request":
        text = w("{name} refused the request{code}: {detail}", **v)
    else:
        text = w("{name} failed{code}: {detail}; try again later", **v)
    if e.partial:
        text += w(" — the reply was cut off; the partial text is kept")
    return text
