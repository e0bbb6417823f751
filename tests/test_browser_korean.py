"""A Korean reader in a real browser: every tab, worked as a person would, shows none of the English the app writes."""
from __future__ import annotations

import os
import re
import string
import time
from pathlib import Path

import pytest

from chat.ui.i18n import CATALOGUE
from tests.browser import DemoProcess, demo_env, send_compare
from tests.fake_servers import Scenario
from tests.helpers import catalog, templates

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "docs" / "screenshots"


# words that read the same on a Korean page: names, units, formats, the footer's brand
TERMS = {"API", "CSV", "JSONL", "YAML", "HTML", "txt", "TTFT", "USD", "UTC", "KST", "Asia", "Seoul", "LLM", "Gradio",
         "OpenAI", "Wilson", "tok", "tiktoken", "endpoint", "model", "ollama", "llama", "CV", "id", "run",
         "GGUF", "gguf"}  # a file format reads the same in Korean


def shown(page) -> str:
    """The page's text as a reader sees it: a toast title drawn at no size (its Korean is drawn over it) left out."""
    # Gradio's status tracker writes "queue: 2/3 |" while an event waits its turn (a busy machine): its own words,
    # hard-coded in its bundle with no translation key, so no app can put them in Korean
    # the body and its toasts are read in one step: a toast that closed between two reads left its title behind
    body, hidden = page.evaluate("() => [document.body.innerText, [...document.querySelectorAll("
                                 "'[data-testid=toast-body] .toast-title')].filter(e => getComputedStyle(e).fontSize "
                                 "=== '0px').map(e => e.innerText)]")
    text = re.sub(r"queue: \d+/\d* \|", "", body)
    for title in hidden:
        text = text.replace(title, "", 1)
    return text


WORD = r"(?<![\w-])[A-Za-z][A-Za-z'-]{2,}(?![\w-])"  # a whole word: not a piece of o200k_base or gpt-4o-mini


def english_fragments() -> set[str]:
    """The runs of English words in every sentence and label the app writes whose Korean differs: if any shows on
    the Korean page, the page shows the app's English."""
    korean = catalog("ko")
    texts = {text for text in templates() if korean.get(text, text) != text}
    texts |= {e["en"] for e in CATALOGUE.entries.values() if e["en"] != e["ko"] and "\n" not in e["en"]}
    out = set()
    for text in texts:
        for literal, *_ in string.Formatter().parse(text):
            piece = literal.strip(" ·:;,.()*`#-—")
            if len(re.findall(r"[A-Za-z]{2,}", piece)) >= 2 and len(piece) >= 8:
                out.add(piece)
    return out


@pytest.fixture(scope="module")
def korean(fake_server, tmp_path_factory):
    env = demo_env(fake_server.url, CHAT_CURRENCY="KRW", CHAT_USD_RATE="1390", CHAT_USD_RATE_DATE="2026-12-01")
    proc = DemoProcess(env, [], tmp_path_factory.mktemp("korean") / "chat.db")
    yield proc
    proc.stop()


def test_a_korean_reader_meets_no_english_the_app_wrote(browser, korean, fake_server):
    from chat.engine import Engine
    from chat.storage.store import Store
    from chat.ui.app import build_app

    build_app(Engine(Store(korean.db.with_name("labels.db"))))  # the page's labels, registered as the app does
    fragments = english_fragments()
    assert len(fragments) > 150 and "out per 1M" in fragments and "meter hidden until you vote, rate or reveal" in fragments
    fake_server.scenarios.clear()
    fake_server.scenarios["gpt-4o-mini"] = Scenario(chunks=["네, ", "받을 수 있어요."], ttft=0.05, input_tokens=420,
                                                    output_tokens=60)
    fake_server.scenarios["gpt-4.1"] = Scenario(chunks=["출석률 80% ", "이상이면 받습니다."], ttft=0.2, input_tokens=420,
                                                output_tokens=90)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ko-KR", timezone_id="Asia/Seoul")
    page = context.new_page()
    page.goto(korean.url)
    page.wait_for_selector("#prompt textarea", timeout=60_000)
    assert page.get_by_role("tab").all_inner_texts()[:4] == ["채팅", "비교", "실행", "로그"]
    seen = {}

    # chat: a reply, its meter (won per 1,000), the session panel and the rate's note
    page.fill("#prompt textarea", "훈련장려금 받을 수 있나요?")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#chatbot').innerText.includes('1,000건당')", timeout=30_000)
    page.locator("#chatbot .thought-group .title").first.click()  # the meter opens onto its cost breakdown
    page.wait_for_function("document.querySelector('#chatbot').innerText.includes('캐시 쓰기')", timeout=20_000)
    page.wait_for_function("document.querySelector('#meter-panel').innerText.includes('요청 1회')", timeout=20_000)
    seen["chat"] = shown(page)
    assert "1달러당 ₩1,390" in seen["chat"] and "100만 토큰당 입력" in page.input_value("#model input")
    for words in ("입력 420", "출력 60", "첫 토큰", "전체", "보내기", "중지", "시스템 프롬프트", "최대 토큰"):
        assert words in seen["chat"], words
    if os.environ.get("UPDATE_SCREENSHOTS"):
        page.screenshot(path=str(SHOTS / "chat-ko.png"), full_page=True)

    # compare, blind: the meter is hidden, then the vote's toast and mark
    page.get_by_role("tab", name="비교").click()
    send_compare(page, ("gpt-4o-mini", "gpt-4.1"), "수강 취소는 어떻게 하나요?", rater="김선생", blind=True)
    page.wait_for_function("['0', '1'].every(i => (document.querySelector('#compare-meter-' + i) || {innerText: ''})"
                           ".innerText.includes('계량 정보를 숨깁니다'))", timeout=30_000)
    seen["compare, blind"] = shown(page)
    page.click("#compare-vote-0")
    page.wait_for_function("document.body.innerText.includes('투표를 기록했습니다')", timeout=20_000)
    title = page.locator("[data-testid=toast-body] .toast-title").first
    assert title.evaluate("e => getComputedStyle(e, '::before').content") == '"알림"'  # not Gradio's "Info"
    assert title.evaluate("e => getComputedStyle(e).fontSize") == "0px"  # its "Info" is in the DOM, never seen
    page.wait_for_function("document.querySelector('#compare-head-0').innerText.includes('내 투표')", timeout=20_000)
    seen["compare, voted"] = shown(page)
    if os.environ.get("UPDATE_SCREENSHOTS"):
        page.screenshot(path=str(SHOTS / "compare-ko.png"), full_page=True)

    # runs: the estimate, a run to its end, results, charts, the decision and the answers
    page.get_by_role("tab", name="실행").click()
    assert page.inner_text("#run-go") == "실행" and "최대 TTFT p95 (초)" in page.inner_text("body")
    page.click("#run-example input")
    page.keyboard.type("training_faq")
    page.keyboard.press("Enter")
    page.click("#run-models input")
    for name in ("gpt-4o-mini", "gpt-4.1"):
        page.keyboard.type(name)
        page.keyboard.press("Enter")
    page.fill("#run-repeats input", "1")
    page.locator("#run-repeats input").press("Tab")
    page.wait_for_function("document.querySelector('#run-estimate').innerText.includes('호출 20회')", timeout=20_000)
    page.click("#run-go")
    page.wait_for_function("/답변 20\\/20 .* 완료/.test(document.querySelector('#run-status').innerText)", timeout=60_000)
    page.wait_for_function("document.querySelector('#decide-verdict').innerText.includes('모든 제약 충족')", timeout=30_000)
    page.get_by_role("button", name="답변 나란히 보기").click()
    page.wait_for_function("document.querySelector('#run-answers').innerText.includes('참고 답안')", timeout=20_000)
    # every answer is a point on the latency chart (plus a legend symbol per model)
    page.wait_for_function("document.querySelectorAll('#run-latency svg .mark-symbol path').length >= 20",
                           timeout=20_000)
    assert "지연 시간 (ms)" in page.inner_text("#run-latency") and "질문당 비용 (USD)" in page.inner_text("#run-scatter")
    seen["runs"] = shown(page)
    if os.environ.get("UPDATE_SCREENSHOTS"):
        page.screenshot(path=str(SHOTS / "runs-ko.png"), full_page=True)

    # logs: the table, a row opened, the charts
    page.get_by_role("tab", name="로그").click()
    assert page.inner_text("#logs-refresh") == "검색"
    page.wait_for_function("document.querySelector('#logs-table').innerText.includes('정상')", timeout=30_000)
    page.click("#logs-table [data-testid='cell-0-1']")
    page.wait_for_function("document.querySelector('#logs-detail').innerText.includes('보낸 내용')", timeout=20_000)
    seen["logs"] = shown(page)
    raw = page.inner_text("#logs-raw") + page.inner_text("#logs-sent")  # the provider's usage as JSON: data
    assert "KST" in seen["logs"] and "일별 지출 (USD)" in seen["logs"]
    if os.environ.get("UPDATE_SCREENSHOTS"):
        page.screenshot(path=str(SHOTS / "logs-ko.png"), full_page=True)
    context.close()

    for where, text in seen.items():
        written = sorted(f for f in fragments if f in text)
        assert not written, f"{where}: {written}"
    # and no English word the app wrote that the catalogue does not know: the Latin words left are data (the
    # set's English glosses, model names, the raw usage panel's JSON) or terms that read the same in Korean
    from chat.engine.pricing import load_prices
    from chat.ui.app import PROVIDER_LABELS

    data = " ".join([(ROOT / "examples" / "training_faq.yaml").read_text(encoding="utf-8"),
                     *(p.model for p in load_prices(None)), *PROVIDER_LABELS, raw])
    allowed = set(re.findall(WORD, data)) | TERMS
    for where, text in seen.items():
        stray = sorted({w for w in re.findall(WORD, text) if w not in allowed})
        assert not stray, f"{where}: {stray}"
    # nor Gradio's own words its Korean lacks
    assert "Runs" not in seen["logs"].split("API")[-1]


def test_an_english_browser_on_the_same_app_reads_english_and_a_clicked_log_row_opens_without_looking_editable(
        browser, korean, fake_server):
    fake_server.scenarios.clear()
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # en-US
    page = context.new_page()
    page.goto(korean.url)
    page.wait_for_selector("#prompt textarea", timeout=60_000)
    assert page.get_by_role("tab").all_inner_texts()[:4] == ["Chat", "Compare", "Runs", "Logs"]
    assert page.inner_text("#send") == "Send"
    page.fill("#prompt textarea", "a row to open")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#chatbot').innerText.includes('TTFT')", timeout=30_000)
    page.get_by_role("tab", name="Logs").click()
    page.wait_for_function("document.querySelector('#logs-table').innerText.includes('a row to open')", timeout=30_000)
    cell = page.locator("#logs-table [data-testid='cell-0-1']")
    cell.click()
    page.wait_for_function("document.querySelector('#logs-detail').innerText.includes('What was sent')", timeout=20_000)
    time.sleep(0.3)
    # Gradio draws an editing box (an inset shadow on the cell's text) and a column-move button on the chosen
    # cell; in a read-only table that reads as "type here"
    boxed = cell.evaluate("e => [e, ...e.querySelectorAll('*')].filter(x => getComputedStyle(x).boxShadow !== 'none')"
                          ".length")
    buttons = cell.evaluate("e => [...e.querySelectorAll('button')].filter(b => b.offsetParent !== null).length")
    assert boxed == 0 and buttons == 0
    assert cell.evaluate("e => getComputedStyle(e).cursor") == "pointer"
    context.close()
