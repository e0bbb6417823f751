"""Several app processes behind nginx, as docs/nginx.conf sets them up: sticky sessions, streaming, one log."""
from __future__ import annotations

import os
import shutil
import sqlite3

import pytest

from tests.browser import Apps, demo_env
from tests.fake_servers import Scenario
from tests.test_browser import open_chat, send


@pytest.fixture(scope="module")
def proxied(fake_server, tmp_path_factory):
    if not shutil.which("nginx"):
        if os.environ.get("CI"):
            pytest.fail("nginx not found: apt-get install -y nginx-light")
        pytest.skip("nginx is not installed (apt-get install -y nginx-light)")
    apps = Apps(demo_env(fake_server.url), [], tmp_path_factory.mktemp("proxied"), processes=2)
    yield apps
    apps.stop()


def test_each_browser_keeps_to_one_process_and_streams_through_the_proxy(browser, proxied, fake_server):  # noqa: F811
    fake_server.scenarios["gpt-4o-mini"] = Scenario(chunks=["Streamed", " through", " nginx", "."], gap=0.05,
                                                    input_tokens=12)
    pages = []
    for n in range(6):
        context, page = open_chat(browser, proxied.url)
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        assert cookies.get("chat_route"), "nginx set no sticky-session cookie"
        send(page, f"hello from browser {n}")
        pages.append((context, page))
    for context, page in pages:
        # the reply reaches the page only if its queue join and its event stream went to the same process
        page.wait_for_function("document.querySelector('#chatbot').innerText.includes('Streamed through nginx.')",
                               timeout=30_000)
        context.close()
    conn = sqlite3.connect(proxied.db)
    rows = conn.execute("SELECT status FROM exchanges WHERE prompt LIKE 'hello from browser %'").fetchall()
    assert [status for status, in rows] == ["ok"] * 6  # every process writes the one log
