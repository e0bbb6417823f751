"""Command line: `python -m chat models | ask`."""
from __future__ import annotations

import argparse
import sys

from .config import default_model, load_env


def _models(args) -> int:
    from .display import price_text
    from .models import listed, resolve
    from .pricing import load_prices

    prices = load_prices(args.pricing)
    rows = []
    for model in listed(prices):
        ok, why = model.status()
        window = model.context_window
        rows.append((model.name, model.endpoint.name, "yes" if ok else f"no: {why}", price_text(model.price),
                     f"{window:,}" if window else "–"))
    default = default_model()
    if default not in prices:
        try:
            m = resolve(default, prices)
            ok, why = m.status()
            rows.append((m.name, m.endpoint.name, "yes" if ok else f"no: {why}", price_text(m.price), "–"))
        except ValueError:
            pass
    header = ("MODEL", "PROVIDER", "AVAILABLE", "PRICE (USD per 1M tokens)", "CONTEXT")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())
    print(f"\nDefault model: {default}. Any model an endpoint serves works as endpoint:model, e.g. ollama:llama3.2.")
    return 0


def _ask(args) -> int:
    from .display import meter_line
    from .engine import ChatRequest, Chunk, Engine, Result
    from .pricing import load_prices
    from .store import Store

    engine = Engine(Store(args.db), load_prices(args.pricing))
    req = ChatRequest(
        model=args.model or default_model(),
        prompt=args.prompt,
        system=args.system,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        session_id="cli",
    )
    result = None
    try:
        for item in engine.stream(req):
            if isinstance(item, Chunk):
                sys.stdout.write(item.text)
                sys.stdout.flush()
            elif isinstance(item, Result):
                result = item
    except KeyboardInterrupt:
        print("\n[stopped]", file=sys.stderr)
        engine.store.flush()
        return 130
    engine.store.flush()
    if result.record["reply"]:
        sys.stdout.write("\n")
    print(f"[{result.record['model']}] {meter_line(result.record)}", file=sys.stderr)
    if not result.ok:
        print(f"error: {result.error}", file=sys.stderr)
        return 1
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _temperature(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 2:
        raise argparse.ArgumentTypeError("must be between 0 and 2")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m chat", description="Chat with any LLM; every reply metered and logged.")
    p.add_argument("--pricing", help="pricing file (default: pricing.yaml beside the code)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("models", help="list models, availability and prices")
    ask = sub.add_parser("ask", help="stream one reply to stdout; the meter goes to stderr")
    ask.add_argument("prompt")
    ask.add_argument("-m", "--model", help="model name (default: CHAT_DEFAULT_MODEL, else the embedded model)")
    ask.add_argument("--system", help="system prompt")
    ask.add_argument("--max-tokens", type=_positive_int)
    ask.add_argument("--temperature", type=_temperature)
    ask.add_argument("--db", help="SQLite log (default: CHAT_DB, else logs/chat.db)")
    return p


def main(argv=None) -> int:
    load_env()
    args = parser().parse_args(argv)
    try:
        from .endpoints import timeouts

        timeouts()  # a malformed CHAT_TIMEOUT is a configuration error: say so before any call
        if args.command == "models":
            return _models(args)
        return _ask(args)
    except ValueError as exc:  # configuration errors (pricing.yaml, CHAT_* variables) carry their own fix
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
