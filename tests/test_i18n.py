"""The app's words in Korean and English: every label the page registers has both; a bad --lang is one line."""
from __future__ import annotations

import pytest

from chat.evaluation import report_files
from chat.ui.i18n import CATALOGUE, check_lang, language, say
from tests.helpers import shown, templates

SAME_IN_BOTH = {"2026-11-23T18:00", "환불, refund …", "LLM chat meter"}


def test_every_label_the_app_registers_has_its_korean(engine):
    from chat.ui.app import build_app

    build_app(engine)
    untranslated = sorted(en for en, ko in CATALOGUE.entries.values() if en == ko and en not in SAME_IN_BOTH)
    assert not untranslated, untranslated
    assert len(CATALOGUE.entries) > 100  # every tab's labels, buttons, hints and placeholders
    forced = CATALOGUE.i18n("ko").translations_dict
    assert forced["en"] == forced["ko"]  # --lang ko: an English browser sees Korean too


def test_the_readers_language_comes_from_the_browser_unless_forced(monkeypatch):
    class Req:
        def __init__(self, accept):
            self.headers = {"accept-language": accept}

    monkeypatch.delenv("DEMO_LANG", raising=False)
    assert language(Req("ko-KR,ko;q=0.9,en;q=0.8")) == "ko" and language(Req("en-US,en;q=0.9")) == "en"
    assert language(None) == "en"
    monkeypatch.setenv("DEMO_LANG", "ko")
    assert language(Req("en-US")) == "ko"
    assert say("{n} in", "ko", n=5) == "입력 5" and say("{n} in", "en", n=5) == "5 in"
    with pytest.raises(ValueError, match="language 'fr': use ko or en"):
        check_lang("fr")


def test_every_sentence_the_app_writes_has_its_korean():
    from chat.ui.i18n import KO

    written = templates()
    assert len(written) > 300  # toasts, the meter, the Runs tab, the decision, the Logs tab, the report
    missing = {text: where for text, where in written.items() if text not in KO}
    assert not missing, missing
    # and a Korean template fills the same {names} as its English one
    import string

    names = lambda text: {f for _, f, _, _ in string.Formatter().parse(text) if f}  # noqa: E731
    differ = [en for en in written if names(en) != names(KO[en]) and en != "## {title}"]
    assert not differ, differ


class _Korean:
    headers = {"accept-language": "ko-KR,ko;q=0.9"}
    username = None
    session_hash = "korean-reader"


def test_a_korean_readers_toasts_and_failures_are_korean(fake, engine, monkeypatch):
    import gradio as gr

    from chat import failures as f
    from chat.ui import compare_tab, runs_tab
    from chat.ui.access import Access
    from chat.ui.i18n import words
    from chat.wording import explain

    monkeypatch.delenv("DEMO_LANG", raising=False)
    with pytest.raises(gr.Error) as caught:
        next(compare_tab.compare(engine, "안녕?", ["gpt-4o-mini"], "", 64, False, compare_tab.new_compare(), _Korean()))
    assert caught.value.message == "비교할 모델을 2~4개 고르세요 (1개 고름)"
    with pytest.raises(gr.Error) as caught:
        runs_tab.next_unrated(engine, Access(), "", "kim", True, _Korean())
    assert caught.value.message == "먼저 실행을 고르세요"
    cap = f.Refused(f.RateLimited(10, 42.0))
    assert explain(cap, words("ko")) == (
        "요청이 너무 많습니다: 세션당 1분에 최대 10회입니다. 42초 후 다시 시도하세요")
    assert explain(cap).startswith("too many requests")  # the log keeps English


def test_the_report_takes_the_readers_language_and_the_cli_stays_english(store, tmp_path):
    from chat.engine.pricing import load_prices
    from chat.evaluation.summary import summarize
    from chat.ui.i18n import KO, words
    from tests.synthetic import Truth, write_run

    run_id = write_run(store, [Truth("gpt-4o-mini", cost_usd="0.0001"), Truth("gpt-4o", cost_usd="0.002", score=4.3)],
                       questions=5, repeats=3)
    summary = summarize(store, run_id)
    prices = load_prices(None)
    _, korean = report_files.write_report(summary, tmp_path / "ko", prices, 1000, word=words("ko"))
    _, english = report_files.write_report(summary, tmp_path / "en", prices, 1000)
    ko, en = korean.read_text(encoding="utf-8"), english.read_text(encoding="utf-8")
    assert "<html lang=ko>" in ko and "<h2>추천</h2>" in ko and "모든 제약 충족" in ko and "<th>질문당 비용</th>" in ko
    assert "<html lang=en>" in en and "<h2>Recommendation</h2>" in en and "meets all constraints" in en
    # no sentence of the English report survives in the Korean one (beyond what reads the same in both)
    for text in templates():
        if KO.get(text) != text and "{" not in text and len(text) > 12 and text in en:
            assert text not in ko, text
    _, blind, key = report_files.write_blind(summary, tmp_path / "ko", prices, 1000, word=words("ko"))
    assert "모델 A" in blind.read_text(encoding="utf-8") and "모델 A: " in key.read_text(encoding="utf-8")


def test_report_lang_ko_from_the_command_line(store, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from tests.synthetic import Truth, write_run

    run_id = write_run(store, [Truth("gpt-4o-mini"), Truth("gpt-4o", cost_usd="0.002")], questions=3, repeats=2)
    store.close()
    out = subprocess.run([sys.executable, "-m", "chat", "report", run_id, "--lang", "ko", "--out", str(tmp_path / "r"),
                          "--db", str(tmp_path / "chat.db")], cwd=Path(__file__).resolve().parents[1],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("wrote ")  # the CLI's own words stay English
    page = (tmp_path / "r" / f"run-{run_id}.html").read_text(encoding="utf-8")
    assert "<html lang=ko>" in page and "<h2>추천</h2>" in page
    bad = subprocess.run([sys.executable, "-m", "chat", "report", run_id, "--lang", "fr", "--db", str(tmp_path / "chat.db")],
                         cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "invalid choice: 'fr'" in bad.stderr


def test_a_question_set_that_cannot_be_read_is_told_in_the_readers_language(engine, tmp_path, monkeypatch):
    from chat.evaluation.questionsets import QuestionSetError, load
    from chat.ui import runs_tab
    from chat.ui.access import Access

    monkeypatch.delenv("DEMO_LANG", raising=False)
    bad = tmp_path / "질문.csv"
    bad.write_text("id,answer\n1,네\n", encoding="utf-8")
    told = runs_tab.show_estimate(engine, Access(), str(bad), None, "", ["gpt-4o-mini"], 1, 1, 100, "", request=_Korean())
    assert shown(told) == "질문.csv: CSV 첫 줄에 'question' 열이 있어야 합니다 (id, reference는 선택)"
    with pytest.raises(QuestionSetError) as caught:  # the CLI and the log: English, the same error
        load(bad, name="질문.csv")
    assert str(caught.value) == "질문.csv: the CSV needs a header row with a 'question' column (and optional id, reference)"


def test_what_to_set_for_an_unusable_model_is_said_in_both_languages(engine, monkeypatch):
    from chat.ui.app import labelled_choices

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    _, note = labelled_choices(engine)
    en, ko = CATALOGUE.entries[note.key]
    assert "**Anthropic** — set ANTHROPIC_API_KEY in .env: " in en
    assert "**Anthropic** — .env에 ANTHROPIC_API_KEY를 설정하세요: " in ko and "set ANTHROPIC_API_KEY" not in ko
