"""A real PostgreSQL server for the tests: CHAT_TEST_PG_URL when CI started one (.ci/run), else one started here
with .ci/postgres for the session. Each test gets a database of its own, dropped afterwards."""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _start() -> tuple[str, str | None]:
    """(admin URL, folder of a server started here or None)."""
    given = os.environ.get("CHAT_TEST_PG_URL")
    if given:
        return given, None
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or not shutil.which("bash"):
        message = "PostgreSQL is not installed, so the log on PostgreSQL cannot be tested: apt-get install -y postgresql"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    out = subprocess.run(["bash", str(ROOT / ".ci" / "postgres"), "start"], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        pytest.fail(f"could not start PostgreSQL: {out.stderr.strip()[-500:]}")
    values = dict(part.split("=", 1) for part in out.stdout.split()[1:])
    return values["CHAT_TEST_PG_URL"], values["CHAT_TEST_PG_DIR"]


def _start_own() -> tuple[str, str]:
    """A server of the caller's own (to stop and start again): (URL of a fresh database, its folder)."""
    out = subprocess.run(["bash", str(ROOT / ".ci" / "postgres"), "start"], capture_output=True, text=True, check=True)
    values = dict(part.split("=", 1) for part in out.stdout.split()[1:])
    return fresh_database(values["CHAT_TEST_PG_URL"]), values["CHAT_TEST_PG_DIR"]


def pause(folder: str) -> None:
    subprocess.run(["bash", str(ROOT / ".ci" / "postgres"), "pause", folder], check=True)


def resume(folder: str) -> None:
    subprocess.run(["bash", str(ROOT / ".ci" / "postgres"), "resume", folder], check=True)


def stop(folder: str | None) -> None:
    if folder:
        subprocess.run(["bash", str(ROOT / ".ci" / "postgres"), "stop", folder], check=False)


def fresh_database(admin_url: str) -> str:
    import psycopg

    name = f"chat_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_database(admin_url: str, url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
