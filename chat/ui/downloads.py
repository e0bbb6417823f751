"""Files a visitor downloads (a log export, a run's reports), written where they do not pile up.

Each goes in a folder of its own inside one folder of this user's, and is removed an hour later, at the next
download: by then Gradio has copied it into its cache (which the app has Gradio clean the same way, app.py). Before,
each download left a folder in /tmp for good: a server kept every export of everyone's exchanges on its disk.
"""
from __future__ import annotations

import os
import shutil
import stat
import tempfile
import threading
import time
from pathlib import Path

KEEP_S = 3600  # a download stays this long (also Gradio's cache lifetime, app.py)
_lock = threading.Lock()


def new_folder(prefix: str) -> Path:
    """An empty folder for one download's files; older downloads past KEEP_S are removed first."""
    with _lock:
        home = _home()
        _prune(home, time.time() - KEEP_S)
        return Path(tempfile.mkdtemp(prefix=prefix, dir=home))


def _home() -> Path:
    # one folder per user, found again after a restart so that its old downloads are removed too; one another
    # user made (a link planted in a shared /tmp) is never used: a private one of this process's instead
    home = Path(tempfile.gettempdir()) / f"chat-downloads-{os.getuid()}"
    try:
        home.mkdir(mode=0o700)
    except FileExistsError:
        pass
    except OSError:
        return Path(tempfile.mkdtemp(prefix="chat-downloads-"))
    info = home.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
        return Path(tempfile.mkdtemp(prefix="chat-downloads-"))
    return home


def _prune(home: Path, before: float) -> None:
    for child in home.iterdir():
        try:
            if child.lstat().st_mtime < before:
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        except OSError:
            pass  # another process of this user removed it first
