"""Words the app shows that reach a word function through a variable, not as a literal: status codes,
verdicts, figure names, time ranges, rubric criteria, table headings, toast titles. Listed here, marked with
N_, so that Babel's extraction (docs/translating.md) finds them and `pybabel update` keeps their translations;
grouped by the module that shows them. Nothing imports this module."""
from chat.wording import N_

WORDS = (
    # answers.py
    N_("human"),
    N_("Reference"),
    N_("no answer yet"),
    N_("all {n} repeats"),
    # app.py
    N_("Local"),
    N_("Warning"),
    # budget.py
    N_("session"),
    N_("user"),
    # cli_logs.py
    N_("in"),
    N_("out"),
    N_("tok/s"),
    # compare_tab.py
    N_("meter hidden until you vote, rate or reveal"),
    # decision.py
    N_("TTFT p95"),
    N_("P(A faster, latency p95)"),
    N_("P(A cheaper)"),
    N_("P(A better rated)"),
    N_("Repeats to separate"),
    N_("no answers"),
    N_("{name} {figure} is over {limit} by {by}"),
    N_("{name} {figure} is under {limit} by {by}"),
    N_("meets"),
    N_("misses"),
    N_("uncertain"),
    N_("{pct} cheaper{interval} than {other}"),
    N_("{pct} dearer{interval} than {other}"),
    N_("cost per 1,000 questions"),
    N_("TTFT p50"),
    N_("latency p50"),
    N_("latency p95"),
    N_("monthly cost"),
    N_("failure rate"),
    N_("acceptable rate"),
    N_("consistency across repeats"),
    N_("cost"),
    # decision_view.py
    N_("all"),
    N_("p95 under 1 s"),
    N_("p95 1–3 s"),
    N_("p95 3–10 s"),
    N_("p95 10 s or more"),
    N_("lowest acceptable rate (%)"),
    N_("questions a day"),
    N_("slowest TTFT p95 (s)"),
    N_("slowest latency p95 (s)"),
    N_("highest cost per question"),
    N_("highest monthly cost"),
    N_("highest failure rate (%)"),
    N_("won"),
    # endpoints.py
    N_("set {names} in .env (the Foundry resource's …/models address and key)"),
    # engine.py
    N_("provider"),
    N_("estimate"),
    N_("ok"),
    N_("error"),
    N_("aborted"),
    N_("timeout"),
    N_("streaming"),
    N_("tokens"),
    N_("prompt"),
    N_("temperature"),
    N_("cache"),
    # estimate.py
    N_("Calls"),
    N_("Input tokens"),
    N_("Output tokens (low – high)"),
    N_("Cost (low – high)"),
    N_("Answering time"),
    N_("From past answers"),
    # local_models.py
    N_("local models are limited to the ones this server offers; choose one from the model menu (its "
       "operator adds folders with --models-dir)"),
    # logs.py
    N_("time"),
    # logs_tab.py
    N_("any"),
    N_("custom"),
    N_("7 days"),
    N_("Meter"),
    N_("Cost"),
    N_("Reply"),
    N_("What was sent"),
    # meter_text.py
    N_("{n} in"),
    N_("{n} out"),
    # options.py
    N_("max tokens"),
    N_("repeats"),
    N_("concurrency"),
    # pricing.py
    N_("compute"),
    # ratings.py
    N_("Contains the answer to the question"),
    N_("Understood the intent and answered concisely"),
    N_("Sounds natural, like a person"),
    N_("concise"),
    N_("natural"),
    N_("blind"),
    # report.py
    N_("No priced, successful answers to plot."),
    N_("No priced answers."),
    N_("No successful answers."),
    N_("No candidate is both priced and rated yet, so there is no cost–quality chart."),
    N_("No constraints were set: the shortlist is simply cheapest first."),
    N_("Recommendation"),
    N_("Constraints"),
    N_("Shortlist"),
    N_("Cost against quality"),
    N_("Leading candidates compared"),
    N_("Appendix: what these tokens would cost elsewhere"),
    N_("the other {n} models"),
    N_("Question set"),
    N_("Ratings"),
    N_("Human and judge ratings are kept apart."),
    N_("Projected monthly cost at {n} questions a day"),
    N_("Answers side by side"),
    N_("Per month = the measured cost per question × questions a day × 30. A self-hosted model priced by the"
       " hour is metered by the time each answer held the machine; kept on all month it costs its hourly "
       "price × 720, and it is cheaper than an API model once the API's cost of a day's questions passes the"
       " machine's day."),
    N_("With the FAQ cached: the system prompt is billed as its vendor bills a cached prefix, written on a "
       "miss and read on a hit. A question finds it cached when the one before came within the cache's 5 "
       "minutes, questions arriving at random over 9:00–18:00."),
    N_("Tokens each vendor bills"),
    N_("Per token of our own count (o200k_base, OpenAI's tokenizer) of what was sent, from the input tokens "
       "each vendor reported for this run's answers."),
    N_("Answers"),
    N_("Error rate"),
    N_("Cost / 1,000 questions"),
    N_("TTFT p95 ms"),
    N_("Latency p95 ms"),
    N_("TTFT p50 ms"),
    N_("Latency p50 ms"),
    N_("Tokens/s"),
    N_("TTFT mean ms"),
    N_("Latency mean ms"),
    N_("Mean output tokens"),
    N_("Tokens estimated"),
    N_("Question"),
    N_("Mean length (chars)"),
    N_("Length spread (CV)"),
    N_("Similarity"),
    N_("Consistency across repeats"),
    N_("Every candidate against every constraint"),
    N_("Every figure, with its interval"),
    # rows.py
    N_("interrupted"),
    # runs.py
    N_("run"),
    # runs_tab.py
    N_("{n} not rated: the daily spend cap was reached."),
    N_("{n} not rated: this session's spend cap was reached."),
    N_("{n} not rated: your spend cap was reached."),
    # session.py
    N_("Same tokens"),
    # timerange.py
    N_("last hour"),
    N_("today"),
    N_("30 days"),
)


def pgettext(context: str, key: str) -> str:
    """Babel's marker for a word with a context: here, Gradio's own keys its translations lack."""
    return key


# Gradio 6's own words that its Korean lacks: the footer's run history and a toast's "complete"
GRADIO = (
    pgettext("gradio", "common.runs"),
    pgettext("gradio", "common.runs_description"),
    pgettext("gradio", "common.back_to_app"),
    pgettext("gradio", "common.back_to_app_description"),
    pgettext("gradio", "common.complete"),
    pgettext("gradio", "status.queue_position"),
    pgettext("gradio", "common.progress"),
)
