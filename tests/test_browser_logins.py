"""Two real logins in two real browsers: one's runs, results and decision are not the other's, and no one rates as
someone else, whatever they type."""
from __future__ import annotations

import sqlite3
import time

import pytest

from tests.browser import DemoProcess, demo_env, fill_run, login, run_id_shown, send_compare
from tests.fake_servers import Scenario


@pytest.fixture(scope="module")
def team(fake_server, tmp_path_factory):
    proc = DemoProcess(demo_env(fake_server.url), ["--auth", "alice:wonder-1", "--auth", "bob:builder-2"],
                       tmp_path_factory.mktemp("team") / "chat.db")
    yield proc
    proc.stop()


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
