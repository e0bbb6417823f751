"""`python -m chat tokens TEXT|--file F [-m MODEL …]`: what each model would bill for a text, and where the figure
comes from: its vendor's own tokenizer (ours), a ratio learned from its logged answers, or its family's prior."""
from __future__ import annotations

import sys
from pathlib import Path

MAX_FILE_BYTES = 5_000_000


def add_parsers(sub) -> None:
    tk = sub.add_parser("tokens", help="each model's input tokens for a text, and whether exact, learned or a prior")
    tk.add_argument("text", nargs="?", help="the text (or --file)")
    tk.add_argument("--file", type=Path, help="read the text from this file (UTF-8)")
    tk.add_argument("-m", "--model", action="append", help="model (repeatable; default: every priced model)")
    tk.add_argument("--db", help="the log the ratios are learned from (default: CHAT_DB, else logs/chat.db)")


def _text(args) -> str:
    if (args.text is None) == (args.file is None):
        raise ValueError("give one text to count: as an argument, or --file FILE")
    if args.text is not None:
        return args.text
    try:
        if args.file.stat().st_size > MAX_FILE_BYTES:
            raise ValueError(f"{args.file} is over {MAX_FILE_BYTES:,} bytes; count a part of it")
        return args.file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read {args.file} ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{args.file} is not UTF-8 text; save it as UTF-8") from None


def run_tokens(args) -> int:
    from chat.engine import Engine
    from chat.engine.pricing import load_prices
    from chat.engine.token_ratios import our_count, script_of
    from chat.storage.backend import default_target, is_url
    from chat.storage.store import Store

    text = _text(args)
    prices = load_prices(args.pricing)
    target = args.db or default_target()
    if not is_url(target) and not Path(target).exists():
        # nothing learned yet: every figure is a prior, and counting a text creates no log
        import tempfile

        print(f"no log at {target}: every ratio is its family's prior", file=sys.stderr)
        target = Path(tempfile.mkdtemp(prefix="chat-tokens-")) / "empty.db"
    engine = Engine(Store(target), prices)
    names = args.model or [p.model for p in prices if p.basis == "tokens" and (p.rates.input or p.rates.output)]
    messages = [{"role": "user", "content": text}]
    counted, script = our_count(messages), script_of(text)
    print(f"our count: {counted:,} tokens (o200k_base, as one user message); the text is mostly "
          f"{'Hangul' if script == 'hangul' else 'Latin letters'}")
    rows = []
    for name in names:
        model = engine.resolve(name)  # UnknownModel says what to fix
        ratio = engine.token_ratio(model, script)
        if ratio.source == "learned":
            how = f"learned from {ratio.answers:,} answers, x{ratio.mean:.2f} ({ratio.low:.2f}-{ratio.high:.2f})"
        elif ratio.exact:
            how = "exact tokenizer (o200k_base)"
        else:
            how = f"prior x{ratio.mean:.2f} (up to {ratio.high:.2f}): {ratio.family}"
        rows.append((model.name, f"{ratio.tokens(counted):,}", how))
    width = max(len(r[0]) for r in rows)
    for name, n, how in rows:
        print(f"{name:<{width}}  {n:>9}  {how}")
    engine.store.close()
    sys.stdout.flush()
    return 0
