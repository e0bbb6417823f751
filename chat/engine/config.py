"""Process configuration: .env loading and the default model."""
from __future__ import annotations

import os
from pathlib import Path

from dotenv import load_dotenv

from chat.engine.models import LOCAL_DEFAULT


def load_env(path: str | Path | None = None) -> None:
    """Load .env without overriding variables already set in the environment."""
    load_dotenv(path or Path.cwd() / ".env", override=False)


def default_model() -> str:
    return (os.environ.get("CHAT_DEFAULT_MODEL") or "").strip() or LOCAL_DEFAULT
