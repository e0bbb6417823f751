"""Entry point: `python demo.py` opens the chat app (see --help)."""
from __future__ import annotations

import argparse
import os
import sys

MAX_UPLOAD = "5mb"  # question sets and rubrics are text: anything bigger is a mistake or an attack

# Gradio phones home for analytics and version checks; this machine may be offline and users may not want it.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def parse_auth(values: list[str]) -> list[tuple[str, str]]:
    """'user:pass' entries, from --auth flags or DEMO_AUTH (comma-separated)."""
    pairs = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            user, sep, password = item.partition(":")
            if not sep or not user or not password:
                raise ValueError(f"auth entry {user or item!r} must be user:password (e.g. --auth alice:s3cret)")
            pairs.append((user, password))
    return pairs


def _local_models(given: list[str]):
    """The model files the app's users may load: the operator's folders, never where Gradio keeps uploads."""
    from gradio.utils import get_upload_folder

    from chat.engine.config import default_model
    from chat.engine.local_models import LocalModels, folders_from_env

    endpoint, _, path = default_model().partition(":")
    return LocalModels.offered_by(folders_from_env(given), never=[get_upload_folder()],
                                  files=[path] if endpoint == "local" and path else [])


def main(argv=None) -> int:
    from chat.engine.config import load_env
    from chat.storage.backend import DB_HELP

    load_env()
    p = argparse.ArgumentParser(description="Chat with any LLM; every reply metered and logged.")
    p.add_argument("--host", default=os.environ.get("DEMO_HOST", "127.0.0.1"), help="interface to listen on (0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", "7860")))
    p.add_argument("--share", action="store_true", help="create a public gradio.live link (use with --auth)")
    p.add_argument("--auth", action="append", default=[], metavar="USER:PASS", help="require login; repeat for more users")
    p.add_argument("--admin", action="append", default=[], metavar="USER",
                   help="a login who sees every user's exchanges in the Logs tab; repeat for more (DEMO_ADMINS)")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--session-cap", help="USD a browser session may spend on paid models (CHAT_SESSION_CAP_USD)")
    p.add_argument("--daily-cap", help="USD all users and processes together may spend per UTC day (CHAT_DAILY_CAP_USD)")
    p.add_argument("--user-cap", help="USD each login may spend per UTC day, with --auth (CHAT_USER_CAP_USD)")
    p.add_argument("--rate-limit", help="requests a minute per browser session or login (CHAT_RATE_LIMIT)")
    p.add_argument("--lang", default=os.environ.get("DEMO_LANG"), metavar="LANG",
                   help="the app's language for everyone, en or any with a catalog in chat/locale (ko) (DEMO_LANG); "
                        "default: each reader's browser's")
    p.add_argument("--tz", default=os.environ.get("DEMO_TZ"), metavar="ZONE",
                   help="show times in this zone, e.g. Asia/Seoul (DEMO_TZ); default: each reader's browser's. "
                        "The log keeps UTC")
    p.add_argument("--rubric", help="rubric YAML for ratings (CHAT_RUBRIC); default: the three-criterion study rubric")
    p.add_argument("--frame-ancestors", default=os.environ.get("DEMO_FRAME_ANCESTORS"), metavar="SOURCES",
                   help="who may frame the app: 'none' (default), 'self', or the sites that embed it "
                        "(DEMO_FRAME_ANCESTORS)")
    p.add_argument("--models-dir", action="append", default=[], metavar="FOLDER",
                   help="a folder of .gguf files the app's users may choose as local models; repeat for more "
                        "(CHAT_MODELS_DIR). The bundled model is always offered; no other file path is loaded")
    args = p.parse_args(argv)

    from starlette.middleware import Middleware

    from chat.engine import Engine
    from chat.engine.budget import Budget, limits
    from chat.engine.pricing import load_prices
    from chat.engine.settings import timeouts
    from chat.engine.shutdown import Shutdown
    from chat.evaluation.ratings import load_rubric
    from chat.redact import install as install_redaction
    from chat.redact import redact, register
    from chat.storage.backend import StoreError
    from chat.storage.store import Store
    from chat.ui.access import Access
    from chat.ui.app import CSS, build_app
    from chat.ui.csp import ContentSecurityPolicy, check_frame_ancestors
    from chat.ui.i18n import CATALOGUE
    from chat.ui.login_guard import HideApiInfoUntilLogin, PostOnlyLogout

    install_redaction()
    try:
        timeouts()
        from chat.wording import currency

        currency()  # CHAT_CURRENCY / CHAT_USD_RATE: a bad value stops here with one line, not mid-reply
        if args.tz:
            from chat.ui.display import zone

            zone(args.tz)
        from chat.ui.i18n import check_lang

        args.lang = check_lang(args.lang)
        frame_ancestors = check_frame_ancestors(args.frame_ancestors)
        if args.lang:
            os.environ["DEMO_LANG"] = args.lang  # what handlers write follows it too (chat.ui.i18n.language)
        from chat.engine.providers.llama_state import capacity_bytes
        from chat.engine.providers.local_llama import context_size, thread_count

        context_size(), capacity_bytes(), thread_count()  # the embedded model's settings, checked now rather than at its first use
        from chat.engine.providers.llama_process import worker_limit

        worker_limit()
        local = _local_models(args.models_dir)
        auth = parse_auth(args.auth or ([os.environ["DEMO_AUTH"]] if os.environ.get("DEMO_AUTH") else []))
        for _, password in auth:
            register(password)
        given = limits(args)
        session_cap, daily_cap, user_cap = given["session_cap"], given["daily_cap"], given["user_cap"]
        admins = [a.strip() for v in (args.admin or [os.environ.get("DEMO_ADMINS", "")]) for a in v.split(",")
                  if a.strip()]
        if admins and not auth:
            raise ValueError("--admin (DEMO_ADMINS) needs logins: add --auth USER:PASS")
        unknown = [a for a in admins if a not in {u for u, _ in auth}]
        if unknown:
            raise ValueError(f"--admin {unknown[0]!r} is not one of the --auth logins")
        if user_cap and not auth:
            raise ValueError("--user-cap (CHAT_USER_CAP_USD) needs logins: add --auth USER:PASS")
        prices = load_prices()
        rubric = load_rubric(args.rubric or os.environ.get("CHAT_RUBRIC"))
    except ValueError as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return 2
    try:
        store = Store(args.db)
    except StoreError as exc:  # a log that cannot be opened, or was upgraded by newer code
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return 2
    budget = Budget(session_cap, daily_cap, user_cap, given["rate_limit"], store)
    engine = Engine(store, prices, budget, local)
    stop = Shutdown(engine).install()

    beyond_loopback = args.host not in ("127.0.0.1", "localhost", "::1")
    if (args.share or beyond_loopback) and not auth:
        bar = "!" * 78
        how = "--share" if args.share else f"--host {args.host}"
        who = "anyone with the link" if args.share else "anyone who can reach this machine"
        print(f"\n{bar}\nWARNING: {how} without --auth makes this app PUBLIC: {who} can chat\n"
              f"on your API keys. Add --auth USER:PASS (or DEMO_AUTH) and a spend cap (--daily-cap).\n{bar}\n",
              file=sys.stderr)
    if (args.share or beyond_loopback) and not (session_cap or daily_cap):
        print("warning: sharing with no spend cap; set --daily-cap / CHAT_DAILY_CAP_USD to bound the bill", file=sys.stderr)

    import threading

    from chat.engine.config import default_model

    try:
        first = engine.resolve(default_model())
        if first.endpoint.facts.local and first.status()[0]:
            from chat.engine.providers.local_llama import preload as preload_local

            threading.Thread(target=preload_local, args=(first.api_model,), name="model-preload", daemon=True).start()
    except ValueError:
        pass  # an unknown default model is reported when it is used
    # anyone but this machine can reach the app: a share link, or listening beyond loopback
    shared = args.share or beyond_loopback
    access = Access(auth=bool(auth), shared=shared, admins=frozenset(admins))
    demo = build_app(engine, rubric=rubric, access=access, tz=args.tz)
    # Estimates go out once a second, not to every waiting event each time one starts: with 100 people
    # arriving together that broadcast is 100² messages, and it held the first words back by a second
    demo.queue(default_concurrency_limit=None, status_update_rate=1)
    from chat.ui.serving import quiet_queue, settle_heap

    quiet_queue(demo)
    settle_heap()
    print(f"Logging every exchange to {store.where}", file=sys.stderr)
    try:
        demo.launch(
            server_name=args.host,
            server_port=args.port,
            share=args.share,
            auth=auth or None,
            auth_message="Log in to use the chat." if auth else None,
            # sync generators run in threads: enough for 50+ simultaneous streams
            max_threads=256,
            css=CSS,
            i18n=CATALOGUE.i18n(args.lang),  # the words registered as the page was built; the browser picks
            show_error=False,
            max_file_size=MAX_UPLOAD,
            # FastAPI's schema pages would describe every route to anyone, logged in or not
            app_kwargs={"openapi_url": None, "docs_url": None, "redoc_url": None,
                        "middleware": [Middleware(ContentSecurityPolicy, frame_ancestors=frame_ancestors),
                                       Middleware(HideApiInfoUntilLogin), Middleware(PostOnlyLogout)]},
        )
    except KeyboardInterrupt:
        pass  # a stop signal: fall through to the orderly close
    # launch() returns once the server stops (a signal, or Ctrl-C): log what is in flight, flush, leave
    engine.close()
    stop.done()
    return stop.exit_code


if __name__ == "__main__":
    sys.exit(main())
