"""What starting the app leaves behind: nothing written into its own code."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_importing_the_app_writes_no_type_stubs_into_its_code(tmp_path):
    """Gradio's class machinery wrote chat/ui/components.pyi beside our code on every start (and spent a second of
    it parsing sources with ast). A copy of the code, imported as the app imports it, stays as it was copied."""
    shutil.copytree(ROOT / "chat", tmp_path / "chat", ignore=shutil.ignore_patterns("*.pyi", "__pycache__"))
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "chat").rglob("*"))
    code = ("import chat.ui.app, gradio as gr\n"
            "from chat.ui.components import ChatLog\n"
            "with gr.Blocks():\n    ChatLog()\n"  # our component class still works as a component
            "print(gr.Textbox.change.__doc__.splitlines()[0])")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("Triggered when the value of the Textbox changes")  # its events' docs filled in
    after = sorted(p.relative_to(tmp_path) for p in (tmp_path / "chat").rglob("*") if "__pycache__" not in p.parts)
    assert after == [p for p in before if "__pycache__" not in p.parts]
