"""Who reads which rows and loads which files, proved through the running app's routes, API, a real browser per
login, and the handlers. One app serves every login here."""
import json
import sqlite3
import time
import urllib.error
import urllib.request

import pytest
from gradio_client import Client

from chat.ui import logs_tab
from chat.ui.access import Access
from tests.browser import DemoProcess, demo_env, fill_run, login, run_id_shown, send_compare
from tests.fake_servers import Scenario


@pytest.fixture
def engine(db_target):
    """The handler tests here run on a SQLite log and on a PostgreSQL one."""
    from chat.engine import Engine
    from chat.storage.store import Store

    return Engine(Store(db_target))


FILTERS = ["all", "", "", [], [], [], "", "", "", "", "", "any", "time"]


def _chat(client, text):
    client.predict(text, "gpt-4o-mini", "", 0.7, 64, api_name="/chat")


def _visible(client, **overrides) -> tuple[str, list[str]]:
    args = list(FILTERS)
    if "user" in overrides:
        args[10] = overrides["user"]
    if "text" in overrides:
        args[6] = overrides["text"]
    summary, table, *_ = client.predict(*args, api_name="/logs")
    return summary, [row[-1] for row in table["data"]]


def _ids(demo) -> dict[str, str]:
    import sqlite3

    conn = sqlite3.connect(demo.db)
    return {p: i for i, p in conn.execute("SELECT id, prompt FROM exchanges")}


def _copy(source, target):
    import os
    import shutil

    try:
        os.link(source, target)  # the same bytes under another name, without 98 MB of copying where it can
    except OSError:
        shutil.copyfile(source, target)
    return target


@pytest.fixture(scope="module")
def team(fake_server, tmp_path_factory):
    from chat.engine.providers.local_llama import bundled_model_path

    fake_server.scenarios["gpt-4o-mini"] = Scenario(output_tokens=5)
    folder = tmp_path_factory.mktemp("team")
    models, elsewhere = folder / "models", folder / "elsewhere"
    models.mkdir(), elsewhere.mkdir()
    _copy(bundled_model_path(), models / "offered.gguf")
    _copy(bundled_model_path(), elsewhere / "private.gguf")
    # the logins as a deployment's environment gives them (DEMO_AUTH), the admin and the models folder as flags
    env = demo_env(fake_server.url, DEMO_AUTH="alice:wonder-1,bob:builder-2,carol:admin-3")
    proc = DemoProcess(env, ["--admin", "carol", "--models-dir", str(models)], folder / "chat.db")
    proc.models, proc.elsewhere = models, elsewhere
    yield proc
    proc.stop()


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def test_under_auth_no_route_tells_a_stranger_the_models_or_the_schema(team):
    status, page = _get(team.url)
    assert status == 200 and "gradio_config" in page  # the login page itself
    assert "gpt-4o-mini" not in page and "claude" not in page and '"/chat"' not in page
    assert "window.gradio_api_info = null;" in page
    for path in ("openapi.json", "docs", "redoc", "gradio_api/info", "gradio_api/openapi.json", "config",
                 "gradio_api/file=examples/training_faq.yaml", "gradio_api/file=pricing.yaml"):
        status, body = _get(team.url + path)
        assert status in (401, 403, 404), (path, status)
        assert "gpt-4o-mini" not in body and "training" not in body, path


def test_a_second_login_cannot_read_the_first_users_rows(team):
    alice = Client(team.url, auth=("alice", "wonder-1"), verbose=False)
    bob = Client(team.url, auth=("bob", "builder-2"), verbose=False)
    carol = Client(team.url, auth=("carol", "admin-3"), verbose=False)
    _chat(alice, "alice asks about her salary review")
    _chat(bob, "bob asks about the build")
    ids = _ids(team)
    assert len(ids) == 2

    summary, prompts = _visible(alice)
    assert prompts == ["alice asks about her salary review"] and "logged in as **alice**" in summary
    # bob sees his row only, whatever he filters on: asking for alice's rows by name finds nothing
    assert _visible(bob)[1] == ["bob asks about the build"]
    assert _visible(bob, user="alice")[1] == []
    assert _visible(bob, text="salary")[1] == []
    body, raw, sent = bob.predict(ids["alice asks about her salary review"], api_name="/log_exchange")
    assert "that you can see" in body and raw is None and sent is None
    assert "salary" not in body
    # alice opens her own row in full
    body, raw, sent = alice.predict(ids["alice asks about her salary review"], api_name="/log_exchange")
    assert "salary review" in body and sent[-1]["content"] == "alice asks about her salary review"
    # the admin sees everyone
    assert sorted(_visible(carol)[1]) == sorted(ids)


def _upload(url: str, login: tuple[str, str], name: str, data: bytes) -> str:
    """Upload a file as a logged-in user, as the Runs tab's file box does; the path the server stored it under."""
    import httpx

    with httpx.Client(base_url=url, timeout=30) as web:
        web.post("login", data={"username": login[0], "password": login[1]}).raise_for_status()
        stored = web.post("gradio_api/upload", files={"files": (name, data)})
        stored.raise_for_status()
        return stored.json()[0]


def test_a_login_loads_only_the_model_files_the_operator_offers(team):
    import sqlite3

    from chat.engine.local_models import REFUSED

    bob = Client(team.url, auth=("bob", "builder-2"), verbose=False)
    private = team.elsewhere / "private.gguf"
    (team.models / "link.gguf").symlink_to(private)
    uploaded = _upload(team.url, ("bob", "builder-2"), "crafted.gguf", private.read_bytes()[:4_000_000])
    probes = [private, team.elsewhere / "absent.gguf", "/etc/passwd", team.models / ".." / "elsewhere" / "private.gguf",
              team.models / "link.gguf", uploaded, "~/model.gguf"]
    for probe in probes:
        bob.predict("hi", f"local:{probe}", "", 0.0, 4, api_name="/chat")
    bob.predict("Say hello.", f"local:{team.models / 'offered.gguf'}", "", 0.0, 4, api_name="/chat")
    conn = sqlite3.connect(team.db)
    rows = dict(conn.execute("SELECT model, status || ': ' || coalesce(error, '') FROM exchanges WHERE user = 'bob' "
                             "AND model LIKE 'local:%'"))
    told = {rows[f"local:{probe}"] for probe in probes}
    # one line for all of them, whether the file exists, is a model, a link, an upload or a system file
    assert len(told) == 1 and REFUSED in told.pop(), rows
    assert rows[f"local:{team.models / 'offered.gguf'}"] == "ok: "
    # and the menu offers the operator's file
    assert f"local:{team.models / 'offered.gguf'}" in str(bob.view_api(return_format="dict", print_info=False))


def _query(db, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_another_login_finds_no_trace_of_alices_run_and_cannot_rate_as_her(browser, team, fake_server):
    fake_server.scenarios.clear()
    fake_server.scenarios["gpt-4o-mini"] = Scenario(input_tokens=120, output_tokens=30)
    fake_server.scenarios["gpt-4o"] = Scenario(input_tokens=120, output_tokens=40)
    # alice runs the training FAQ
    ca, alice = login(browser, team.url, "alice", "wonder-1")
    fill_run(alice, ("gpt-4o-mini",), repeats=1)
    alice.click("#run-go")
    alice.wait_for_function("/Run \\S+ · 10\\/10 answers.* · done/.test(document.querySelector('#run-status').innerText)",
                            timeout=60_000)
    run_id = run_id_shown(alice)
    alice.wait_for_function("document.querySelector('#decide-verdict').innerText.includes('gpt-4o-mini')",
                            timeout=30_000)
    assert _query(team.db, f"SELECT DISTINCT user FROM exchanges WHERE run_id = '{run_id}'") == [("alice",)]

    # bob, in his own browser: no run in his picker, an empty decision view, and her id does not resume
    cb, bob = login(browser, team.url, "bob", "builder-2")
    bob.get_by_role("tab", name="Runs").click()
    bob.wait_for_function("document.querySelector('#decide-verdict').innerText.includes('Pick a run to decide on')",
                          timeout=30_000)
    bob.click("#run-picker input")
    options = bob.locator("[role=option]").all_inner_texts()
    assert not any(run_id in o for o in options), options
    bob.keyboard.press("Escape")
    assert run_id not in bob.inner_text("body")
    fill_run(bob, ("gpt-4o-mini",), repeats=1)
    resume = bob.get_by_label("Resume run id (optional: finished answers are skipped)")
    resume.fill(run_id)
    resume.press("Tab")
    # the estimate is worked out again on the server after each field (a busy machine takes its time)
    bob.wait_for_function(f"document.querySelector('#run-estimate').innerText.includes(\"no run '{run_id}'\")",
                          timeout=60_000)
    # his Compare: he types alice's name as the rater; the vote is stored as his
    bob.get_by_role("tab", name="Compare").click()
    assert bob.input_value("#compare-rater textarea, #compare-rater input") == "bob"  # filled in from the login
    send_compare(bob, ("gpt-4o-mini", "gpt-4o"), "which answer is better?", rater="alice")
    bob.wait_for_function("['0', '1'].every(i => (document.querySelector('#compare-meter-' + i) || {innerText: ''})"
                          ".innerText.includes('TTFT'))", timeout=30_000)
    bob.click("#compare-vote-0")
    bob.wait_for_function("document.body.innerText.includes('Vote recorded for')", timeout=20_000)
    deadline = time.monotonic() + 10
    while not _query(team.db, "SELECT rater FROM votes") and time.monotonic() < deadline:
        time.sleep(0.1)  # the app's writer commits in the background
    assert _query(team.db, "SELECT rater FROM votes") == [("bob",)]
    # and alice still sees her run, with its results
    alice.reload()
    alice.wait_for_selector("#prompt textarea", timeout=30_000)
    alice.get_by_role("tab", name="Runs").click()
    alice.click("#run-picker input")
    assert any(run_id in o for o in alice.locator("[role=option]").all_inner_texts())
    ca.close(), cb.close()


@pytest.fixture(scope="module")
def open_link(fake_server, tmp_path_factory):
    # listening beyond loopback without logins counts as shared, as --share does (which needs the internet)
    proc = DemoProcess(demo_env(fake_server.url), ["--host", "0.0.0.0"], tmp_path_factory.mktemp("open") / "chat.db")
    yield proc
    proc.stop()


def test_listening_beyond_loopback_without_logins_warns_as_loudly_as_share(open_link):
    assert "WARNING: --host 0.0.0.0 without --auth makes this app PUBLIC" in open_link.output()
    assert "warning: sharing with no spend cap" in open_link.output()


def test_a_shared_link_without_logins_shows_each_browser_session_only_its_own(open_link):
    one = Client(open_link.url, verbose=False)
    two = Client(open_link.url, verbose=False)
    _chat(one, "first visitor's private question")
    _chat(two, "second visitor's question")
    assert _visible(one)[1] == ["first visitor's private question"]
    assert _visible(two)[1] == ["second visitor's question"]
    first_id = _ids(open_link)["first visitor's private question"]
    assert "that you can see" in two.predict(first_id, api_name="/log_exchange")[0]


def test_only_a_local_run_without_share_or_auth_shows_everything(engine):
    for i, user in enumerate(["alice", None]):
        engine.store.append("exchanges", {"id": f"e{i}", "created_at": f"2026-11-2{i}T00:00:00Z", "model": "m",
                                          "status": "ok", "prompt": f"p{i}", "reply": "r", "user": user,
                                          "browser_session": f"b{i}"})
    engine.store.flush()

    class Request:
        username = None
        session_hash = "b1"

    everything = logs_tab.search(engine, Access(), *FILTERS, request=Request())
    assert everything[2] == ["e1", "e0"] and "every exchange" in everything[0]
    shared = logs_tab.search(engine, Access(shared=True), *FILTERS, request=Request())
    assert shared[2] == ["e1"]
    assert logs_tab.detail(engine, Access(shared=True), "e0", request=Request())[1] is None
    Request.username = "alice"
    assert logs_tab.search(engine, Access(auth=True), *FILTERS, request=Request())[2] == ["e0"]
    assert logs_tab.search(engine, Access(auth=True, admins=frozenset({"alice"})), *FILTERS,
                           request=Request())[2] == ["e1", "e0"]


def test_the_searched_filter_pages_and_exports_whole_and_never_past_the_scope(engine):
    from chat.storage.logs import LogFilter

    for i, user in enumerate(["alice", "bob", "bob"]):
        engine.store.append("exchanges", {"id": f"e{i}", "created_at": f"2026-11-2{i}T00:00:00Z", "model": "m",
                                          "status": "ok", "prompt": f"p{i}", "reply": "r", "user": user})
    engine.store.flush()

    class Bob:
        username = "bob"
        session_hash = "b"

    auth = Access(auth=True)
    args = list(FILTERS)
    args[6] = "p2"  # bob searches for one of his own
    *shown, searched = logs_tab.search(engine, auth, *args, request=Bob())
    assert shown[2] == ["e2"] and isinstance(searched, LogFilter) and searched.text == "p2"
    assert logs_tab.query(engine, auth, searched, "time", 1, 1, request=Bob())[2] == ["e2"]  # the next page: the same search
    path, note = logs_tab.export(engine, auth, "JSONL", searched, request=Bob())
    assert [json.loads(line)["id"] for line in open(path, encoding="utf-8")] == ["e2"] and "1 exchange" in note
    # a filter naming alice, however it got into the state, is narrowed to bob: nothing of hers comes out
    path, _ = logs_tab.export(engine, auth, "CSV", LogFilter(user="alice"), request=Bob())
    assert open(path, encoding="utf-8").read() == ""
    assert logs_tab.query(engine, auth, LogFilter(user="alice"), "time", 0, 1, request=Bob())[2] == []
    assert logs_tab.query(engine, auth, None, "time", 0, 1, request=Bob())[2] == ["e2", "e1"]


def test_the_summary_says_when_filters_narrow_the_view(engine):
    engine.store.append("exchanges", {"id": "e0", "created_at": "2026-11-20T00:00:00.000Z", "model": "m", "status": "ok",
                                      "prompt": "p", "reply": "r"})
    engine.store.flush()
    assert logs_tab.search(engine, Access(), *FILTERS)[0].startswith("Showing every exchange in the log.")
    narrowed = list(FILTERS)
    narrowed[5] = ["error"]  # statuses
    assert logs_tab.search(engine, Access(), *narrowed)[0].startswith("Showing the exchanges in the log that match the filters.")
