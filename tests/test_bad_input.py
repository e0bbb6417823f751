"""Bad input gets one clear line at a bounded cost: alias bombs, huge files, absurd runs, NaN, oversized prompts."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import gradio as gr
import pytest

from chat.engine import ChatRequest
from chat.engine.pricing import PricingError, load_prices
from chat.evaluation.questionsets import QuestionSetError, load, parse
from chat.evaluation.ratings import RubricError, load_rubric
from chat.evaluation.runs import RunError, create
from chat.ui import app, runs_tab
from chat.ui.access import Access
from chat.ui.session import new_session
from tests.helpers import run, run_cli, shown

ROOT = Path(__file__).resolve().parent.parent
# ten levels of nine aliases each: 9^10 (3.5 billion) strings once expanded, from about 350 bytes
BOMB = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
    f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n" for i in range(9)) + "questions: *j\n"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("loader, error", [("questions", QuestionSetError), ("pricing", PricingError),
                                           ("rubric", RubricError)])
def test_a_yaml_alias_bomb_is_refused_in_one_short_line(tmp_path, loader, error):
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB if loader == "questions" else BOMB.replace("questions:", "models:" if loader == "pricing" else "criteria:"))
    before = _peak_mb()
    with pytest.raises(error) as err:
        {"questions": load, "pricing": load_prices, "rubric": load_rubric}[loader](path)
    assert "aliases" in str(err.value) and len(str(err.value)) < 400
    assert _peak_mb() - before < 50  # not the 1.5 GB the old loader took


def test_a_huge_question_file_is_refused_by_size_before_it_is_read(tmp_path):
    path = tmp_path / "big.txt"
    with path.open("w") as fh:
        fh.write("same question\n" * 4_000_000)  # 56 MB
    started = time.process_time()
    with pytest.raises(QuestionSetError, match="at most 5 MB"):
        load(path)
    assert time.process_time() - started < 2


def test_duplicate_ids_are_found_in_linear_time_and_listed_briefly():
    text = "\n".join(["q"] * 5000)  # 5,000 questions with ids q1..q5000 are fine; duplicates by id are not
    assert len(parse(text, "s", "txt").questions) == 5000
    rows = "\n".join(f"{i % 2500},question {i}" for i in range(5000))
    with pytest.raises(QuestionSetError) as err:
        parse("id,question\n" + rows, "s", "csv")
    assert "repeated: 0, 1, 10, 100" in str(err.value) and "and 2490 more" in str(err.value)
    with pytest.raises(QuestionSetError, match="at most 5,000"):
        parse("\n".join(f"question {i}" for i in range(5001)), "s", "txt")


def test_a_million_repeats_is_refused_before_anything_is_planned(fake, engine):
    qs = parse("one\ntwo", "s", "txt")
    before = _peak_mb()
    for repeats, match in ((5_000_000, "repeats must be a whole number from 1 to 100"), (100, None)):
        if match:
            with pytest.raises(RunError, match=match):
                create(engine, qs, ["gpt-4o-mini"], repeats, 4)
    with pytest.raises(RunError, match="a run may ask at most 20,000"):
        create(engine, parse("\n".join(f"q {i}" for i in range(300)), "s", "txt"), ["gpt-4o-mini", "gpt-4o"], 50, 4)
    assert _peak_mb() - before < 50
    with pytest.raises(gr.Error, match="repeats must be a whole number from 1 to 100"):
        list(runs_tab.start_run(engine, Access(), None, "examples/quick_questions.txt", "", ["gpt-4o-mini"], 5_000_000, 4, 50, ""))


def test_an_uploaded_set_is_named_by_its_own_name_never_the_server_path(tmp_path):
    upload = tmp_path / "gradio" / "3f9c0e" / "my set.yaml"
    upload.parent.mkdir(parents=True)
    upload.write_text("questions: {not: a list}\n")
    with pytest.raises(gr.Error) as err:
        runs_tab._question_set(str(upload), None, "")
    assert err.value.message.startswith("my set.yaml:") and str(tmp_path) not in err.value.message


def test_a_prompt_that_cannot_fit_the_window_is_refused_before_any_call(fake, engine):
    _, result = run(engine, model="gpt-4o-mini", prompt="word " * 200_000)  # ~200k tokens, window 128k
    assert result.status == "error" and "window of 128,000" in result.error and "Nothing was sent" in result.error
    assert not fake.requests and result.record["cost_usd"] == "0"
    _, result = run(engine, model="gpt-4o-mini", prompt="x" * 5_000_000)
    assert "at most 4,000,000" in result.error and not fake.requests


@pytest.mark.parametrize("temperature, max_tokens, message", [
    (float("nan"), 50, "temperature must be a number from 0 to 2, got nan"),
    (float("inf"), 50, "temperature must be a number from 0 to 2, got inf"),
    (3, 50, "temperature must be a number from 0 to 2, got 3.0"),
    ("hot", 50, "temperature must be a number from 0 to 2, got 'hot'"),
    (0.5, "abc", "max tokens must be a whole number from 1 to 1,000,000, got 'abc'"),
    (0.5, 2.5, "max tokens must be a whole number"),
    (0.5, float("nan"), "max tokens must be a whole number"),
    (0.5, 0, "max tokens must be a whole number"),
])
def test_bad_parameters_get_one_line_naming_the_field(fake, engine, temperature, max_tokens, message):
    *_, (chat, state, _) = app.respond(engine, "hi", new_session(), "gpt-4o-mini", "", temperature, max_tokens)
    assert shown(chat[1]["content"]).startswith(f"⚠️ {message}")
    assert not fake.requests
    engine.store.flush()
    assert engine.store.exchange(state["turns"][0]["id"])["status"] == "error"


def test_api_callers_get_the_field_named_for_text_in_a_number(fake, tmp_path):
    from gradio_client import Client

    from tests.browser import DemoProcess, demo_env

    demo = DemoProcess(demo_env(fake.url), [], tmp_path / "api.db")
    try:
        client = Client(demo.url, verbose=False)
        # the one declaration of each option words the API's refusal, as it does the engine's and the CLI's
        for temperature, max_tokens, field in ((0.5, "abc", "max tokens must be a whole number from 1 to 1,000,000"),
                                               ("NaN", 50, "temperature must be a number from 0 to 2"),
                                               (0.5, 10**9, "max tokens must be a whole number from 1 to 1,000,000")):
            with pytest.raises(Exception) as err:
                client.predict("hi", "gpt-4o-mini", "", temperature, max_tokens, api_name="/chat")
            assert field in str(err.value), str(err.value)
        import httpx

        small = httpx.post(demo.url + "gradio_api/upload", files={"files": ("set.txt", b"q\n" * 100)}, timeout=30)
        assert small.status_code == 200
        big = httpx.post(demo.url + "gradio_api/upload", files={"files": ("set.txt", b"q\n" * 3_000_000)}, timeout=30)
        assert big.status_code == 413 and "maximum allowed size of 5242880 bytes" in big.text
    finally:
        demo.stop()
    assert not fake.requests


@pytest.mark.parametrize("body, message", [
    ("just a string\n", "a rubric is a mapping"),
    ("scale: 1-5\ncriteria: [{id: a, label: A}, {id: a, label: B}]\n", "criterion id 'a' appears twice"),
    ("scale: 1-5\nscale: pass/fail\ncriteria: [{id: a, label: A}]\n", "line 2: duplicate key 'scale'"),
    ("scale: 1-5\nacceptable: 9\ncriteria: [{id: a, label: A}]\n", "line 2: field 'acceptable' must be a number from 1 to 5"),
])
def test_bad_rubrics_get_one_line_with_file_and_line(tmp_path, body, message):
    path = tmp_path / "rubric.yaml"
    path.write_text(body)
    with pytest.raises(RubricError) as err:
        load_rubric(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_demo_with_a_broken_rubric_or_pricing_stops_with_one_line(tmp_path):
    bad = tmp_path / "bare.yaml"
    bad.write_text("pass or fail, whatever\n")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    out = subprocess.run([sys.executable, "demo.py", "--rubric", str(bad), "--db", str(tmp_path / "x.db")], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "a rubric is a mapping" in out.stderr and "Traceback" not in out.stderr
    prices = tmp_path / "p.yaml"
    prices.write_text("models:\n  gpt-4o-mini: {provider: openai, input: 0.15, output: 0.6}\n"
                      "  gpt-4o-mini: {provider: openai, input: 99, output: 99}\n")
    out = run_cli(["--pricing", str(prices), "models"], cwd=ROOT, env=env)
    assert out.returncode == 2 and "line 3: duplicate key 'gpt-4o-mini'" in out.stderr and "Traceback" not in out.stderr


def test_engine_checks_parameters_from_any_caller(fake, engine):
    from chat.engine import Result

    result = [i for i in engine.stream(ChatRequest(model="gpt-4o-mini", prompt="hi", max_tokens=-5))][-1]
    assert isinstance(result, Result) and "max tokens" in result.error and not fake.requests


def test_every_control_checks_a_parameter_through_its_one_declaration(fake, engine):
    """The component, the Runs handler, run creation and the CLI refuse an out-of-range value in the same words."""

    from chat.engine.options import CONCURRENCY, MAX_TOKENS, REPEATS, TEMPERATURE, BadOption
    from chat.ui.components import CheckedNumber, CheckedSlider

    qs = parse("one\ntwo", "s", "txt")
    for option, bad in ((REPEATS, 101), (CONCURRENCY, 0), (MAX_TOKENS, 2.5), (TEMPERATURE, 3)):
        with pytest.raises(BadOption) as declared:
            option.check(bad)
        words = str(declared.value)
        assert option.allowed in words
        component = (CheckedSlider if option is TEMPERATURE else CheckedNumber).of(option, label="whatever")
        with pytest.raises(gr.Error) as shown:
            component.preprocess(bad)
        assert shown.value.message == words
        if option in (REPEATS, CONCURRENCY):
            with pytest.raises(RunError) as refused:
                create(engine, qs, ["gpt-4o-mini"], **{"repeats": 1, "concurrency": 1, option.name: bad})
            assert str(refused.value) == words
        flag = "--" + option.name.replace("_", "-")
        cli = run_cli(["eval", "examples/quick_questions.txt", "-m", "gpt-4o-mini", flag, str(bad)])
        assert cli.returncode == 2 and f"argument {flag}: must be {option.allowed}, got" in cli.stderr, cli.stderr


def test_a_huge_or_control_character_model_name_is_one_line_and_never_logged_whole(fake, engine):
    for name in ("m" * 10_000, "gpt-4o-mini\x00evil"):
        _, result = run(engine, model=name, prompt="hi")
        assert result.status == "error" and "\n" not in result.error and "at most 200 printable characters" in result.error
        assert len(result.error) < 400 and "\x00" not in result.error
        assert len(engine.store.exchange(result.record.id).model) <= 200
    assert not fake.requests


def test_a_nul_in_the_logs_search_and_an_absurd_time_range_get_one_line(engine, tmp_path):
    import os

    from chat.ui import logs_tab
    from chat.ui.access import Access

    form = ["all", "", "", [], [], [], "refund\x00'); DROP", "", "", "", "", "any", "time"]
    summary, *_ = logs_tab.search(engine, Access(), *form)
    assert "No exchanges match" in summary
    env = dict(os.environ, CHAT_DB=str(tmp_path / "cli.db"))
    for args in (["logs", "--since", "999999w"], ["stats", "--until", "999999w"]):
        out = run_cli(args, env=env)
        assert out.returncode == 2 and "past the year 1" in out.stderr and "Traceback" not in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) <= 2  # usage line and the one that says what is wrong


@pytest.mark.parametrize("name, body, line, code", [
    ("faq.yaml", "questions:\n  - id: bell\n    question: \"rings\x07 here?\"\n", 3, "0007"),
    ("faq.csv", "id,question,reference\nq1,What is\x00 this?,ok\n", 2, "0000"),
    ("faq.txt", "first question\nsecond\x1b question\n", 2, "001B"),
])
def test_a_control_character_in_a_study_file_is_one_line_naming_file_line_and_character(tmp_path, name, body, line,
                                                                                         code):
    """A bell in YAML gave a 29-line traceback; a NUL in a CSV question was sent to the provider. Tabs and newlines
    are fine."""
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    told = f"{name}: line {line}: control character U+{code} is not allowed in a question set; remove it and upload again"
    with pytest.raises(QuestionSetError) as err:
        load(path, name=name)
    assert str(err.value) == told
    # the command line: one line, exit 2, no traceback
    done = run_cli(["eval", str(path), "-m", "gpt-4o-mini", "--dry-run"], cwd=ROOT,
                   env=dict(os.environ, CHAT_DB=str(tmp_path / "log.db")))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().endswith(f"line {line}: control character U+{code} is not allowed in a question set; "
                                        "remove it and upload again"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    # the Runs tab, uploaded: the same line under the upload's own name
    with pytest.raises(gr.Error) as shown:
        runs_tab._question_set(str(path), None, "")
    assert shown.value.message == told
    assert parse("q\tid\ttabbed\nnext line\r\n", "ok", "txt").questions[0].text == "q\tid\ttabbed"


@pytest.mark.parametrize("setting, value, told", [
    ("repeats", 500, "repeats must be a whole number from 1 to 100, got 500"),
    ("concurrency", 0, "concurrency must be a whole number from 1 to 64, got 0"),
    ("max_tokens", "lots", "max tokens must be a whole number from 1 to 1,000,000, got 'lots'"),
    ("temperature", 3, "temperature must be a number from 0 to 2, got 3.0"),
])
def test_a_study_files_run_settings_are_checked_as_the_flags_are(tmp_path, capsys, setting, value, told):
    """`eval` took `repeats: 500` from a study file while `--repeats 500` was refused (it checked 1..1,000 on its
    own; the option's one declaration says 1..100), and ignored a study's concurrency, max_tokens and temperature."""
    from chat.ui.cli import main

    (tmp_path / "faq.txt").write_text("first question\nsecond question\n", encoding="utf-8")
    study = tmp_path / "study.yaml"
    study.write_text(f"set: faq.txt\nmodels: [gpt-4o-mini]\n{setting}: {value}\n", encoding="utf-8")
    assert main(["eval", str(study), "--dry-run", "--db", str(tmp_path / "log.db")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {study}: {told}"
    with pytest.raises(SystemExit):  # the flag says the same
        main(["eval", str(study), f"--{setting.replace('_', '-')}", str(value), "--dry-run"])
    assert told.split(" got ")[0].split(" must be ")[1] in capsys.readouterr().err
    # in range, the study's settings are the run's
    study.write_text("set: faq.txt\nmodels: [gpt-4o-mini]\nrepeats: 3\nmax_tokens: 50\n", encoding="utf-8")
    assert main(["eval", str(study), "--dry-run", "--json", "--db", str(tmp_path / "log.db")]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["calls"] == 6


def test_a_translated_label_names_the_field_in_words_not_gradios_marker():
    """The Runs tab's questions-a-day box is labelled in the reader's language: its refusal said
    "__i18n__{"key": …} must be a number"."""
    from chat.ui.components import CheckedNumber
    from chat.ui.i18n import t

    box = CheckedNumber(minimum=1, maximum=1000, label=t("Questions a day (monthly cost, projection and break-even)"))
    for bad, told in (("lots", "must be a number, got 'lots'"), (0, "must be from 1 to 1000, got 0"),
                      ("inf", "must be a finite number")):
        with pytest.raises(gr.Error) as shown:
            box.preprocess(bad)
        assert shown.value.message.startswith("Questions a day (monthly cost, projection and break-even) " + told)
        assert "__i18n__" not in shown.value.message
