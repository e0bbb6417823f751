"""End to end in real headless Chromium: `python demo.py` as a subprocess against the fake OpenAI server."""
from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from chat.evaluation import report_files
from chat.storage.rows import Exchange
from chat.ui.display import meter_line
from tests.browser import (
    DemoProcess,
    demo_env,
    fill_run,
    login,
    run_id_shown,
    send_compare,
)
from tests.conftest import need
from tests.fake_servers import Scenario

ROOT = Path(__file__).resolve().parent.parent
FAQ_ANSWER = ("Yes — the training allowance is paid monthly to trainees with at least 80% attendance. "
              "It is up to 316,000 KRW a month, and the course itself is free with the national learning card.").split(" ")


@pytest.fixture(scope="module")
def demo(fake_server, tmp_path_factory):
    proc = DemoProcess(demo_env(fake_server.url), [], tmp_path_factory.mktemp("demo") / "chat.db")
    yield proc
    proc.stop()


@pytest.fixture
def scenarios(fake_server):
    fake_server.scenarios.clear()
    fake_server.requests.clear()
    return fake_server


def rows(db: Path, where: str = "1=1", params=()) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        found = [dict(r) for r in conn.execute(f"SELECT * FROM exchanges_full WHERE {where} ORDER BY created_at", params)]
        for r in found:  # money as the exact Decimal strings the engine computed
            r.update(json.loads(r.pop("cost_exact") or "{}"))
        return found
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def wait_row(db: Path, prompt: str, timeout=30) -> Exchange:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = rows(db, "prompt = ? AND status != 'streaming'", [prompt])  # finished, not just started
        if found:
            return Exchange.from_row(found[-1])
        time.sleep(0.1)
    raise AssertionError(f"no logged row for {prompt!r}")


# the status line's own opacity and that of Gradio's progress overlay over it; null once the run is done
STATUS_LOOK = """() => { const s = document.querySelector('#run-status'); const m = s.querySelector('[data-testid=markdown-wrapper]');
if (/· done/.test(m.innerText)) return null; const t = s.querySelector('[data-testid=status-tracker]');
return [getComputedStyle(m).opacity, t ? getComputedStyle(t).opacity : '0']; }"""


def open_chat(browser, url):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#prompt textarea", timeout=60_000)
    return context, page


def send(page, text):
    """Type and press Enter as a user would, again if the press was dropped: Gradio ignores a submit while the
    last one's event is still closing (trigger_mode "once"), and the box empties only when a send is taken."""
    page.fill("#prompt textarea", text)
    for _ in range(20):
        page.focus("#prompt textarea")
        page.keyboard.press("Enter")
        try:
            page.wait_for_function("document.querySelector('#prompt textarea').value === ''", timeout=1_500)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"the app never took {text!r}")


def chat_text(page) -> str:
    return page.inner_text("#chatbot")


def test_message_streams_and_meter_equals_logged_row(browser, demo, scenarios):
    scenarios.scenarios["gpt-4o-mini"] = Scenario(chunks=[w + " " for w in FAQ_ANSWER], gap=0.08, input_tokens=412,
                                                  cached_tokens=256, output_tokens=61)
    context, page = open_chat(browser, demo.url)
    page.fill("#system textarea", "You answer questions about the K-Digital training programme.")
    send(page, "훈련장려금 얼마 받을 수 있나요?")
    page.wait_for_function("document.querySelector('#chatbot').innerText.includes('training allowance')", timeout=20_000)
    assert "TTFT" not in chat_text(page)  # the reply is visible while it is still streaming
    assert page.input_value("#prompt textarea") == ""  # emptied as it was sent, ready for the next question
    page.fill("#prompt textarea", "a follow-up typed while the reply streams")
    row = wait_row(demo.db, "훈련장려금 얼마 받을 수 있나요?")
    line = meter_line(row)
    page.wait_for_function("t => document.querySelector('#chatbot').innerText.includes(t)", arg=line, timeout=20_000)
    assert row["status"] == "ok" and row["reply"] == " ".join(FAQ_ANSWER) + " "
    assert (row["input_tokens"], row["output_tokens"], row["cached_tokens"]) == (412, 61, 256)
    assert Decimal(row["cost_usd"]) == (156 * Decimal("0.15") + 256 * Decimal("0.075") + 61 * Decimal("0.60")) / 1_000_000
    assert row["system"] == "You answer questions about the K-Digital training programme."
    # the session panel is refreshed right after the reply (it is not re-sent with every repaint)
    page.wait_for_function("() => document.querySelector('#meter-panel').innerText.includes('1 request')", timeout=20_000)
    assert page.input_value("#prompt textarea") == "a follow-up typed while the reply streams"  # repaints leave it be
    panel = page.inner_text("#meter-panel")
    assert "1 request · 412 in / 61 out tokens" in panel and "473 / 128,000 tokens" in panel
    if os.environ.get("UPDATE_SCREENSHOTS"):
        answer = ("No — finishing the course does not guarantee an internship, but graduates are matched with partner "
                  "companies.")
        scenarios.scenarios["gpt-4o-mini"] = Scenario(chunks=[w + " " for w in answer.split(" ")] * 3, gap=0.12)
        send(page, "교육을 수료하면 무조건 인턴 될 수 있나요?")
        page.wait_for_function("document.querySelectorAll('#chatbot .message').length > 0", timeout=10_000)
        time.sleep(1.5)  # mid-stream: the second reply is still arriving
        out = ROOT / "docs" / "screenshots"
        out.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out / "chat.png"), full_page=True)
    context.close()


def test_a_korean_range_stays_literal_and_a_model_name_typed_as_markup_stays_text(browser, demo, scenarios):
    """One tilde is a Korean range; GFM renderers draw ~…~ as strikethrough. Two tildes may stay strikethrough.
    Then, on the same page, the model typed as 'openai:<img src=/logout>', which once drew that image in the meter."""
    scenarios.scenarios["gpt-4o-mini"] = Scenario(chunks=["상담 시간은 09:00~18:00 · 180~240분입니다. ", "~~old~~"])
    scenarios.scenarios["<img src=/logout>"] = Scenario(chunks=["fine"], input_tokens=5, output_tokens=1)
    context, page = open_chat(browser, demo.url)
    send(page, "상담 시간이 언제인가요?")
    # the whole reply, its second chunk included: a busy machine renders the first one alone for a while
    page.wait_for_function("document.querySelector('#chatbot').innerText.includes('old')", timeout=20_000)
    assert "09:00~18:00 · 180~240분" in chat_text(page)
    struck = page.eval_on_selector_all("#chatbot del, #chatbot s", "els => els.map(e => e.textContent)")
    assert struck == ["old"], struck

    page.fill("#model input", "openai:<img src=/logout>")
    page.keyboard.press("Enter")
    send(page, "hello")
    page.wait_for_function("document.querySelector('#chatbot').innerText.includes('<img src=/logout>')",
                           timeout=20_000)
    assert page.locator("#chatbot img[src*='logout']").count() == 0
    context.close()


def test_stop_and_then_closing_the_tab_mid_stream_each_log_aborted_with_partial_text(browser, demo, scenarios):
    words = [f"w{i} " for i in range(200)]
    scenarios.scenarios["gpt-4o-mini"] = Scenario(chunks=words, gap=0.05)
    context, page = open_chat(browser, demo.url)
    send(page, "please stop me")
    page.wait_for_function("document.querySelector('#chatbot').innerText.includes('w10 ')", timeout=20_000)
    page.click("#stop")
    page.wait_for_function("document.querySelector('#chatbot').innerText.includes('⏹ stopped')", timeout=20_000)
    row = wait_row(demo.db, "please stop me")
    assert row["status"] == "aborted"
    assert row["reply"].startswith("w0 w1 w2") and len(row["reply"]) < len("".join(words))
    assert row["usage_source"] == "estimate" and row["output_tokens"] > 0
    page.wait_for_function("t => document.querySelector('#chatbot').innerText.includes(t)", arg=meter_line(row), timeout=10_000)

    # the next question on the same page, and the user closes the tab while its reply streams
    scenarios.scenarios["gpt-4o-mini"] = Scenario(chunks=[f"t{i} " for i in range(300)], gap=0.05)
    send(page, "closing the tab")
    page.wait_for_function("document.querySelector('#chatbot').innerText.includes('t5 ')", timeout=20_000)
    context.close()
    deadline = time.monotonic() + 40
    row = None
    while time.monotonic() < deadline:
        found = rows(demo.db, "prompt = 'closing the tab'")
        if found and found[0]["status"] not in ("ok", "streaming"):
            row = found[0]
            break
        time.sleep(0.2)
    assert row is not None, "no aborted row after the tab closed"
    assert row["status"] == "aborted" and row["reply"].startswith("t0 t1 t2 t3 t4 t5")
    assert len(row["reply"]) < len("".join(f"t{i} " for i in range(300)))


def test_five_sessions_stream_at_the_same_time_and_each_sees_only_its_own_history(browser, demo, scenarios):
    scenarios.scenarios["gpt-4o-mini"] = Scenario(ttft=0.5, chunks=["tick "] * 5, gap=0.4)
    pages = [open_chat(browser, demo.url) for _ in range(5)]
    for i, (_, page) in enumerate(pages):
        send(page, f"parallel {i} secret question")
    for _, page in pages:
        page.wait_for_function("document.querySelector('#chatbot').innerText.includes('TTFT')", timeout=60_000)
    reqs = [r for r in scenarios.requests if r["body"]["messages"][-1]["content"].startswith("parallel ")]
    assert len(reqs) == 5
    # every stream was open while every other was: they ran side by side, not queued one after another
    assert max(r["started"] for r in reqs) < min(r["ended"] for r in reqs)
    assert all(row["status"] == "ok" for row in rows(demo.db, "prompt LIKE 'parallel %'"))
    # each browser sees its own question and no other's, each logged under a session of its own
    for i, (_, page) in enumerate(pages):
        assert [n for n in range(5) if f"parallel {n} secret" in chat_text(page)] == [i]
    sessions = {wait_row(demo.db, f"parallel {i} secret question")["session_id"] for i in range(5)}
    assert len(sessions) == 5 and all(sessions)
    # the model saw only its own session's history
    a = pages[0][1]
    send(a, "alpha follow-up")
    # the second reply's meter: the request has reached the server (a second user bubble alone races it)
    a.wait_for_function("document.querySelector('#chatbot').innerText.split('TTFT').length > 2", timeout=20_000)
    follow = [r for r in scenarios.requests if r["body"]["messages"][-1]["content"] == "alpha follow-up"][0]
    assert "parallel 0 secret question" in str(follow["body"]["messages"])
    assert not any(f"parallel {n} secret" in str(follow["body"]["messages"]) for n in range(1, 5))
    for context, _ in pages:
        context.close()


@pytest.fixture(scope="module")
def guarded(fake_server, tmp_path_factory):
    env = demo_env(fake_server.url, CHAT_DEFAULT_MODEL="gpt-4o")
    proc = DemoProcess(env, ["--auth", "alice:wonder-1", "--session-cap", "0.002"], tmp_path_factory.mktemp("guarded") / "chat.db")
    yield proc
    proc.stop()


def test_auth_refuses_browser_and_api_client_without_login(browser, guarded):
    context = browser.new_context()
    page = context.new_page()
    page.goto(guarded.url)
    page.wait_for_selector("input[type=password]", timeout=30_000)
    assert page.locator("#prompt").count() == 0
    context.close()
    from gradio_client import Client

    with pytest.raises(Exception) as refused:
        Client(guarded.url, verbose=False).predict("hello", api_name="/chat")
    assert "401" in str(refused.value) or "auth" in str(refused.value).lower() or "login" in str(refused.value).lower()
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as http:
        urllib.request.urlopen(guarded.url + "config")
    assert http.value.code == 401
    assert rows(guarded.db) == []  # nothing got through


def test_only_the_log_out_button_logs_out_and_a_session_cap_blocks_the_next_paid_call(browser, guarded, scenarios):
    """A reply holding ![a [b] c](/logout) once logged its reader out on the next page load: a GET to /logout is
    refused now, and the app's Log out button (a POST) still works. In between, on the reloaded page (a session of its
    own), the session's spend cap lets one paid call through and blocks the next."""
    scenarios.scenarios["gpt-4o"] = Scenario(chunks=["see ", "![a [b] c](/logout) ", "<img src=/logout>"],
                                             input_tokens=10, output_tokens=5)
    context, page = login(browser, guarded.url)
    send(page, "show me")
    page.wait_for_function("document.querySelector('#chatbot').innerText.includes('TTFT')", timeout=20_000)
    status = page.evaluate("fetch('logout', {credentials: 'include', redirect: 'manual'}).then(r => r.status)")
    assert status == 405  # what an image, a link or a prefetch would send
    page.reload()
    page.wait_for_selector("#prompt textarea", timeout=30_000)  # still logged in

    # with max 100 output tokens a gpt-4o call may cost ~$0.00104: the first fits the $0.002 cap, the second would not
    scenarios.scenarios["gpt-4o"] = Scenario(input_tokens=20, output_tokens=100)
    page.fill("#max-tokens input", "100")
    page.locator("#max-tokens input").press("Tab")
    send(page, "first paid question")
    page.wait_for_function("document.querySelector('#chatbot').innerText.includes('TTFT')", timeout=20_000)
    assert wait_row(guarded.db, "first paid question")["status"] == "ok"
    calls = len(scenarios.requests)
    send(page, "second paid question")
    page.wait_for_function("document.querySelector('#chatbot').innerText.includes('spend cap reached')", timeout=20_000)
    assert len(scenarios.requests) == calls  # no paid call went out
    row = wait_row(guarded.db, "second paid question")
    assert row["status"] == "error" and "session spend cap reached" in row["error"]

    page.click("#logout")
    page.wait_for_selector("input[type=password]", timeout=30_000)  # the button logs out
    page.goto(guarded.url)
    page.wait_for_selector("input[type=password]", timeout=30_000)
    assert page.locator("#prompt").count() == 0
    context.close()


def test_compare_tab_streams_two_models_at_once_and_votes_blind(browser, demo, scenarios):
    scenarios.scenarios["gpt-4o-mini"] = Scenario(chunks=["mini "] * 20, gap=0.05, input_tokens=30, output_tokens=20)
    scenarios.scenarios["gpt-4.1"] = Scenario(chunks=["big "] * 20, gap=0.05, input_tokens=30, output_tokens=20)
    context, page = open_chat(browser, demo.url)
    page.get_by_role("tab", name="Compare").click()
    send_compare(page, ("gpt-4o-mini", "gpt-4.1"), "which is better?", rater="tester", blind=True)
    # both columns show text while both are still streaming
    text = "const t = id => (document.querySelector(id) || {innerText: ''}).innerText;"
    page.wait_for_function(f"() => {{ {text} return ['0','1'].every(i => t('#compare-answer-' + i).trim().length > 0)"
                           " && !t('#compare-meter-0').includes('TTFT') && !t('#compare-meter-1').includes('TTFT') }",
                           timeout=20_000)
    # finished, and still blind: the meters (cost, tokens, speed) would give the models away
    page.wait_for_function(f"() => {{ {text} return ['0','1'].every(i => t('#compare-meter-' + i).includes('hidden')) }}",
                           timeout=20_000)
    assert not any("$" in page.inner_text(f"#compare-meter-{i}") for i in range(2))
    heads = [page.inner_text(f"#compare-head-{i}") for i in range(2)]
    assert heads == ["Model A", "Model B"]  # blind: names hidden
    found = rows(demo.db, "prompt = 'which is better?' AND status != 'streaming'")
    assert len(found) == 2 and found[0]["compare_id"] and found[0]["compare_id"] == found[1]["compare_id"]
    reqs = [r for r in scenarios.requests if r["body"]["messages"][-1]["content"] == "which is better?"]
    assert max(r["started"] for r in reqs) < min(r["ended"] for r in reqs)  # streamed side by side
    page.click("#compare-vote-0")
    page.wait_for_function("document.querySelector('#compare-head-0').innerText.includes(':')", timeout=10_000)
    page.wait_for_function("document.querySelector('#compare-meter-0').innerText.includes('TTFT')", timeout=10_000)
    revealed = page.inner_text("#compare-head-0")
    conn = sqlite3.connect(demo.db)
    deadline = time.monotonic() + 10
    vote = None
    while vote is None and time.monotonic() < deadline:
        vote = conn.execute("SELECT v.rater, v.blind, e.model FROM votes v JOIN exchanges e ON e.id = v.exchange_id").fetchone()
        time.sleep(0.1)
    assert vote[0] == "tester" and vote[1] == 1 and vote[2] in revealed
    if os.environ.get("UPDATE_SCREENSHOTS"):
        page.screenshot(path=str(ROOT / "docs" / "screenshots" / "compare.png"), full_page=True)
    context.close()


def test_runs_tab_runs_a_question_set_with_progress_and_shows_results(browser, demo, scenarios):
    scenarios.scenarios["gpt-4o-mini"] = Scenario(ttft=0.05, gap=0.02, input_tokens=420, output_tokens=60,
                                                  variants=[["네, ", "연속으로 쓸 수 있어요."],
                                                            ["네, 가능합니다. ", "다만 출석률 80%를 지켜야 해요."]])
    scenarios.scenarios["gpt-4.1"] = Scenario(ttft=0.2, gap=0.03, input_tokens=420, output_tokens=90)
    context, page = open_chat(browser, demo.url)
    fill_run(page, ("gpt-4o-mini", "gpt-4.1"), repeats=2)
    page.click("#run-go")
    # while it runs, the status line (answers, spend so far, time left) is itself the progress: Gradio's overlay
    # neither greys it out (it read at 0.2 opacity) nor covers it with a second progress text
    seen = []
    while not re.search(r"· done", page.inner_text("#run-status [data-testid=markdown-wrapper]")):
        seen.append(page.evaluate(STATUS_LOOK))
        time.sleep(0.1)
    assert len(seen) >= 3 and all(look == ["1", "0"] for look in seen if look), seen
    # the finished line, not the progress overlay over it (which also reads "40/40 answers")
    page.wait_for_function("/Run \\S+ · 40\\/40 answers.* · done/.test(document.querySelector('#run-status')"
                           ".innerText)", timeout=60_000)
    page.wait_for_function("document.querySelector('#run-per-model').innerText.includes('gpt-4.1')", timeout=20_000)
    run_id = run_id_shown(page)
    assert len(rows(demo.db, "run_id = ?", [run_id])) == 40
    table = page.inner_text("#run-per-model")
    assert "gpt-4o-mini" in table and "$0.000099" in table  # (420*0.15 + 60*0.60) / 1M per question
    # the decision view: with no constraints the cheaper model; a latency no model reaches, and none
    page.wait_for_function("document.querySelector('#decide-verdict').innerText.includes('gpt-4o-mini: meets all "
                           "constraints')", timeout=20_000)
    assert "No ratings yet" in page.inner_text("#decide-verdict")
    page.fill("#decide-max-latency input", "0.01")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#decide-verdict').innerText.includes('No candidate meets every "
                           "constraint')", timeout=20_000)
    assert "is over 0.01 s by" in page.inner_text("#decide-verdict") and "✗ misses" in page.inner_text("#decide-checks")
    # the cost-quality chart draws every candidate, rated or not (these two are not), the recommended one in its colour
    page.wait_for_function("document.querySelectorAll('#decide-pareto svg .plot_marks path[aria-label*=\"model: gpt\"]')"
                           ".length == 2", timeout=20_000)
    strokes = page.eval_on_selector_all("#decide-pareto svg .plot_marks path[aria-label*='model: gpt']",
                                        "ps => ps.map(p => p.getAttribute('stroke'))")
    assert all(strokes), strokes  # a point with no colour is drawn invisible
    page.fill("#decide-max-latency input", "")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#decide-verdict').innerText.includes('gpt-4o-mini: meets all "
                           "constraints')", timeout=20_000)
    # rating blind (the default), the answers with the models' names stay closed; unticking Blind opens them
    assert not page.locator("#run-answers").is_visible()
    page.get_by_role("button", name="Rate answers").click()
    page.click("#run-blind input")
    page.wait_for_function("(() => { const e = document.querySelector('#run-answers'); return e && e.offsetParent !== null "
                           "&& e.innerText.includes('gpt-4.1'); })()", timeout=20_000)
    if os.environ.get("UPDATE_SCREENSHOTS"):
        page.screenshot(path=str(ROOT / "docs" / "screenshots" / "runs.png"), full_page=True)
    context.close()


def test_a_run_survives_its_tab_closing_and_a_new_tab_follows_it(browser, demo, scenarios):
    scenarios.scenarios["gpt-4o-mini"] = Scenario(ttft=1.5, input_tokens=420, output_tokens=60)
    context, page = open_chat(browser, demo.url)
    fill_run(page, ("gpt-4o-mini",), repeats=2)
    page.wait_for_function("document.querySelector('#run-estimate').innerText.includes('20 calls')", timeout=20_000)
    page.click("#run-go")
    page.wait_for_function("/\\*\\*|Run /.test(document.querySelector('#run-status').innerText) && "
                           "/ [1-9][0-9]*\\/20 answers/.test(document.querySelector('#run-status').innerText)",
                           timeout=60_000)
    run_id = run_id_shown(page)
    context.close()  # the tab goes away mid-run
    assert len(rows(demo.db, "run_id = ? AND status != 'streaming'", [run_id])) < 20

    context, page = open_chat(browser, demo.url)
    page.get_by_role("tab", name="Runs").click()
    page.wait_for_function(f"document.querySelector('#run-status').innerText.includes('{run_id}')", timeout=30_000)
    page.wait_for_function("document.querySelector('#run-status').innerText.includes('20/20 answers')", timeout=60_000)
    assert "done" in page.inner_text("#run-status") and "spent of $" in page.inner_text("#run-status")
    page.wait_for_function("document.querySelector('#run-per-model').innerText.includes('gpt-4o-mini')",
                           timeout=20_000)
    logged = rows(demo.db, "run_id = ?", [run_id])
    assert len(logged) == 20 and {r["status"] for r in logged} == {"ok"}  # none aborted with the first tab
    context.close()


def test_the_logs_show_times_in_the_browsers_time_zone(browser, demo, scenarios):
    scenarios.scenarios["gpt-4o-mini"] = Scenario(input_tokens=20, output_tokens=12)
    context = browser.new_context(viewport={"width": 1280, "height": 860}, timezone_id="Asia/Seoul", locale="ko-KR")
    page = context.new_page()
    page.goto(demo.url)
    page.wait_for_selector("#prompt textarea", timeout=60_000)
    send(page, "What time is it in Seoul?")
    row = wait_row(demo.db, "What time is it in Seoul?")
    page.get_by_role("tab", name="로그").click()  # a Korean browser: the tab is 로그
    page.wait_for_function("document.querySelector('#logs-summary').innerText.includes('Asia/Seoul 기준')",
                           timeout=30_000)
    from chat.ui.display import local_time

    assert local_time(row["created_at"], "Asia/Seoul") in page.inner_text("#logs-table")  # KST, nine hours ahead
    assert row["created_at"].endswith("Z")  # the log keeps UTC
    context.close()


def test_lang_forces_one_language_for_every_browser(browser, fake_server, tmp_path):
    proc = DemoProcess(demo_env(fake_server.url), ["--lang", "ko"], tmp_path / "chat.db")
    try:
        context, page = open_chat(browser, proc.url)  # an en-US browser
        assert page.get_by_role("tab").all_inner_texts()[:4] == ["채팅", "비교", "실행", "로그"]
        page.wait_for_function("document.querySelector('#meter-panel').innerText.includes('세션')", timeout=20_000)
        context.close()
    finally:
        proc.stop()


def test_new_user_with_no_keys_chats_with_the_embedded_model(browser, tmp_path):
    need("llama_cpp", "the embedded model")
    env = {k: v for k, v in os.environ.items()
           if not k.endswith(("_API_KEY", "_BASE_URL")) and k not in ("CHAT_DEFAULT_MODEL", "DEMO_AUTH")}
    env["GRADIO_ANALYTICS_ENABLED"] = "False"
    proc = DemoProcess(env, [], tmp_path / "chat.db")
    try:
        context, page = open_chat(browser, proc.url)
        assert "smollm2-135m-instruct" in page.input_value("#model input")
        page.fill("#max-tokens input", "24")
        send(page, "What is the capital of France?")
        row = wait_row(proc.db, "What is the capital of France?", timeout=120)
        assert row["status"] == "ok" and row["model"] == "smollm2-135m-instruct" and row["reply"].strip()
        assert row["usage_source"] == "provider" and row["cost_usd"] == "0"
        assert json.loads(row["params_json"])["max_tokens"] == 24 and 0 < row["output_tokens"] <= 24
        page.wait_for_function("t => document.querySelector('#chatbot').innerText.includes(t)", arg=meter_line(row),
                               timeout=30_000)
        context.close()
    finally:
        proc.stop()


def test_logs_tab_filters_searches_opens_a_row_and_exports(browser, demo, scenarios):
    scenarios.scenarios["gpt-4o-mini"] = Scenario(chunks=["환불은 ", "5일 안에 ", "처리됩니다."], input_tokens=50, output_tokens=9)
    context, page = open_chat(browser, demo.url)
    send(page, "수강료 환불은 언제 되나요?")
    wait_row(demo.db, "수강료 환불은 언제 되나요?")
    scenarios.scenarios["gpt-4o-mini"] = Scenario(status=500, error_message="overloaded")
    send(page, "Is there an online course?")
    failed = wait_row(demo.db, "Is there an online course?")
    assert failed["status"] == "error" and failed["model"] == "gpt-4o-mini"

    page.get_by_role("tab", name="Logs").click()
    page.wait_for_function("document.querySelector('#logs-table').innerText.includes('Is there an online')",
                           timeout=30_000)
    assert "Showing every exchange" in page.inner_text("#logs-summary")
    # filter on status: only the failure is left
    page.click("#logs-status input")
    page.keyboard.type("error")
    page.keyboard.press("Enter")
    page.wait_for_function("!document.querySelector('#logs-table').innerText.includes('수강료')", timeout=20_000)
    assert "Is there an online course?" in page.inner_text("#logs-table")
    page.keyboard.press("Backspace")  # the status filter goes again
    page.wait_for_function("document.querySelector('#logs-table').innerText.includes('수강료')", timeout=20_000)
    # full-text search in Korean: 환불 finds 환불은
    page.fill("#logs-search textarea", "환불")
    page.keyboard.press("Enter")
    page.wait_for_function("!document.querySelector('#logs-table').innerText.includes('online course')",
                           timeout=20_000)
    summary = page.inner_text("#logs-summary")
    assert "1 exchange " in summary and "50 in / 9 out" in summary
    # the row's detail: what was sent, the meter, what it would cost elsewhere
    page.click("#logs-table [data-testid='cell-0-1']")
    page.wait_for_function("document.querySelector('#logs-detail').innerText.includes('What was sent')",
                           timeout=20_000)
    detail = page.inner_text("#logs-detail")
    row = wait_row(demo.db, "수강료 환불은 언제 되나요?")
    assert "수강료 환불은 언제 되나요?" in detail and "환불은 5일 안에 처리됩니다." in detail
    assert meter_line(row) in detail and "Same text elsewhere" in detail
    # a compact table of the ten cheapest, the rest one click away
    others = page.locator("#logs-detail table").first.locator("tbody tr")
    assert others.count() == 10
    more = page.locator("#logs-detail details")
    assert "more models" in more.locator("summary").inner_text()
    assert not more.locator("table").is_visible()
    more.locator("summary").click()
    assert more.locator("table").is_visible()
    # export the filtered rows as CSV
    page.click("#logs-export")
    link = page.locator("#logs-export-file a").first
    link.wait_for(timeout=20_000)
    import urllib.parse
    import urllib.request

    href = urllib.parse.urljoin(demo.url, link.get_attribute("href"))
    raw = urllib.request.urlopen(href, timeout=10).read()
    assert raw.startswith("\ufeff".encode())  # the BOM Excel on Korean Windows needs to read Hangul
    lines = raw.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("id,") and len(lines) == 2 and "수강료 환불은 언제 되나요?" in lines[1]
    if os.environ.get("UPDATE_SCREENSHOTS"):
        page.screenshot(path=str(ROOT / "docs" / "screenshots" / "logs.png"), full_page=True)
    context.close()


def test_report_shows_every_answer_side_by_side_and_reads_on_a_phone(browser, fake, engine, tmp_path):
    """The exported report, opened from disk (offline) in Chromium at desktop and phone widths."""
    from chat.evaluation.questionsets import load
    from chat.evaluation.ratings import DEFAULT_RUBRIC, rate
    from chat.evaluation.runs import create, execute
    from chat.evaluation.summary import summarize

    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=420, output_tokens=60, variants=[
        ["Refunds go back to your card within 14 days. ", "Open Account → Orders and press Refund."],
        ["You can request a refund from the account page; ", "it arrives within 14 days."]])
    fake.scenarios["claude-haiku-4-5"] = Scenario(input_tokens=450, output_tokens=75, chunks=[
        "Support is open on weekdays 09:00~18:00 KST · 180~240 calls a day. Outside those hours, leave a message and "
        "we reply the next working day."])
    qs = load(ROOT / "examples" / "support_questions.csv")
    models = ["gpt-4o-mini", "claude-haiku-4-5"]
    # one at a time: the fake gives gpt-4o-mini's replies in turn, so the first repeat is the first reply
    run_id = create(engine, qs, models, 2, 1, 100, None, None)
    list(execute(engine, run_id, qs, models, 2, 1, 100, None))
    summary = summarize(engine.store, run_id)
    first = next(r for r in summary.rows if r["model"] == "gpt-4o-mini")
    rate(engine.store, first["id"], {"answers": 5, "concise": 4}, DEFAULT_RUBRIC, "kim", blind=True)
    summary = summarize(engine.store, run_id)
    _, html_path = report_files.write_report(summary, tmp_path, engine.prices, per_day=5000)

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(html_path.as_uri())
        answers = page.locator("section.q")
        assert answers.count() == len(qs.questions)
        refund = answers.first
        assert "How do I get a refund?" in refund.inner_text()
        assert "Refunds are issued within 14 days" in refund.locator(".ref").inner_text()  # the reference answer
        cards = refund.locator(".card")
        assert cards.count() == 2 and cards.nth(0).locator("h4").inner_text() == "gpt-4o-mini"
        assert "Refunds go back to your card" in cards.nth(0).locator(".answer").first.inner_text()
        assert "people: answers 5.0, concise 4.0" in cards.nth(0).inner_text()
        # side by side on a wide screen
        a, b = cards.nth(0).bounding_box(), cards.nth(1).bounding_box()
        assert abs(a["y"] - b["y"]) < 2 and b["x"] > a["x"] + a["width"]
        assert not cards.nth(0).locator("details .answer").first.is_visible()
        cards.nth(0).locator("summary").click()
        assert cards.nth(0).locator("details .answer").first.is_visible()  # the second repeat, a click away
        assert "Projected monthly cost at 5,000 questions a day" in page.inner_text("body")
        assert "09:00~18:00 KST · 180~240 calls" in page.inner_text("body") and page.locator("del, s").count() == 0
        assert page.locator("h2").first.inner_text() == "Recommendation"
        if os.environ.get("UPDATE_SCREENSHOTS"):
            refund.screenshot(path=str(ROOT / "docs" / "screenshots" / "report-answers.png"))

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(html_path.as_uri())
        # on a phone: the cards stack, and nothing but the wide tables (which scroll on their own) is wider than the screen
        a, b = page.locator("section.q").first.locator(".card").nth(0).bounding_box(), \
            page.locator("section.q").first.locator(".card").nth(1).bounding_box()
        assert b["y"] > a["y"] + a["height"] - 1 and a["width"] <= 390
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        page.close()


def test_the_report_leads_with_the_decision_and_every_table_fits_a_phone(browser, store, tmp_path):
    """A stakeholder's report: titled by the set and its date, the recommendation first, no command lines, every
    table a stack of cards at 390 px; its blind twin shows no cost or speed."""
    from decimal import Decimal

    from chat.engine.pricing import load_prices
    from chat.evaluation.decision import Constraints
    from chat.evaluation.summary import summarize
    from tests.synthetic import Truth, write_run

    truths = [Truth("gpt-4o-mini", 1.2, cost_usd="0.0001", score=4.4),
              Truth("claude-haiku-4-5", 0.5, cost_usd="0.0004", score=4.5),
              Truth("gpt-4o", 0.8, cost_usd="0.0020", score=3.0)]
    run_id = write_run(store, truths, questions=10, repeats=6, seed=7)
    s = summarize(store, run_id)
    constraints = Constraints(max_latency_p95_s=5, min_score={"answers": 4}, max_monthly=Decimal(50))
    _, html_path = report_files.write_report(s, tmp_path, load_prices(), 1000, constraints)
    _, blind_path, _ = report_files.write_blind(s, tmp_path, load_prices(), 1000)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(html_path.as_uri())
        assert page.locator("h1").inner_text() == "synthetic · 2026-12-01"
        assert page.locator("h2").first.inner_text() == "Recommendation"
        assert page.locator(".verdict").inner_text().startswith("gpt-4o-mini: meets all constraints; 75% cheaper "
                                                                "than claude-haiku-4-5")
        headings = page.locator("h2").all_inner_texts()
        assert headings.index("Ratings") < headings.index("Per model") < headings.index("Answers side by side")
        assert headings[-1].startswith("Appendix: what these tokens would cost elsewhere")
        body = page.inner_text("body")
        assert "python -m chat" not in body and "monthly cost ≤ $50.00: meets" in body
        assert page.locator("svg[aria-label='cost against quality'] polyline").count() == 1  # the frontier line
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(html_path.as_uri())
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        wide = page.evaluate("[...document.querySelectorAll('table, td')].filter(e => e.getBoundingClientRect()"
                             ".right > 390 || e.scrollWidth > e.clientWidth + 1).length")
        assert wide == 0  # no table and no cell needs sideways scrolling
        cell = page.locator("td[data-label='Latency p95']").first
        assert cell.is_visible() and cell.bounding_box()["width"] < 390

        page.goto(blind_path.as_uri())
        blind = page.inner_text("body")
        assert "Cost and speed are left out until the key is opened" in blind
        assert "$" not in blind and " ms" not in blind and "latency" not in blind.lower().replace(
            "cost and speed", "")
        assert "gpt-4o" not in blind and "Model A" in blind
    finally:
        page.close()
