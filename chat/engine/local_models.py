"""Which GGUF files the app may load: the operator's choice, never a web user's.

A `local:/path` name makes this machine open that file and hand it to llama.cpp's parser in a new process.
The command line is the operator at their own machine, so it keeps any path. The web app is everyone who
can reach it: it loads only files inside the folders the operator lists (--models-dir, CHAT_MODELS_DIR),
the bundled model's folder and the operator's default model (CHAT_DEFAULT_MODEL), never a file someone
uploaded, and it refuses every other path with the same line, so the refusal tells nothing about whether,
or what, the file is.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from chat.engine.models import UnknownModel

REFUSED = ("local models are limited to the ones this server offers; choose one from the model menu "
           "(its operator adds folders with --models-dir)")
MAX_OFFERED = 200  # a folder of thousands of files is a mistake; the menu stays usable


class NotOffered(UnknownModel):
    """A web user named a local model file the server does not offer."""


def _real(path: str | Path) -> Path:
    # symlinks and '..' resolved, so a link inside a folder that points outside it is outside
    return Path(os.path.realpath(Path(path).expanduser()))


def _within(path: Path, folders: Iterable[Path]) -> bool:
    return any(path == folder or path.is_relative_to(folder) for folder in folders)


@dataclass(frozen=True)
class LocalModels:
    """The folders whose GGUF files may be loaded (None: any file, for the command line), single files the
    operator named, and folders never allowed (where uploads land)."""

    folders: tuple[Path, ...] | None = None
    never: tuple[Path, ...] = ()
    files: tuple[Path, ...] = ()

    @classmethod
    def offered_by(cls, dirs: Iterable[str], never: Iterable[str] = (), files: Iterable[str] = ()) -> LocalModels:
        """The web app's: the operator's folders (ValueError naming one that is no folder), then the bundled one."""
        folders = []
        for given in dirs:
            path = _real(given)
            if not path.is_dir():
                raise ValueError(f"--models-dir {given!r} is not a folder; give a folder that holds .gguf files")
            folders.append(path)
        bundled = _bundled_folder()
        if bundled is not None:
            folders.append(bundled)
        return cls(tuple(dict.fromkeys(folders)), tuple(_real(n) for n in never), tuple(_real(f) for f in files))

    def allows(self, api_model: str) -> bool:
        from chat.engine.providers.local_llama import BUNDLED_NAME

        if self.folders is None or api_model == BUNDLED_NAME:
            return True
        path = _real(api_model)
        return (path in self.files or _within(path, self.folders)) and not _within(path, self.never)

    def check(self, api_model: str) -> None:
        if not self.allows(api_model):
            raise NotOffered(REFUSED)

    def offered(self) -> list[str]:
        """Model names for the GGUF files in the operator's folders (the bundled model has its own name)."""
        if self.folders is None:
            return []
        bundled = _bundled_folder()
        names: list[str] = []
        for folder in self.folders:
            if folder == bundled:
                continue
            # the folder and its subfolders one deep (models/<name>/file.gguf), not a walk of a whole disk
            for path in sorted([*folder.glob("*.gguf"), *folder.glob("*/*.gguf")]):
                if len(names) >= MAX_OFFERED:
                    return names
                if path.is_file() and self.allows(str(path)):
                    names.append(f"local:{path}")
        return names


def folders_from_env(given: list[str] | None) -> list[str]:
    """--models-dir flags, else CHAT_MODELS_DIR (folders separated by the system's path separator)."""
    if given:
        return given
    return [d for d in os.environ.get("CHAT_MODELS_DIR", "").split(os.pathsep) if d.strip()]


def _bundled_folder() -> Path | None:
    from chat.engine.providers.base import ProviderError
    from chat.engine.providers.local_llama import bundled_model_path

    try:
        return _real(bundled_model_path().parent)
    except ProviderError:
        return None  # not installed: nothing bundled to allow
