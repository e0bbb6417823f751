"""Shared fixtures: an isolated environment, the loopback fake server, a fresh SQLite log."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Bytecode is written, whatever the machine says (some set PYTHONDONTWRITEBYTECODE): the README installs the packages
# without compiling every file of them, so what the tests import is compiled once, by the first process to import
# it, and the twenty app processes, the CLIs and the model workers the tests start load chat/ and Gradio compiled.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

import chat.ui  # noqa: E402, F401  (first: test modules then import Gradio as the app does, its stub writer off)
from tests.fake_servers import FakeLLMServer  # noqa: E402

pytest_plugins = ["tests.crash_log"]

ROOT = Path(__file__).resolve().parent.parent
_SHARED_CACHE = ROOT.parent / "shared" / "tiktoken-cache"
if not os.environ.get("TIKTOKEN_CACHE_DIR") and _SHARED_CACHE.is_dir():
    os.environ["TIKTOKEN_CACHE_DIR"] = str(_SHARED_CACHE)
# The suite runs a worker per core. The embedded model's threads wait for each other at every token, so a model
# computing on both cores spins while the other worker's browser holds one: each of its processes computes on one.
os.environ.setdefault("CHAT_LOCAL_THREADS", "1")

# Variables a developer's shell or .env might carry; tests decide them explicitly.
_CONFIG_VARS = [
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_ENDPOINT", "OPENAI_API_VERSION", "GEMINI_API_KEY", "OPENROUTER_API_KEY", "AWS_REGION",
    "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "CHAT_ENDPOINTS",
    "CHAT_DEFAULT_MODEL", "CHAT_DB", "CHAT_TIMEOUT", "CHAT_CONNECT_TIMEOUT", "CHAT_MAX_RETRIES", "DEMO_AUTH",
    "CHAT_SESSION_CAP_USD", "CHAT_DAILY_CAP_USD", "ANTHROPIC_BEDROCK_BASE_URL", "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AZURE_AI_ENDPOINT", "AZURE_AI_API_KEY",
    "AZURE_AI_API_VERSION",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by playwright: one per test process, as starting it costs a second and a
    half of the two cores (each test opens contexts of its own, so none sees another's cookies or pages)."""
    from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium

    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def fake_server():
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def fake(fake_server, monkeypatch):
    """The fake server with fresh scenarios, and the SDK variables pointing at it."""
    fake_server.scenarios.clear()
    fake_server.requests.clear()
    from tests.fake_servers import Scenario

    fake_server.default = Scenario()
    # a fresh set of scenarios is a new server: what a provider learned of the last one (a model that refused
    # stream_options, so later calls ask no usage) would leak into the next test
    from chat.engine import endpoints

    for client in list(endpoints._clients.values()):
        getattr(client, "no_stream_options", set()).clear()
    monkeypatch.setenv("OPENAI_BASE_URL", f"{fake_server.url}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-abcdef123456")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_server.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789")
    monkeypatch.setenv("CHAT_MAX_RETRIES", "2")
    return fake_server


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for var in _CONFIG_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CHAT_DB", str(tmp_path / "chat.db"))
    # a developer's ~/.aws must not decide whether Bedrock looks configured
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def fresh_model():
    """Embedded-model worker processes of this test's own, ended afterwards: no test sees another's context or cache."""
    from chat.engine.providers import llama_process, local_llama

    llama_process.stop_all()
    yield local_llama
    llama_process.stop_all()


@pytest.fixture
def store(tmp_path):
    from chat.storage.store import Store

    return Store(tmp_path / "chat.db")


@pytest.fixture(scope="session")
def pg_server():
    """The admin URL of a real PostgreSQL server (see tests/pg.py)."""
    from tests import pg

    need("psycopg", "the log on PostgreSQL")
    url, folder = pg._start()
    yield url
    pg.stop(folder)


@pytest.fixture
def pg_url(pg_server, monkeypatch, tmp_path):
    """A fresh, empty PostgreSQL database of this test's own; spill files go to its own folder."""
    from tests import pg

    monkeypatch.setenv("CHAT_SPILL_DIR", str(tmp_path / "spill"))
    url = pg.fresh_database(pg_server)
    yield url
    from chat.storage import store

    for opened in list(store._stores):  # this test's logs end before their database does
        if opened.where == url:
            opened.close(timeout=5)
    pg.drop_database(pg_server, url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_target(request, tmp_path):
    """Where a log lives, once per engine: the contract tests run every storage behaviour on both."""
    if request.param == "sqlite":
        return str(tmp_path / "chat.db")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(store):
    from chat.engine import Engine

    return Engine(store)



def need(module: str, why: str):
    """Import a test dependency; under CI a missing one fails the run instead of skipping quietly."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"{module} is missing, so {why} cannot be tested: pip install -r requirements-dev.txt")
        pytest.skip(f"{module} is not installed ({why})")


# The files whose tests take longest (half a minute to two each; --durations shows them) start first, paired: with
# `--dist loadfile` each worker takes a whole file, the first two files go one to each worker, then the next two.
# The study (the embedded model on the long Korean FAQ) starts beside the shutdown tests, which mostly wait out
# timeouts, not beside a browser; the crash tests' model beside the two hosts' waits. One of these left to the end
# would run while the other worker sat idle.
LONGEST_FIRST = ("test_study.py", "test_shutdown.py", "test_browser.py", "test_exfiltration.py", "test_local_worker.py",
                 "test_hosts.py", "test_proxy.py", "test_logs_privacy.py", "test_browser_korean.py", "test_local_turns.py")


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order
