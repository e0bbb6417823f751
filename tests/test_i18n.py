"""The app's words in Korean and English: every label the page registers has both; a bad --lang is one line."""
from __future__ import annotations

import pytest

from chat.ui.i18n import CATALOGUE, check_lang, language, say

SAME_IN_BOTH = {"2026-11-23T18:00", "환불, refund …", "LLM chat meter"}


def test_every_label_the_app_registers_has_its_korean(engine):
    from chat.ui.app import build_app

    build_app(engine)
    untranslated = sorted(en for en, ko in CATALOGUE.entries.values() if en == ko and en not in SAME_IN_BOTH)
    assert not untranslated, untranslated
    assert len(CATALOGUE.entries) > 100  # every tab's labels, buttons, hints and placeholders
    forced = CATALOGUE.i18n("ko").translations_dict
    assert forced["en"] == forced["ko"]  # --lang ko: an English browser sees Korean too


def test_the_readers_language_comes_from_the_browser_unless_forced(monkeypatch):
    class Req:
        def __init__(self, accept):
            self.headers = {"accept-language": accept}

    monkeypatch.delenv("DEMO_LANG", raising=False)
    assert language(Req("ko-KR,ko;q=0.9,en;q=0.8")) == "ko" and language(Req("en-US,en;q=0.9")) == "en"
    assert language(None) == "en"
    monkeypatch.setenv("DEMO_LANG", "ko")
    assert language(Req("en-US")) == "ko"
    assert say("{n} in", "ko", n=5) == "입력 5" and say("{n} in", "en", n=5) == "5 in"
    with pytest.raises(ValueError, match="language 'fr': use ko or en"):
        check_lang("fr")
