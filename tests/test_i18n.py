"""The app's words in Korean and English: every label the page registers has both; a bad --lang is one line."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from chat.evaluation import report_files
from chat.ui.i18n import CATALOGUE, check_lang, language, say
from tests.helpers import catalog, run_cli, shown, templates

SAME_IN_BOTH = {"2026-11-23T18:00", "LLM chat meter"}


def test_every_label_the_app_registers_has_its_korean(engine):
    from chat.ui.app import build_app

    build_app(engine)
    untranslated = sorted(e["en"] for e in CATALOGUE.entries.values() if e["en"] == e["ko"] and e["en"] not in SAME_IN_BOTH)
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
    with pytest.raises(ValueError, match="language 'fr': use en or ko"):
        check_lang("fr")


def test_every_sentence_the_app_writes_has_its_korean():
    KO = catalog("ko")
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
    from chat.ui import compare_tab, rating_view
    from chat.ui.access import Access
    from chat.ui.i18n import words
    from chat.wording import explain

    monkeypatch.delenv("DEMO_LANG", raising=False)
    with pytest.raises(gr.Error) as caught:
        next(compare_tab.compare(engine, "안녕?", ["gpt-4o-mini"], "", 64, False, compare_tab.new_compare(), _Korean()))
    assert caught.value.message == "비교할 모델을 2~4개 고르세요 (1개 고름)"
    with pytest.raises(gr.Error) as caught:
        rating_view.next_unrated(engine, Access(), "", "kim", True, _Korean())
    assert caught.value.message == "먼저 실행을 고르세요"
    cap = f.Refused(f.RateLimited(10, 42.0))
    assert explain(cap, words("ko")) == (
        "요청이 너무 많습니다: 세션당 1분에 최대 10회입니다. 42초 후 다시 시도하세요")
    assert explain(cap).startswith("too many requests")  # the log keeps English


def test_the_report_takes_the_readers_language_and_the_cli_stays_english(store, tmp_path):
    from chat.engine.pricing import load_prices
    from chat.evaluation.summary import summarize
    from chat.ui.i18n import words
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
        if catalog("ko").get(text) != text and "{" not in text and len(text) > 12 and text in en:
            assert text not in ko, text
    _, blind, key = report_files.write_blind(summary, tmp_path / "ko", prices, 1000, word=words("ko"))
    assert "모델 A" in blind.read_text(encoding="utf-8") and "모델 A: " in key.read_text(encoding="utf-8")


def test_report_lang_ko_from_the_command_line(store, tmp_path):

    from tests.synthetic import Truth, write_run

    run_id = write_run(store, [Truth("gpt-4o-mini"), Truth("gpt-4o", cost_usd="0.002")], questions=3, repeats=2)
    store.close()
    out = run_cli(["report", run_id, "--lang", "ko", "--out", str(tmp_path / "r"), "--db", str(tmp_path / "chat.db")])
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("wrote ")  # the CLI's own words stay English
    page = (tmp_path / "r" / f"run-{run_id}.html").read_text(encoding="utf-8")
    assert "<html lang=ko>" in page and "<h2>추천</h2>" in page
    bad = run_cli(["report", run_id, "--lang", "fr", "--db", str(tmp_path / "chat.db")])
    assert bad.returncode == 2 and "argument --lang: language 'fr': use en or ko" in bad.stderr


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
    en, ko = CATALOGUE.entries[note.key]["en"], CATALOGUE.entries[note.key]["ko"]
    assert "**Anthropic** — set ANTHROPIC_API_KEY in .env: " in en
    assert "**Anthropic** — .env에 ANTHROPIC_API_KEY를 설정하세요: " in ko and "set ANTHROPIC_API_KEY" not in ko


def _documented(command: str) -> list[str]:
    """The `pybabel <command>` line of docs/translating.md, as a reader would copy it."""
    import shlex
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "translating.md").read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith(f"pybabel {command} "))
    return shlex.split(line)


def test_babel_extracts_every_sentence_the_catalog_holds_and_update_keeps_them(tmp_path):
    """The documented commands, run as written: the template Babel extracts from the code holds exactly the Korean
    catalog's sentences, so `pybabel update` leaves every translation in place."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[1]
    pybabel = str(Path(sys.executable).with_name("pybabel"))
    pot = tmp_path / "messages.pot"
    extract = _documented("extract")
    extract[extract.index("-o") + 1] = str(pot)
    done = subprocess.run([pybabel, *extract[1:]], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with pot.open("rb") as f:
        template = {(m.id, m.context) for m in read_po(f) if m.id}
    with (root / "chat/locale/ko/LC_MESSAGES/messages.po").open("rb") as f:
        korean = {(m.id, m.context): m.string for m in read_po(f) if m.id}
    assert not sorted(map(str, template - set(korean))), "sentences the code writes with no Korean"
    assert not sorted(map(str, set(korean) - template)), "Korean for sentences the code no longer writes"
    assert all(all(korean[m]) if isinstance(korean[m], tuple) else korean[m] for m in template)
    # pybabel update, as documented, into a copy: every Korean sentence is still there, none obsolete
    locale = tmp_path / "locale"
    shutil.copytree(root / "chat" / "locale", locale)
    update = _documented("update")
    update[update.index("-i") + 1], update[update.index("-d") + 1] = str(pot), str(locale)
    done = subprocess.run([pybabel, *update[1:]], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with (locale / "ko/LC_MESSAGES/messages.po").open("rb") as f:
        updated = read_po(f)
    assert not updated.obsolete
    assert {m.id: m.string for m in updated if m.id and not m.context} == \
        {m.id: m.string for m in read_po((root / "chat/locale/ko/LC_MESSAGES/messages.po").open("rb"))
         if m.id and not m.context}


def test_no_korean_is_written_in_the_code():
    """Korean lives in the catalog: no string in chat/ holds Hangul, docstrings (which explain Korean search with
    Korean words) apart."""
    import ast
    import re
    from pathlib import Path

    hangul = re.compile("[\uac00-\ud7a3\u3131-\u318e]")
    found = []
    for path in (Path(__file__).resolve().parents[1] / "chat").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = {id(n.body[0].value) for n in ast.walk(tree)
                if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.body
                and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        found += [f"{path.name}:{n.lineno}" for n in ast.walk(tree) if isinstance(n, ast.Constant)
                  and isinstance(n.value, str) and id(n) not in docs and hangul.search(n.value)]
    assert not found, found


def test_a_count_takes_the_plural_its_language_uses():
    from chat.ui.logs_tab import summary_text

    figures = {"error_rate": 0, "input_tokens": 5, "output_tokens": 7, "cost_usd": 0.001, "ttft_p50_ms": 100,
               "ttft_p95_ms": 200, "latency_p50_ms": 300, "latency_p95_ms": 400, "estimated_share": 0}
    assert summary_text({**figures, "exchanges": 1}).startswith("**1 exchange** · errors")
    assert summary_text({**figures, "exchanges": 2}).startswith("**2 exchanges** · errors")
    assert summary_text({**figures, "exchanges": 1}, "ko").startswith("**교환 1건** · 오류")
    assert summary_text({**figures, "exchanges": 2}, "ko").startswith("**교환 2건** · 오류")


def test_the_readers_language_is_the_browsers_first_one_the_app_speaks(monkeypatch):
    class Req:
        def __init__(self, accept):
            self.headers = {"accept-language": accept}

    monkeypatch.delenv("DEMO_LANG", raising=False)
    assert language(Req("fr-FR,fr;q=0.9,ko;q=0.5")) == "ko"  # only the first one decided: French -> English
    assert language(Req("en-US,en;q=0.9,ko;q=0.8")) == "en"
    assert language(Req("ko;q=0.2,en;q=0.7")) == "en"
    assert language(Req("de-DE")) == "en" and language(Req("ko;q=oops,x" * 500)) == "en"


JA = '''msgid ""
msgstr ""
"Language: ja\\n"
"Plural-Forms: nplurals=1; plural=0;\\n"
"Content-Type: text/plain; charset=utf-8\\n"

msgid "Chat"
msgstr "チャット"

msgid "{n} more models"
msgstr "他に{n}件のモデル"
'''


def test_a_translator_adds_japanese_with_one_po_file_and_no_code(tmp_path):
    """docs/translating.md: a new language is one .po file. The app, started on a copy of its catalogs with a
    two-entry Japanese one beside them, speaks Japanese to a Japanese browser and English where it has none."""
    import json
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    locale = tmp_path / "locale"
    shutil.copytree(root / "chat" / "locale", locale)
    (locale / "ja" / "LC_MESSAGES").mkdir(parents=True)
    (locale / "ja" / "LC_MESSAGES" / "messages.po").write_text(JA, encoding="utf-8")
    probe = """if True:
        import json
        from chat.ui.i18n import CATALOGUE, LANGS, check_lang, language, say, t
        class Req:
            headers = {"accept-language": "ja-JP,ja;q=0.9,en;q=0.5"}
        label = t("Chat")
        print(json.dumps({"langs": LANGS, "reader": language(Req()), "chat": say("Chat", "ja"),
                          "more": say("{n} more models", "ja", n=3), "runs": say("Runs", "ja"),
                          "forced": check_lang("ja"), "label": CATALOGUE.i18n().translations_dict["ja"][label.key]}))
    """
    import os

    env = {**os.environ, "CHAT_LOCALE_DIR": str(locale)}
    env.pop("DEMO_LANG", None)
    done = subprocess.run([sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"langs": ["en", "ja", "ko"], "reader": "ja", "chat": "チャット", "more": "他に3件のモデル",
                    "runs": "Runs", "forced": "ja", "label": "チャット"}


def test_a_korean_reader_is_told_what_went_wrong_in_korean(fake, engine, tmp_path):
    """Unknown models, out-of-range numbers, a bad time range, a bad volume, a rating that does not fit the rubric
    and a run too large were English sentences on a Korean page; each is Korean now, with the values as typed."""
    from chat.evaluation import questionsets, runs
    from chat.ui import logs_tab, runs_tab
    from chat.ui.access import Access
    from chat.ui.session import new_session
    from tests.helpers import korean_request

    ko = korean_request()
    *_, (chat, _, _) = app_respond(engine, "안녕하세요", new_session(), "no-such-model", ko)
    said = next(shown(m["content"]) for m in chat if "⚠️" in str(m["content"]))
    assert "알 수 없는 모델 'no-such-model'" in said and "endpoint:model" in said and "unknown model" not in said

    def refused(call) -> str:
        with pytest.raises(Exception) as err:
            call()
        return shown(getattr(err.value, "message", str(err.value)))

    form = (None, "examples/support_questions.csv", "", ["gpt-4o-mini"])
    told = shown(runs_tab.show_estimate(engine, Access(), *form, 500, 2, 100, "", request=ko))  # the estimate says why
    assert told == "반복 횟수은(는) 1에서 100 사이의 정수여야 합니다. 입력값: 500"
    told = refused(lambda: logs_tab.search(engine, Access(), "custom", "yesterday", "", [], [], [], "", "", "", "", "",
                                           "", "newest", request=ko))
    assert told == "기간: 'yesterday'은(는) 시간이 아닙니다: 30m, 2h, 7d, 2w, 2026-11-01 또는 2026-11-01T09:00 형식을 쓰세요"
    qs = questionsets.parse("one\ntwo", "s", "txt")
    run_id = runs.create(engine, qs, ["gpt-4o-mini"], 1, 1)
    told = refused(lambda: runs_tab.show_answers(engine, Access(), run_id, "lots", request=ko))
    assert told == "하루 질문 수는 정수여야 합니다 (예: 1000). 입력값: 'lots'"
    many = tmp_path / "many.txt"
    many.write_text("\n".join(f"question {n}?" for n in range(150)), encoding="utf-8")
    told = refused(lambda: list(runs_tab.start_run(engine, Access(), str(many), "", "", ["gpt-4o-mini", "gpt-4o"],
                                                   100, 1, 10, "", request=ko, progress=lambda *a, **k: None)))
    assert told == ("모델 2개 × 질문 150개 × 반복 100회는 답변 30,000개입니다. 한 실행은 최대 20,000개까지 물을 수 "
                    "있습니다: 반복, 모델 또는 질문을 줄이세요")


def app_respond(engine, message, state, model, request):
    from chat.ui import app

    return list(app.respond(engine, message, state, model, "", None, None, request=request))


def test_a_korean_reader_is_told_the_embedded_model_answers_in_english_only(engine):
    from chat.engine.models import LOCAL_DEFAULT
    from chat.ui.app import labelled_choices, model_hint

    usable, _ = labelled_choices(engine)
    entry = next(label for label, name in usable if name == LOCAL_DEFAULT)
    texts = CATALOGUE.entries[entry.key]
    assert texts["ko"].endswith(" · 영어로만 답함") and "English" not in texts["en"]
    hint = CATALOGUE.entries[model_hint().key]
    assert "내장 모델 smollm2-135m-instruct은(는) 영어로만 답합니다" in hint["ko"] and "다국어 GGUF" in hint["ko"]
    assert hint["en"] == "Type endpoint:model for any other model, e.g. ollama:llama3.2"


def _gradio_korean_keys() -> set[str]:
    """The keys Gradio's own Korean bundle translates ("common.clear"), read from its frontend file."""
    import gradio

    assets = Path(gradio.__file__).parent / "templates" / "frontend" / "assets"
    (bundle,) = [p for p in assets.glob("ko-*.js") if "export{" in p.read_text(encoding="utf-8")]
    text = bundle.read_text(encoding="utf-8")
    bodies = dict(re.findall(r"(?:var |,)(\w+)=\{([^{}]*)\}", text))
    sections = dict(re.findall(r"(\w+) as (\w+)", text.rsplit("export{", 1)[1]))
    return {f"{section}.{key}" for var, section in sections.items() if var in bodies
            for key in re.findall(r"(?:^|,)(\w+):`", bodies[var])}


def test_the_words_gradio_says_while_an_event_waits_are_in_korean():
    """A Korean reader waiting in a busy queue heard Gradio's English: its status line for screen readers, "In queue:
    1 of 2", has no entry in Gradio's Korean. Every word its status tracker looks up is in Gradio's Korean or ours."""
    import gradio

    from chat.ui.i18n import GRADIO_WORDS

    assets = Path(gradio.__file__).parent / "templates" / "frontend" / "assets"
    tracker = "".join(p.read_text(encoding="utf-8") for p in assets.glob("statustracker-*.js"))
    wanted = set(re.findall(r"i18n\(`(\w+\.\w+)`\)", tracker))
    assert "status.queue_position" in wanted and "common.loading" in wanted
    gradios = _gradio_korean_keys()
    assert "common.clear" in gradios  # the bundle was read
    assert wanted - gradios - set(GRADIO_WORDS["ko"]) == set()
    assert GRADIO_WORDS["ko"]["status.queue_position"] == "대기열 {size}개 중 {position}번째"
