"""Exports a spreadsheet opens as data: no cell runs as a formula, Hangul survives Excel, JSONL stays exact."""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from chat.ui import logs_tab
from chat.ui.access import Access
from tests.fake_servers import Scenario
from tests.helpers import run, run_cli

ROOT = Path(__file__).resolve().parent.parent
ATTACKS = ['=HYPERLINK("http://evil.example/","click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)", "\t=1+1",
           "\r=1+1"]


def test_formulas_in_prompts_are_neutralised_in_csv_and_kept_exact_in_jsonl(fake, engine):
    fake.scenarios["gpt-4o-mini"] = Scenario(chunks=["=1+1 ", "답변"], input_tokens=10, output_tokens=3)
    for attack in ATTACKS:
        run(engine, model="gpt-4o-mini", prompt=attack + " 환불")
    engine.store.flush()

    path, _ = logs_tab.export(engine, Access(), "CSV", None)
    raw = Path(path).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert sorted(r["prompt"] for r in rows) == sorted("'" + a + " 환불" for a in ATTACKS)
    assert {r["reply"] for r in rows} == {"'=1+1 답변"}
    assert all(not v.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for v in r.values())
    assert all(float(r["input_tokens"]) == 10 for r in rows)  # numbers stay numbers

    path, _ = logs_tab.export(engine, Access(), "JSONL", None)
    exact = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]
    assert sorted(r["prompt"] for r in exact) == sorted(a + " 환불" for a in ATTACKS)  # JSONL is data, not a sheet

    env = dict(os.environ, CHAT_DB=str(engine.store.path))
    cli = run_cli(["logs", "--csv", "--bom", "-n", "0"], cwd=ROOT, env=env, text=False)
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.startswith(b"\xef\xbb\xbf")
    cli_rows = list(csv.DictReader(io.StringIO(cli.stdout.decode("utf-8-sig"))))
    assert sorted(r["prompt"] for r in cli_rows) == sorted("'" + a + " 환불" for a in ATTACKS)
    plain = run_cli(["logs", "--jsonl", "-n", "0"], cwd=ROOT, env=env)
    assert sorted(json.loads(line)["prompt"] for line in plain.stdout.splitlines()) == sorted(a + " 환불" for a in ATTACKS)


def test_downloads_do_not_pile_up_on_the_servers_disk(fake, engine, tmp_path, monkeypatch):
    """Every export used to leave a folder in /tmp for good: a server kept everyone's exchanges on its disk."""
    import tempfile

    from chat.ui import downloads

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))  # this test's own /tmp
    fake.scenarios["gpt-4o-mini"] = Scenario(input_tokens=10, output_tokens=3)
    run(engine, model="gpt-4o-mini", prompt="환불은 언제 되나요?")
    engine.store.flush()
    old = Path(logs_tab.export(engine, Access(), "CSV", None)[0])
    hour_ago = old.parent.stat().st_mtime - downloads.KEEP_S - 1
    os.utime(old.parent, (hour_ago, hour_ago))
    new = [Path(logs_tab.export(engine, Access(), fmt, None)[0]) for fmt in ("CSV", "JSONL")]
    assert not old.exists() and all(p.exists() for p in new)  # an hour on, the first download is gone
    # all in one folder of this user's, never readable by another, found again by the next process
    home = tmp / f"chat-downloads-{os.getuid()}"
    assert [p.name for p in tmp.iterdir()] == [home.name] and {p.parent.parent for p in new} == {home}
    assert home.stat().st_mode & 0o077 == 0
