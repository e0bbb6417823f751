"""The command line: python -m chat models / ask / eval / runs / report."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from chat.engine.config import default_model, load_env
from chat.redact import install as install_redaction
from chat.redact import redact
from chat.storage.backend import DB_HELP, StoreError, database_errors

WIDTH = 100  # what `models` fits in; --long shows every reason and price in full


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _models(args) -> int:
    import textwrap

    from chat.engine.models import listed
    from chat.engine.pricing import load_prices
    from chat.ui.display import price_text

    prices = load_prices(args.pricing)
    if getattr(args, "options", None):
        return _options(args.options, prices)
    rows, reasons = [], {}
    default = default_model()
    for model in listed(prices, default):
        ok, why = model.status()
        window = model.context_window
        price = price_text(model.price)
        if args.long:
            rows.append((model.name, model.endpoint.name, "yes" if ok else f"no: {why}", price,
                         f"{window:,}" if window else "–"))
            continue
        if not ok:
            reasons.setdefault(why, []).append(model.name)
        context = f"{round(window / 1000):,}K" if window else "–"
        rows.append((_short(model.name, 40), _short(model.endpoint.name, 16), "yes" if ok else "no",
                     price.removesuffix(" per 1M"), context))
    header = ("MODEL", "PROVIDER", "READY" if not args.long else "AVAILABLE",
              "PRICE (USD per 1M tokens)", "CONTEXT")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())
    for why, names in reasons.items():
        line = f"not ready ({len(names)}): {why}"
        print("\n".join(textwrap.wrap(line, WIDTH, subsequent_indent="  ")))
    tail = "" if args.long else " More: --long."
    print("\n".join(textwrap.wrap(f"Default model: {default}. Any model an endpoint serves works as endpoint:model, "
                                  f"e.g. ollama:llama3.2.{tail}", WIDTH)))
    return 0


def _engine(args):
    """The engine for a command, with the spend caps the app would apply (flags win over the environment)."""
    from chat.engine import Engine
    from chat.engine.budget import Budget, limits
    from chat.engine.pricing import load_prices
    from chat.storage.store import Store

    # a session cap bounds one command's spend; logins, their caps and rate limits exist only in the app
    budget = Budget(**limits(args, ("session_cap", "daily_cap")))
    prices = load_prices(args.pricing)
    return Engine(Store(args.db), prices, budget)


def _options(name: str, prices) -> int:
    from chat.engine.models import resolve
    from chat.engine.options import REQUEST, TEMPERATURE
    from chat.ui.display import price_text

    model = resolve(name, prices)  # UnknownModel is a ValueError: one line, exit 2
    source = f"; from {model.price.source}" if model.price is not None and model.price.priced_from else ""
    print(f"{model.name} ({model.endpoint.name}): {price_text(model.price)}{source}")
    print("takes:")
    rows = [("system", "text", "the system prompt")]
    for option in REQUEST:
        if option is TEMPERATURE and not model.takes_temperature:
            rows.append((option.name, "not taken", "this model takes no temperature: a value given is not sent"))
            continue
        high = option.high
        if option.name == "max_tokens" and model.context_window:
            high = min(high, model.context_window)
        allowed = option.allowed if high == option.high else option.allowed.replace(f"{option.high:,.0f}", f"{high:,.0f}")
        rows.append((option.name, allowed, option.description))
    width = max(len(r[0]) for r in rows)
    for option, allowed, description in rows:
        print(f"  {option.ljust(width)}  {allowed}: {description}")
    return 0


def _ask(args) -> int:
    import os

    from chat.engine import ChatRequest, Chunk, Result
    from chat.engine.shutdown import Shutdown
    from chat.ui.display import meter_line

    engine = _engine(args)
    stop = Shutdown(engine).install()
    req = ChatRequest(
        model=args.model or default_model(),
        prompt=args.prompt,
        system=args.system,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        cache=args.cache,
        session_id="cli",
        spend_key=f"cli:{os.getpid()}",
    )
    result = None
    stream = engine.stream(req)
    try:
        for item in stream:
            if isinstance(item, Chunk):
                sys.stdout.write(item.text)
                sys.stdout.flush()
            elif isinstance(item, Result):
                result = item
    except KeyboardInterrupt:
        stream.close()  # if the interrupt landed outside the stream, this logs it as aborted
        engine.close()
        print("\n[stopped]", file=sys.stderr)
        stop.done()
        return stop.exit_code or 130
    engine.close()
    stop.done()
    if result.record.reply:
        sys.stdout.write("\n")
    print(f"[{result.record.model}] {meter_line(result.record)}", file=sys.stderr)
    if not result.ok:
        print(f"error: {redact(result.error)}", file=sys.stderr)
        return 1
    return 0


def _eval(args) -> int:
    from chat.engine.shutdown import Shutdown
    from chat.evaluation.estimate import estimate, summary_line
    from chat.evaluation.estimate import table as estimate_table
    from chat.evaluation.questionsets import load
    from chat.evaluation.ratings import load_rubric
    from chat.evaluation.runs import create
    from chat.storage import runs as queries

    qs = load(args.set, system=args.system)
    if args.cache is not None:
        qs = dataclasses.replace(qs, cache=args.cache)
    if not _study_settings(args, qs):
        return 2
    rubric = load_rubric(args.rubric)
    engine = _engine(args)
    done = queries.answered_cells(engine.store, args.resume) if args.resume else set()
    est = estimate(engine, qs, args.model, args.repeats, args.concurrency, args.max_tokens, args.temperature, done)
    if args.json:
        print(json.dumps(est.as_json(), indent=2))
    elif args.dry_run:
        _print_table(*estimate_table(est))
    if args.dry_run:
        print("dry run: no call was made and no run was recorded", file=sys.stderr)
        return 0
    print(f"estimate: {summary_line(est)}", file=sys.stderr)
    refused = _go_ahead(args, est)
    if refused is not None:
        return refused
    stop = Shutdown(engine).install()
    run_id = create(engine, qs, args.model, args.repeats, args.concurrency, args.max_tokens, args.temperature, args.resume,
                    estimate=est.as_json())
    print(f"run {run_id}: {len(qs.questions)} questions x {len(args.model)} models"
          f"{f' x {len(qs.variants)} variants' if qs.variants else ''} x {args.repeats} repeats "
          f"-> {engine.store.where}", file=sys.stderr)
    if not _execute(engine, run_id, qs, args):
        engine.close()
        print(f"\ncancelled; resume with: python -m chat eval {args.set} {' '.join('-m ' + m for m in args.model)} "
              f"--repeats {args.repeats} --resume {run_id}", file=sys.stderr)
        stop.done()
        return stop.exit_code or 130
    failed = _eval_results(engine, run_id, rubric, args)
    engine.close()
    stop.done()
    return 1 if failed else 0


def _study_settings(args, qs) -> bool:
    """The models and run settings a flag leaves unsaid, from the study file; False (said why) with no model."""
    args.model = args.model or list(qs.meta.get("models") or [])
    if not args.model:
        print("error: name the models with -m (e.g. -m gpt-4o-mini -m claude-haiku-4-5), or list them under "
              "'models:' in a study file such as examples/model_selection.yaml", file=sys.stderr)
        return False
    for name, default in (("repeats", 1), ("concurrency", 4), ("max_tokens", None), ("temperature", None)):
        if getattr(args, name) is None:  # a flag wins; else the study's, checked when it was read
            setattr(args, name, qs.meta.get(name, default))
    return True


def _go_ahead(args, est) -> int | None:
    """None to start; else the exit code, said why: over --max-cost, or not confirmed at a terminal."""
    from chat.wording import format_usd

    if args.max_cost is not None and (est.cost_high is None or est.cost_high > args.max_cost):
        high = "has no upper bound (an unpriced model, or no max tokens)" if est.cost_high is None else \
            f"may cost up to {format_usd(est.cost_high)}"
        print(f"error: this run {high}, above --max-cost {format_usd(args.max_cost)}; lower --repeats or "
              "--max-tokens, or drop a model", file=sys.stderr)
        return 2
    over = est.cost_high is None or est.cost_high > args.confirm_over
    if over and not args.yes and sys.stdin.isatty() and sys.stderr.isatty():
        high = "an unbounded amount" if est.cost_high is None else f"up to {format_usd(est.cost_high)}"
        print(f"This run may spend {high}. Go ahead? [y/N] ", end="", file=sys.stderr, flush=True)
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            print("not started; nothing was spent", file=sys.stderr)
            return 1
    return None


def _execute(engine, run_id: str, qs, args) -> bool:
    """The run's cells with a progress bar; False when Ctrl-C cancelled it."""
    import os

    from tqdm import tqdm

    from chat.engine import Caller
    from chat.evaluation.runs import execute

    bar = None
    try:
        for p in execute(engine, run_id, qs, args.model, args.repeats, args.concurrency, args.max_tokens, args.temperature,
                         caller=Caller(spend_key=f"cli:{os.getpid()}")):
            if bar is None:
                bar = tqdm(total=p.total, initial=p.done, unit="answer", file=sys.stderr, dynamic_ncols=True)
            else:
                bar.update(p.done - bar.n)
            bar.set_postfix(failed=p.failed, refresh=False)
    except KeyboardInterrupt:
        return False
    finally:
        if bar:
            bar.close()
    return True


def _eval_results(engine, run_id: str, rubric, args) -> int:
    """The run's table, its estimate beside the actual, the reports asked for; the answers that failed."""
    from chat.evaluation import report_files
    from chat.evaluation.estimate import beside_actual
    from chat.evaluation.report import model_table
    from chat.evaluation.summary import summarize

    engine.store.flush()
    summary = summarize(engine.store, run_id, rubric)
    _print_table(*model_table(summary.models))
    print(beside_actual(summary.run, summary.rows), file=sys.stderr)
    if args.out:
        csv_path, html_path = report_files.write_report(summary, Path(args.out), engine.prices, per_day=args.per_day,
                                                        ratios=engine.ratios)
        print(f"\nwrote {csv_path} and {html_path}", file=sys.stderr)
        if args.blind:
            _, blind_path, key_path = report_files.write_blind(summary, Path(args.out), engine.prices,
                                                               per_day=args.per_day)
            print(f"wrote {blind_path} (key: {key_path})", file=sys.stderr)
    failed = sum(1 for r in summary.rows if r.status != "ok")
    if failed:
        first = next(r.error for r in summary.rows if r.status != "ok")
        print(f"{failed} answers failed (first: {redact(first)}); rerun with --resume {run_id} to retry them",
              file=sys.stderr)
    return failed


def _print_table(head: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    for row in [head, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def _runs(args) -> int:
    from chat.evaluation.summary import list_runs
    from chat.storage.store import Store

    for run in list_runs(Store(args.db)):
        print(f"{run.id}  {run.set_name}  models={','.join(run.models)}  "
              f"repeats={run.repeats}  answers={run.answers}")
    return 0


def _report(args) -> int:
    from chat.engine.pricing import load_prices
    from chat.engine.token_ratios import TokenRatios
    from chat.evaluation import report_files
    from chat.evaluation.ratings import load_rubric
    from chat.evaluation.summary import summarize
    from chat.storage.store import Store
    from chat.ui.i18n import words

    store = Store(args.db)
    summary = summarize(store, args.run_id, load_rubric(args.rubric))
    word = words(args.lang)  # the report is for the team's managers: in their language; the CLI itself stays English
    prices = load_prices(args.pricing)
    if args.blind:
        csv_path, html_path, key_path = report_files.write_blind(summary, Path(args.out), prices, args.per_day,
                                                                 word=word)
        print(f"wrote {csv_path} and {html_path}; the key to the letters is in {key_path}")
        return 0
    csv_path, html_path = report_files.write_report(summary, Path(args.out), prices, args.per_day, _constraints(args),
                                                    word=word, ratios=TokenRatios(store, prices))
    print(f"wrote {csv_path} and {html_path}")
    return 0


def _decide(args) -> int:
    from chat.evaluation.decision import decide
    from chat.evaluation.decision_words import (
        cache_note,
        checks_table,
        decision_json,
        full_table,
        pairs_table,
        reason,
        scores_note,
        shortlist_table,
    )
    from chat.evaluation.ratings import load_rubric
    from chat.evaluation.summary import summarize
    from chat.storage.store import Store

    if (args.max_monthly is None) != (args.per_day is None) and args.max_monthly is not None:
        print("error: --max-monthly needs --per-day N, the questions a day it is reckoned at", file=sys.stderr)
        return 2
    constraints = _constraints(args)
    summary = summarize(Store(args.db), args.run_id, load_rubric(args.rubric))
    d = decide(summary, constraints, margin=args.margin)
    if args.json:
        print(json.dumps(decision_json(d), indent=2, ensure_ascii=False))
        return 0
    print(reason(d))
    print(scores_note(d) + " Intervals are 95%, with the question as the unit (docs/methods.md). A check meets its "
          "limit only when the whole interval is on the right side of it, misses it when the whole interval is on the "
          "wrong side, and is uncertain otherwise.\n")
    if cache_note(d):
        print(cache_note(d) + "\n")
    _print_table(*shortlist_table(d))
    print()
    _print_table(*checks_table(d))
    if args.long:
        print()
        _print_table(*full_table(d))
    if d.pairs:
        print()
        _print_table(*pairs_table(d))
    if constraints.per_day:
        _print_cached(summary, args, constraints.per_day)
    return 0


def _print_cached(summary, args, per_day: int) -> None:
    """The month with the FAQ cached beside it without, per candidate the vendor would cache it for."""
    from chat.engine.pricing import load_prices
    from chat.evaluation.projection import project
    from chat.evaluation.report import cached_text

    lines = [f"  {p.model}: {cached_text(p)}" for p in project(summary.models, load_prices(args.pricing), per_day)
             if p.cached is not None]
    if lines:
        print(f"\nat {per_day:,} a day, a month with the FAQ cached (questions at random over 9:00-18:00, a 5-minute "
              "cache), from the run's own cache reads and writes where its vendor cached the FAQ:")
        print("\n".join(lines))


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:30]!r} is not a number of seconds, e.g. 3 or 0.8") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError("must be a number of seconds from 0 to 3,600")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:30]!r} is not a rate, e.g. 0.9 or 90%") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be a rate from 0 to 1 (or 0% to 100%)")
    return value


def _criterion_score(text: str) -> tuple[str, float]:
    name, sep, number = text.partition("=")
    try:
        value = float(number)
    except ValueError:
        value = None
    if not sep or not name.strip() or value is None or not 0 <= value <= 5:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} should be CRITERION=SCORE, e.g. answers=4")
    return name.strip(), value


def _prices(args) -> int:
    from chat.engine.pricing import load_prices

    table = load_prices(args.pricing)
    if not args.check:
        for price in table:
            basis = (f"${price.usd_per_hour}/hour ÷ {price.concurrent_requests}" if price.basis == "compute"
                     else f"in {price.rates.input} out {price.rates.output}")
            print(f"{price.model}  {price.provider}  {basis}  {price.source or ''}  {price.checked or ''}".rstrip())
        return 0
    try:
        from chat.engine.price_check import check
    except ImportError:
        print("error: prices --check compares against genai-prices: pip install 'genai-prices>=0.2,<0.3'", file=sys.stderr)
        return 2
    try:
        differences, uncovered = check(table)
    except ImportError:
        print("error: prices --check compares against genai-prices: pip install 'genai-prices>=0.2,<0.3'", file=sys.stderr)
        return 2
    for d in differences:
        print(f"{d.model}  {d.field}: pricing.yaml {d.ours.normalize():f}, genai-prices {d.theirs.normalize():f} "
              "(USD per 1M tokens; long_context.*: USD of one prompt just past the threshold)")
    compared = sum(1 for _ in table) - len(uncovered)
    print(f"\n{compared} models compared, {len(differences)} figures differ; not in genai-prices: "
          f"{', '.join(uncovered) or 'none'}", file=sys.stderr)
    return 1 if differences else 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _usd(text: str) -> Decimal:
    try:
        value = Decimal(text.strip().lstrip("$"))
    except (InvalidOperation, AttributeError):
        raise argparse.ArgumentTypeError(f"{text[:30]!r} is not an amount in USD, e.g. 5 or 0.50") from None
    if not value.is_finite() or value < 0 or value > 1_000_000:
        raise argparse.ArgumentTypeError("must be an amount in USD from 0 to 1,000,000")
    return value


def _lang(text: str) -> str:
    """A report's language, among the catalogs' (read when asked: the CLI starts without the UI's modules)."""
    from chat.ui.i18n import LANGS

    lang = text.strip().lower()
    if lang not in LANGS:
        raise argparse.ArgumentTypeError(f"language {text[:20]!r}: use {' or '.join(LANGS)}")
    return lang


def _option(name: str):
    """An argparse type that checks a value by the option's one declaration (chat.engine.options)."""
    def check(text: str):
        from chat.engine import options

        option = getattr(options, name)
        try:
            return option.check(text)
        except options.BadOption as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"{option.label} ")) from None
    check.__name__ = name.lower()
    return check


def _constraint_flags(p: argparse.ArgumentParser) -> None:
    """The team's constraints, for decide and for the report that leads with the decision."""
    p.add_argument("--max-ttft-p95", type=_seconds, metavar="SECONDS", help="slowest 95th-percentile first token")
    p.add_argument("--max-latency-p95", type=_seconds, metavar="SECONDS", help="slowest 95th-percentile whole answer")
    p.add_argument("--min-score", type=_criterion_score, action="append", metavar="CRITERION=X",
                   help="lowest mean score on a criterion (repeat for more), e.g. --min-score answers=4")
    p.add_argument("--min-acceptable", type=_rate, metavar="RATE", help="lowest share of acceptable answers, e.g. 0.9")
    p.add_argument("--max-cost-per-question", type=_usd, metavar="USD")
    p.add_argument("--max-monthly", type=_usd, metavar="USD", help="highest monthly cost at --per-day")
    p.add_argument("--max-failure-rate", type=_rate, metavar="RATE",
                   help="highest share of attempts that fail, e.g. 0.02 (default: 0.05, applied only to rule out a "
                        "candidate whose whole interval is above it)")


def _constraints(args):
    from chat.evaluation.decision import Constraints

    return Constraints(args.max_ttft_p95, args.max_latency_p95, dict(args.min_score or []), args.min_acceptable,
                       args.max_cost_per_question, args.per_day, args.max_monthly, args.max_failure_rate)


def _cap_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--daily-cap", metavar="USD", help="spend cap per UTC day shared with the app and every other "
                                                      "process on this log (CHAT_DAILY_CAP_USD)")
    p.add_argument("--session-cap", metavar="USD", help="spend cap for this command (CHAT_SESSION_CAP_USD)")


class OneLineErrors(argparse.ArgumentParser):
    """Bad arguments: one line naming what is wrong, exit code 2 (the usage is one --help away)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    p = OneLineErrors(prog="python -m chat", description="Chat with any LLM; every reply metered and logged.")
    p.add_argument("--pricing", help="pricing file (default: pricing.yaml beside the code)")
    sub = p.add_subparsers(dest="command", required=True)
    _chat_parsers(sub)
    _eval_parser(sub)
    _decision_parsers(sub)
    from chat.ui import cli_db, cli_logs, cli_tokens

    cli_logs.add_parsers(sub)
    cli_db.add_parsers(sub)
    cli_tokens.add_parsers(sub)
    return p


def _chat_parsers(sub) -> None:
    """models, ask, prices."""
    mo = sub.add_parser("models", help="list models, availability and prices")
    mo.add_argument("--options", metavar="MODEL", help="list the parameters MODEL takes, with their bounds")
    mo.add_argument("--long", action="store_true", help="every column in full (why a model is not ready, prices)")
    ask = sub.add_parser("ask", help="stream one reply to stdout; the meter goes to stderr")
    ask.add_argument("prompt")
    ask.add_argument("-m", "--model", help="model name (default: CHAT_DEFAULT_MODEL, else the embedded model)")
    ask.add_argument("--system", help="system prompt")
    ask.add_argument("--max-tokens", type=_option("MAX_TOKENS"))
    ask.add_argument("--temperature", type=_option("TEMPERATURE"))
    ask.add_argument("--cache", type=_option("CACHE"), help="auto (default) or off: mark the system prompt for the "
                     "vendor's prompt cache where it must be asked")
    ask.add_argument("--db", help=DB_HELP)
    _cap_flags(ask)
    prices = sub.add_parser("prices", help="list pricing.yaml; --check compares every figure with genai-prices")
    prices.add_argument("--check", action="store_true", help="print each figure that differs from genai-prices' data "
                                                             "(exit 1 when any does)")


def _eval_parser(sub) -> None:
    """eval: a question set across models, with repeats."""
    ev = sub.add_parser("eval", help="run a question set across models, with repeats; prints results, writes a report")
    ev.add_argument("set", help="question set: .yaml, .csv (question[,id,reference]) or .txt (one per line); or a study "
                                "file naming a set, its models and repeats (examples/model_selection.yaml)")
    ev.add_argument("-m", "--model", action="append", help="a model to ask (repeat for more; default: the study's)")
    ev.add_argument("--repeats", type=_option("REPEATS"), help="times each question is asked per model (default: the "
                                                          "study's, else 1)")
    ev.add_argument("--concurrency", type=_option("CONCURRENCY"), help="answers in flight at once (default: the "
                                                                      "study's, else 4)")
    ev.add_argument("--system", help="system prompt (overrides the set's own)")
    ev.add_argument("--max-tokens", type=_option("MAX_TOKENS"))
    ev.add_argument("--temperature", type=_option("TEMPERATURE"))
    ev.add_argument("--cache", type=_option("CACHE"), help="auto (default) or off: mark the system prompt for the "
                    "vendor's prompt cache where it must be asked (overrides the study's cache:)")
    ev.add_argument("--resume", metavar="RUN_ID", help="continue a run: finished answers are skipped")
    ev.add_argument("--rubric", help="rubric YAML for the ratings summary (default: the three-criterion study rubric)")
    ev.add_argument("--out", help="folder for the CSV and the self-contained HTML report")
    ev.add_argument("--blind", action="store_true", help="also write a blind report (models named A, B, C…)")
    ev.add_argument("--per-day", type=_positive_int, default=1000, metavar="N",
                    help="questions a day for the report's monthly projection (default 1,000)")
    ev.add_argument("--dry-run", action="store_true", help="print the estimate (calls, tokens, cost low to high, time) "
                                                           "and stop: no call is made and no run recorded")
    ev.add_argument("--json", action="store_true", help="print the estimate as JSON (with --dry-run, nothing else)")
    ev.add_argument("--confirm-over", type=_usd, default=Decimal(1), metavar="USD",
                    help="on a terminal, ask before a run that may cost more than this (default $1)")
    ev.add_argument("--yes", action="store_true", help="do not ask, whatever the estimate")
    ev.add_argument("--max-cost", type=_usd, metavar="USD", help="refuse a run whose high estimate is above this")
    ev.add_argument("--db", help=DB_HELP)
    _cap_flags(ev)


def _decision_parsers(sub) -> None:
    """decide, runs, report."""
    de = sub.add_parser("decide", help="which model (and variant) to choose from a run, given your constraints")
    de.add_argument("run_id")
    _constraint_flags(de)
    de.add_argument("--per-day", type=_positive_int, metavar="N", help="questions a day, for the monthly cost")
    de.add_argument("--margin", type=float, default=0.25, help="score difference worth telling apart, for the "
                                                              "repeats needed (default 0.25 points)")
    de.add_argument("--rubric")
    de.add_argument("--json", action="store_true", help="the decision as JSON: recommended, candidates with their "
                                                        "checks and verdicts, pairs")
    de.add_argument("--long", action="store_true", help="also every figure of every candidate")
    de.add_argument("--db", help=DB_HELP)
    runs = sub.add_parser("runs", help="list question-set runs")
    runs.add_argument("--db", help=DB_HELP)
    rep = sub.add_parser("report", help="write the CSV and HTML report of a run")
    rep.add_argument("run_id")
    rep.add_argument("--out", default="reports")
    rep.add_argument("--rubric")
    rep.add_argument("--db", help=DB_HELP)
    rep.add_argument("--blind", action="store_true", help="name the models A, B, C… (the key goes in a separate file)")
    rep.add_argument("--lang", type=_lang, default="en", help="the report's language: en, or any with a catalog in "
                     "chat/locale (ko; docs/translating.md)")
    rep.add_argument("--per-day", type=_positive_int, default=1000, metavar="N",
                     help="questions a day for the monthly projection (default 1,000)")
    _constraint_flags(rep)


def main(argv=None) -> int:
    load_env()
    install_redaction()
    args = parser().parse_args(argv)
    try:
        from chat.engine.settings import timeouts

        timeouts()  # a malformed CHAT_TIMEOUT is a configuration error: say so before any call
        from chat.wording import currency

        currency()
        from chat.ui.cli_db import run_db
        from chat.ui.cli_logs import run_logs, run_stats
        from chat.ui.cli_tokens import run_tokens

        commands = {"models": _models, "ask": _ask, "eval": _eval, "runs": _runs, "report": _report, "decide": _decide,
                    "prices": _prices, "logs": run_logs,
                    "stats": run_stats, "db": run_db, "tokens": run_tokens}
        return commands[args.command](args)
    except ValueError as exc:  # configuration errors (pricing.yaml, CHAT_* variables) carry their own fix
        from chat.evaluation.runs import NoSuchRun

        hint = f" in {exc.where}; list runs with: python -m chat runs" if isinstance(exc, NoSuchRun) else ""
        print(f"error: {redact(str(exc))}{hint}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `python -m chat models | head`: the reader left, which is no error of ours
        sys.stderr.close()
        return 0
    except StoreError as exc:  # a log that cannot be opened, or was upgraded by newer code: already one line
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return 1
    except database_errors() as exc:  # a damaged, locked or foreign log: say which, without a traceback
        print(f"error: the log could not be read or written ({redact(str(exc))}); check --db / CHAT_DB",
              file=sys.stderr)
        return 1

