"""The Logs tab: filter, search, summarize, chart and export the log; each visitor sees only what they may."""
from __future__ import annotations

import html
import json
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace

import gradio as gr
import pandas as pd

from chat.engine import Engine
from chat.evaluation.spreadsheet import dict_writer
from chat.storage import logs
from chat.storage.logs import LogFilter
from chat.storage.rows import STATUSES
from chat.ui import downloads
from chat.ui.access import Access, scope
from chat.ui.bind import bind
from chat.ui.display import cell, cost_breakdown, exchange_cell, local_time, meter_line
from chat.ui.i18n import error, language, say, t, words
from chat.ui.session import elsewhere
from chat.ui.timerange import PRESETS, parse_when, preset_since
from chat.ui.untrusted import plain
from chat.wording import Worded, counted, format_money

PAGE = 50
EXPORT_LIMIT = 100_000  # a browser download stays a sane size; the CLI exports everything
TABLE = ["created_at", "model", "status", "input_tokens", "output_tokens", "cost_usd", "ttft_ms", "latency_ms",
         "output_tokens_per_s", "user", "prompt"]
HEADERS = ["time", "model", "status", "in", "out", "cost", "TTFT", "latency", "tok/s", "user", "prompt"]
LATENCY_BINS = [0, 250, 500, 1000, 2000, 4000, 8000, 16000, 32000, float("inf")]


# what narrows the view beyond its time range (the range is the view's, shown in its own menu)
FILTER_FIELDS = ("models", "providers", "statuses", "session", "run", "compare", "usage_source", "text")


def who(access: Access, request: gr.Request | None, f: LogFilter | None = None) -> str:
    """Whose exchanges the view shows, and whether the filters narrow it further."""
    s = scope(access, request)
    lang = language(request)
    narrowed = f is not None and (f.narrows(FILTER_FIELDS) or (f.user and not s.user))
    matching = say(" that match the filters", lang) if narrowed else ""
    if s.user:
        return say("Showing your exchanges{matching} only (logged in as **{user}**).", lang, matching=matching,
                   user=plain(s.user))
    if s.browser_session:
        return say("Showing this browser session's exchanges{matching} only (the link is shared without logins).",
                   lang, matching=matching)
    if s.nothing:
        return say("Log in to see your exchanges.", lang)
    return (say("Showing the exchanges in the log{matching}.", lang, matching=matching) if narrowed
            else say("Showing every exchange in the log.", lang))


@dataclass(frozen=True)
class LogForm:
    """The Logs tab's filter fields as typed (the /logs route takes them in this order)."""

    preset: str | None = "all"
    since: str | None = None
    until: str | None = None
    models: list | None = None
    providers: list | None = None
    statuses: list | None = None
    text: str | None = None
    session: str | None = None
    run: str | None = None
    compare: str | None = None
    user: str | None = None
    source: str | None = "any"
    lang: str = "en"  # the reader's, for what a bad field is told in

    def to_filter(self) -> LogFilter:
        """The fields as a filter; gr.Error naming a bad field."""
        try:
            if self.preset == "custom":
                since = parse_when(self.since) if (self.since or "").strip() else None
                until = parse_when(self.until) if (self.until or "").strip() else None
            else:
                since, until = preset_since(self.preset or "all"), None
        except Worded as exc:
            raise error(say("Time range: {why}", self.lang, why=exc.worded(words(self.lang))), self.lang) from None
        clean = lambda v: (v or "").strip()[:500] or None if isinstance(v, str) else None  # noqa: E731
        listed = lambda v: [x for x in v if isinstance(x, str)][:100] if isinstance(v, list) else []  # noqa: E731
        return LogFilter(since=since, until=until, models=listed(self.models), providers=listed(self.providers),
                         statuses=[s for s in listed(self.statuses) if s in STATUSES], text=clean(self.text),
                         session=clean(self.session), run=clean(self.run), compare=clean(self.compare),
                         user=clean(self.user), usage_source=self.source if self.source in ("provider", "estimate") else None)


def summary_text(s: dict, lang: str = "en") -> str:
    n = s.get("exchanges") or 0
    if not n:
        return say("**No exchanges match.**", lang)
    spend = (format_money(Decimal(str(s["cost_usd"])), word=words(lang)) if s.get("cost_usd") is not None
             else say("unpriced", lang))
    unpriced = say(" (+{n} unpriced)", lang, n=f"{s['unpriced']:,}") if s.get("unpriced") else ""
    ms = lambda v: cell("x_ms", v)  # noqa: E731
    return counted("**{n} exchange** · errors {errors} · {i} in / {o} out tokens · spend **{spend}**{unpriced} · "
                   "TTFT p50 {t50} / p95 {t95} · latency p50 {l50} / p95 {l95} · estimated tokens {est} of rows",
                   "**{n} exchanges** · errors {errors} · {i} in / {o} out tokens · spend **{spend}**{unpriced} · "
                   "TTFT p50 {t50} / p95 {t95} · latency p50 {l50} / p95 {l95} · estimated tokens {est} of rows", n,
                   word=words(lang), n=f"{n:,}", errors=f"{s['error_rate']:.1%}", i=f"{s['input_tokens']:,}",
                   o=f"{s['output_tokens']:,}", spend=spend, unpriced=unpriced, t50=ms(s["ttft_p50_ms"]),
                   t95=ms(s["ttft_p95_ms"]), l50=ms(s["latency_p50_ms"]), l95=ms(s["latency_p95_ms"]),
                   est=f"{s['estimated_share']:.0%}")


def _table(rows: list, tz: str | None = None, lang: str = "en") -> pd.DataFrame:
    # a status is a word to the reader (in Korean too); the filter and the log keep the code's
    shown = lambda r, c: say(r.status, lang) if c == "status" else exchange_cell(r, c, tz)  # noqa: E731
    return pd.DataFrame([[shown(r, c) for c in TABLE] for r in rows], columns=[say(h, lang) for h in HEADERS])


LATENCY_LABELS = [f"<{cell('x_ms', hi)}" if hi != float("inf") else f"≥{cell('x_ms', lo)}"
                  for lo, hi in zip(LATENCY_BINS, LATENCY_BINS[1:])]  # in time order, which the chart keeps


def _latency_histogram(rows: list) -> pd.DataFrame:
    labels = LATENCY_LABELS
    counts: dict[tuple[str, str], int] = {}
    for r in rows:
        i = next(k for k, hi in enumerate(LATENCY_BINS[1:]) if r.latency_ms < hi)
        counts[(r.model, labels[i])] = counts.get((r.model, labels[i]), 0) + 1
    return pd.DataFrame([{"latency": b, "model": m, "replies": n} for (m, b), n in counts.items()],
                        columns=["latency", "model", "replies"])


def search(engine: Engine, access: Access, preset, since, until, models, providers, statuses, text, session, run,
           compare, user, source, order, request: gr.Request = None, tz: str | None = None):
    """A new search from the form (the /logs route): its first page, and the filter the other pages use."""
    f = LogForm(preset, since, until, models, providers, statuses, text, session, run, compare, user, source,
                language(request)).to_filter()
    return (*query(engine, access, f, order, 0, 0, request, tz), f)


def query(engine: Engine, access: Access, f: LogFilter | None, order, step, page_no, request: gr.Request = None,
          tz: str | None = None):
    """Summary, one page of the table (newest first, or by cost or latency), the page's ids, the charts and the
    page number shown (page_no moved by step, kept within the pages there are). Always within the visitor's scope."""
    f = (f if isinstance(f, LogFilter) else LogFilter()).narrowed(scope(access, request))
    engine.store.flush(timeout=5)  # this process's last replies are in the view
    summary = logs.summary(engine.store, f)
    pages = max(1, -(-(summary.get("exchanges") or 0) // PAGE))
    page_no = min(pages, max(1, int(page_no or 1) + int(step or 0)))
    rows = logs.page(engine.store, f, order=order if order in logs.ORDERS else "time", limit=PAGE,
                     offset=(page_no - 1) * PAGE)
    spend = pd.DataFrame(logs.spend_per_day(engine.store, f), columns=["day", "model", "cost_usd", "n"]).dropna()
    failures = pd.DataFrame(logs.failures_per_day(engine.store, f), columns=["day", "status", "n"])
    latency = _latency_histogram(logs.latencies(engine.store, f))
    lang = language(request)
    word = words(lang)
    shown_in = "\n\n" + say("Times in {tz}; the log keeps UTC.", lang, tz=tz) if tz and tz.upper() != "UTC" else ""
    failures["status"] = pd.Series([word(v) for v in failures["status"]], dtype=str)  # typed even when empty
    # axis and legend titles in the reader's words; the data keep plain column names (Vega-Lite reads paths in them)
    spend = gr.update(value=spend, x_title=word("day"), y_title="USD", color_title=word("model"))
    latency = gr.update(value=latency, x_title=word("latency"), y_title=word("replies"), color_title=word("model"))
    failures = gr.update(value=failures, x_title=word("day"), y_title=word("exchanges"), color_title=word("status"))
    return (who(access, request, f) + "\n\n" + summary_text(summary, lang) + shown_in, _table(rows, tz, lang),
            [r.id for r in rows], word("page {n} of {pages}", n=f"{page_no:,}", pages=f"{pages:,}"), spend, latency,
            failures, page_no)


def detail(engine: Engine, access: Access, exchange_id: str, request: gr.Request = None, tz: str | None = None):
    """One exchange in full — only within the visitor's scope; anyone else's id reads as not found."""
    exchange_id = (exchange_id or "").strip()[:100]
    word = words(language(request))
    if not exchange_id:
        return word("Select a row to see what was sent and received."), None, None
    row = logs.exchange(engine.store, LogFilter().narrowed(scope(access, request)), exchange_id)
    if row is None:
        return word("No exchange `{id}` that you can see.", id=plain(exchange_id)), None, None
    messages = json.loads(row.messages_json or "[]")
    esc = lambda v: plain(v) if v is not None else "–"  # noqa: E731 (names people typed, shown as text)
    when = local_time(row.created_at, tz) + (f" ({row.created_at} UTC)" if tz and tz.upper() != "UTC" else "")
    parts = [f"### {esc(row.model)} · {word(row.status)} · {when}",
             f"`{esc(row.id)}` · {word('provider')} {esc(row.provider)} · {word('session')} `{esc(row.session_id)}`"
             + (f" · {word('user')} {esc(row.user)}" if row.user else "")
             + (f" · {word('run')} `{esc(row.run_id)}`" if row.run_id else ""),
             f"**{word('Meter')}:** {meter_line(row, word) if row.input_tokens is not None else word(row.status)}",
             f"**{word('Cost')}:** {cost_breakdown(row, word)}"]
    if row.provider_latency_ms is not None:
        parts.append(word("Provider-reported latency {theirs} ms (ours, end to end: {ours} ms)",
                          theirs=f"{row.provider_latency_ms:,.0f}", ours=f"{row.latency_ms or 0:,.0f}"))
    if row.error:
        parts.append(f"**{word('Error')}:** {plain(row.error)}")  # as the log keeps it, and only as text
    if row.input_tokens or row.output_tokens:
        parts.append(elsewhere(row, engine.prices, word, engine))
    trimmed = word(" ({n} oldest turns trimmed to fit)", n=row.trimmed_turns) if row.trimmed_turns else ""
    parts.append(f"#### {word('What was sent')}{trimmed}")
    for m in messages:
        parts.append(f"**{m['role']}**\n\n<pre>{html.escape(str(m['content']))}</pre>")
    parts.append(f"#### {word('Reply')}\n\n<pre>{html.escape(row.reply or '')}</pre>")
    raw = {"params": json.loads(row.params_json or "null"), "usage": json.loads(row.usage_json or "null"),
           "usage_source": row.usage_source, "estimate_method": row.estimate_method}
    return "\n\n".join(parts), raw, messages


def pick(ids: list[str], evt: gr.SelectData):
    """The id of the clicked row on this page."""
    row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    return ids[row] if ids and 0 <= row < len(ids) else ""


def export(engine: Engine, access: Access, fmt, f: LogFilter | None, request: gr.Request = None):
    """The rows of the last search in full as CSV or JSONL (newest first, up to EXPORT_LIMIT)."""
    f = (f if isinstance(f, LogFilter) else LogFilter()).narrowed(scope(access, request))
    engine.store.flush(timeout=5)
    folder = downloads.new_folder("chat-logs-")
    path = folder / f"exchanges.{'csv' if fmt == 'CSV' else 'jsonl'}"
    n = 0
    # a BOM in the CSV: Excel on Korean Windows reads UTF-8 (Hangul) only with it; JSONL stays plain UTF-8
    with path.open("w", encoding="utf-8-sig" if fmt == "CSV" else "utf-8", newline="") as fh:
        writer = None
        for row in logs.export(engine.store, f, limit=EXPORT_LIMIT):
            row.pop("process", None)
            n += 1
            if fmt == "CSV":
                writer = writer or dict_writer(fh, list(row))
                if n == 1:
                    writer.writeheader()
                writer.writerow(row)
            else:
                fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    word = words(language(request))
    note = (word("Exported {n} exchanges (the newest {limit}; `python -m chat logs --csv -n 0` exports everything).",
                 n=f"{n:,}", limit=f"{EXPORT_LIMIT:,}") if n == EXPORT_LIMIT
            else word("Exported {n} exchanges.", n=f"{n:,}"))
    return str(path), note


def filter_choices(engine: Engine, access: Access, request: gr.Request = None):
    """The menus' values, from the rows this visitor may see."""
    f = LogFilter().narrowed(scope(access, request))
    return (gr.update(choices=logs.choices(engine.store, "model", f)),
            gr.update(choices=logs.choices(engine.store, "provider", f)))


def build(engine: Engine, tab: gr.Tab, access: Access, tz: gr.Textbox | None = None) -> None:
    """The Logs tab; `tz` holds the reader's time zone (the browser's, or --tz), which times are shown in."""
    ui = SimpleNamespace(tz=tz if tz is not None else gr.State(None))
    _filters(ui)
    _pages(ui)
    _charts_and_export(ui)
    _wire(ui, engine, access, tab)


def _filters(ui: SimpleNamespace) -> None:
    """What to search: a time range, models, providers, statuses, words, ids, the user, the token counts' source."""
    with gr.Row():
        ui.preset = gr.Dropdown([(t(name), name) for name in [*PRESETS, "custom"]], value="7 days",
                                label=t("Time range"), scale=1, elem_id="logs-range")
        ui.since = gr.Textbox(label=t("From (custom)"), placeholder=t("2026-11-01 or 2h"), scale=1,
                              elem_id="logs-since")
        ui.until = gr.Textbox(label=t("Until (custom)"), placeholder=t("2026-11-23T18:00"), scale=1)
        ui.models = gr.Dropdown([], multiselect=True, label=t("Models"), scale=2, elem_id="logs-models")
        ui.providers = gr.Dropdown([], multiselect=True, label=t("Providers"), scale=1)
        ui.statuses = gr.Dropdown([(t(name), name) for name in STATUSES], multiselect=True, label=t("Status"), scale=1,
                                  elem_id="logs-status")
    with gr.Row():
        ui.text = gr.Textbox(label=t("Search prompts and replies"), placeholder=t("refund …"), scale=3,
                             elem_id="logs-search")
        ui.session = gr.Textbox(label=t("Session"), scale=1)
        ui.run = gr.Textbox(label=t("Run"), scale=1)
        ui.compare = gr.Textbox(label=t("Compare"), scale=1)
        ui.user = gr.Textbox(label=t("User"), scale=1)
        ui.source = gr.Radio([(t(name), name) for name in ("any", "provider", "estimate")], value="any",
                             label=t("Token counts"), scale=1)
    ui.form = [ui.preset, ui.since, ui.until, ui.models, ui.providers, ui.statuses, ui.text, ui.session, ui.run,
               ui.compare, ui.user, ui.source]


def _pages(ui: SimpleNamespace) -> None:
    """The order, the pages, the summary, the table, and one exchange in full."""
    with gr.Row():
        ui.order = gr.Radio([(t("newest"), "time"), (t("costliest"), "cost"), (t("slowest"), "latency")], value="time",
                            label=t("Order"), scale=2)
        ui.prev_btn = gr.Button(t("◀ Previous"), scale=1)
        ui.page_label = gr.Markdown(t("page {n} of {pages}", n=1, pages=1), elem_id="logs-page")
        ui.next_btn = gr.Button(t("Next ▶"), scale=1)
        ui.refresh = gr.Button(t("Search"), variant="primary", scale=1, elem_id="logs-refresh")
    ui.page_no = gr.State(1)
    ui.ids = gr.State([])
    ui.summary = gr.Markdown(elem_id="logs-summary")
    ui.table = gr.Dataframe(headers=HEADERS, interactive=False, wrap=True, elem_id="logs-table", max_height=520)
    with gr.Row():
        ui.exchange_id = gr.Textbox(label=t("Exchange id"), elem_id="logs-exchange-id", scale=3)
        ui.show = gr.Button(t("Show"), scale=1)
    with gr.Row():
        with gr.Column(scale=3):
            ui.body = gr.Markdown(elem_id="logs-detail")
        with gr.Column(scale=2):
            ui.raw = gr.JSON(label=t("Parameters and raw usage"), elem_id="logs-raw")
            ui.sent = gr.JSON(label=t("Messages sent (exact)"), elem_id="logs-sent")


def _charts_and_export(ui: SimpleNamespace) -> None:
    with gr.Row():
        ui.spend = gr.BarPlot(x="day", y="cost_usd", color="model", title=t("Spend per day (USD)"), y_title="USD")
        ui.latency = gr.BarPlot(x="latency", y="replies", color="model", title=t("Latency distribution (newest 5,000)"),
                                elem_id="logs-latency", sort=LATENCY_LABELS)
        ui.failures = gr.BarPlot(x="day", y="n", color="status", title=t("Failures per day"), y_title="exchanges")
    with gr.Row():
        ui.fmt = gr.Radio(["CSV", "JSONL"], value="CSV", label=t("Export format"), scale=1)
        ui.export_btn = gr.Button(t("Export filtered rows"), scale=1, elem_id="logs-export")
        ui.export_file = gr.File(label=t("Export"), scale=2, elem_id="logs-export-file")
        ui.export_note = gr.Markdown()


def _wire(ui: SimpleNamespace, engine: Engine, access: Access, tab: gr.Tab) -> None:
    """A search from the form (the /logs route), the pages after it, one exchange (/log_exchange), the export."""
    tz, form = ui.tz, ui.form
    searched = gr.State(None)  # the LogFilter of the last search: the other pages and the export use it whole
    outputs = [ui.summary, ui.table, ui.ids, ui.page_label, ui.spend, ui.latency, ui.failures, ui.page_no]
    run_query = bind(query, engine, access)
    first_page = bind(search, engine, access)
    # the route API callers get ("/logs", "/log_exchange"): the same scope applies to them as to the tab
    ui.refresh.click(first_page, form + [ui.order, tz], outputs + [searched], api_name="logs")
    for trigger in (ui.text.submit, ui.order.change, ui.preset.change, ui.statuses.change, ui.models.change):
        trigger(first_page, form + [ui.order, tz], outputs + [searched], api_name=False)
    ui.prev_btn.click(run_query, [searched, ui.order, gr.State(-1), ui.page_no, tz], outputs, api_name=False)
    ui.next_btn.click(run_query, [searched, ui.order, gr.State(1), ui.page_no, tz], outputs, api_name=False)
    show_detail, shown = bind(detail, engine, access), [ui.body, ui.raw, ui.sent]
    ui.show.click(show_detail, [ui.exchange_id, tz], shown, api_name="log_exchange")
    ui.exchange_id.submit(show_detail, [ui.exchange_id, tz], shown, api_name=False)
    ui.table.select(pick, ui.ids, ui.exchange_id, api_name=False).then(show_detail, [ui.exchange_id, tz], shown,
                                                                        api_name=False)
    # the form as it stands is searched first, so the file holds what the table then shows
    ui.export_btn.click(first_page, form + [ui.order, tz], outputs + [searched], api_name=False).then(
        bind(export, engine, access), [ui.fmt, searched], [ui.export_file, ui.export_note], api_name=False)
    tab.select(bind(filter_choices, engine, access), None, [ui.models, ui.providers], api_name=False).then(
        first_page, form + [ui.order, tz], outputs + [searched], api_name=False)
