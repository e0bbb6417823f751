"""Real headless Chromium (Debian's) driven by playwright, and the demo app run as a subprocess."""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def require_chromium():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"chromium not found at {CHROMIUM}: apt-get install -y chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")


def login(browser, url, user: str = "alice", password: str = "wonder-1", **context_options):
    """A real login through the app's login form, in a fresh browser context of its own."""
    context = browser.new_context(viewport={"width": 1280, "height": 860}, **context_options)
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("input[type=password]", timeout=30_000)
    page.locator("input[type=text]").first.fill(user)
    page.fill("input[type=password]", password)
    page.keyboard.press("Enter")
    page.wait_for_selector("#prompt textarea", timeout=30_000)
    return context, page


def fill_run(page, models, repeats: int, example: str | None = "training_faq") -> None:
    """The Runs tab's form as a person fills it: an example set, the models, the repeats."""
    page.get_by_role("tab", name="Runs").click()
    if example:
        page.click("#run-example input")
        page.keyboard.type(example)
        page.keyboard.press("Enter")
    page.click("#run-models input")
    for name in models:
        page.keyboard.type(name)
        page.keyboard.press("Enter")
    page.fill("#run-repeats input", str(repeats))


def send_compare(page, models, prompt: str, rater: str | None = None, blind: bool = False) -> None:
    """The Compare tab's form as a person fills it (the tab already open): models, blind, rater, prompt, Send."""
    page.click("#compare-models input")
    for name in models:
        page.keyboard.type(name)
        page.keyboard.press("Enter")
    if blind:
        page.click("#compare-blind input")
    if rater is not None:
        page.fill("#compare-rater textarea, #compare-rater input", rater)
    page.fill("#compare-prompt textarea, #compare-prompt input", prompt)
    page.click("#compare-send")


def run_id_shown(page) -> str:
    """The run id the status line names (rendered Markdown: no backticks)."""
    found = re.search(r"Run (\S+) · \d+/\d+ answers", page.inner_text("#run-status"))
    assert found, page.inner_text("#run-status")
    return found.group(1).strip("`")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DemoProcess:
    """`python demo.py ...` on a free port, with its own SQLite file (or a PostgreSQL URL, run from a folder of
    its own: `cwd`, as a separate host would be)."""

    def __init__(self, env: dict, args: list[str], db: Path | str, log: Path | None = None, cwd: Path | None = None,
                 wait: bool = True):
        """Started, and (unless wait=False: call ready() later, so that several apps start at once) serving."""
        self.port = free_port()
        self.db = db
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = log or db.with_suffix(".log")
        self._fh = self.log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "demo.py"), "--port", str(self.port), "--db", str(db), *args],
            cwd=cwd or ROOT, env={**env, "PYTHONPATH": str(ROOT)} if cwd else env, stdout=self._fh,
            stderr=subprocess.STDOUT,
        )
        if wait:
            self.ready()

    def ready(self) -> DemoProcess:
        """Wait until the app answers (or a login page does)."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"demo.py exited early:\n{self.log.read_text()}")
            try:
                urllib.request.urlopen(self.url, timeout=2)
                return self
            except urllib.error.HTTPError:
                return self  # up, but asking for a login
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"demo.py did not start:\n{self.log.read_text()}")

    def output(self) -> str:
        return self.log.read_text()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._fh.close()


def demo_env(fake_url: str, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL")) and k != "DEMO_AUTH"}
    env.update(OPENAI_BASE_URL=f"{fake_url}/v1", OPENAI_API_KEY="sk-test-abcdef123456", CHAT_DEFAULT_MODEL="gpt-4o-mini",
               CHAT_MAX_RETRIES="0", GRADIO_ANALYTICS_ENABLED="False")
    env.update(extra)
    return env


class Apps:
    """`python demo.py`, or several of them sharing one chat.db (or one PostgreSQL log) behind nginx, configured by
    docs/nginx.conf."""

    def __init__(self, env: dict, args: list[str], folder: Path, processes: int, db: str | None = None):
        self.db = db or folder / "chat.db"  # a PostgreSQL URL: each process then runs in a folder of its own
        self.demos, self.nginx = [], None
        for i in range(processes):
            cwd = None
            if db:
                cwd = folder / f"host-{i}"
                cwd.mkdir()
            self.demos.append(DemoProcess(env, args, self.db, log=folder / f"app-{i}.log", cwd=cwd, wait=False))
        for d in self.demos:  # started together: each one's imports overlap the others'
            d.ready()
        self.pids = [d.proc.pid for d in self.demos]
        self.url = self.demos[0].url
        if processes > 1:
            self.prefix = folder / "nginx"
            (self.prefix / "logs").mkdir(parents=True)
            port = free_port()
            conf = (ROOT / "docs" / "nginx.conf").read_text()
            conf = re.sub(r"(\n\s*server 127\.0\.0\.1:\d+;)+", "\n" + "".join(
                f"        server 127.0.0.1:{d.port};\n" for d in self.demos), conf, count=1)
            conf = conf.replace("listen 127.0.0.1:7860;", f"listen 127.0.0.1:{port};")
            (self.prefix / "nginx.conf").write_text(conf)
            self.nginx = ["nginx", "-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf")]
            subprocess.run(self.nginx, check=True)
            self.pids.append(int((self.prefix / "logs" / "nginx.pid").read_text()))
            self.pids += [int(c) for c in Path(f"/proc/{self.pids[-1]}/task/{self.pids[-1]}/children").read_text().split()]
            self.url = f"http://127.0.0.1:{port}/"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(self.url, timeout=5)
                    break
                except OSError:
                    time.sleep(0.2)

    def output(self) -> str:
        return "\n".join(d.output()[-3000:] for d in self.demos)

    def stop(self) -> None:
        if self.nginx:
            subprocess.run([*self.nginx, "-s", "stop"])
        for d in self.demos:
            d.stop()
