"""The app's words in each reader's language. Every sentence lives in a gettext catalog,
chat/locale/<lang>/LC_MESSAGES/messages.po, managed with Babel (docs/translating.md) and compiled in memory when
this module is imported: a new language is a new .po file, no code. Labels go through Gradio's I18n; the
sentences handlers write, through `words` and `say`. The CLI and the log stay English."""
from __future__ import annotations

import hashlib
import os
from io import BytesIO
from pathlib import Path

import gradio as gr
from babel import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from gradio.i18n import I18nData

from chat.ui.untrusted import as_html_text
from chat.wording import Worded, english

LOCALE_DIR = Path(os.environ.get("CHAT_LOCALE_DIR") or Path(__file__).resolve().parents[1] / "locale")
DOMAIN = "messages"
GRADIO = "gradio"  # the context of Gradio's own words that its translation into a language lacks


def _compiled(po: Path) -> tuple[Translations, dict[str, str]]:
    """A catalog as gettext reads it (compiled to .mo in memory), and the Gradio words it holds."""
    with po.open("rb") as f:
        catalog = read_po(f, locale=po.parents[1].name, domain=DOMAIN)
    mo = BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return Translations(mo, domain=DOMAIN), {m.id: m.string for m in catalog if m.context == GRADIO and m.string}


_FOUND = {po.parents[1].name: _compiled(po) for po in sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))}
CATALOGS = {lang: found[0] for lang, found in _FOUND.items()}
GRADIO_WORDS = {lang: found[1] for lang, found in _FOUND.items()}
LANGS = ("en", *sorted(lang for lang in CATALOGS if lang != "en"))  # English is the code's own


def translate(text: str, lang: str) -> str:
    """A template in the language, as its catalog has it (English where it has none)."""
    found = CATALOGS.get(lang)
    return found.gettext(text) if found is not None else text


def _key(text: str, values: dict) -> str:
    # the frontend reads dots in a key as nesting: keys are plain hashes of the template and its values
    return "t" + hashlib.sha1(repr((text, sorted(values.items()))).encode()).hexdigest()[:12]


class Catalogue:
    """The words the page shows, registered as the page is built, for gr.I18n."""

    def __init__(self):
        self.entries: dict[str, dict[str, str]] = {}  # key -> each language's text

    def t(self, text: str, **values) -> I18nData:
        """A label in the reader's language: the browser's, or the one --lang forces."""
        key = _key(text, values)
        # a value with a translation of its own (a rubric criterion's id) is shown translated too
        self.entries[key] = {lang: say(text, lang, **{k: translate(v, lang) if isinstance(v, str) else v
                                                      for k, v in values.items()}) for lang in LANGS}
        return I18nData(key)

    def pair(self, texts: dict[str, str]) -> I18nData:
        """A label built from parts (a model's provider, name and price), given whole in each language."""
        key = _key(texts["en"], texts)
        self.entries[key] = {lang: texts.get(lang, texts["en"]) for lang in LANGS}
        return I18nData(key)

    def i18n(self, forced: str | None = None) -> gr.I18n:
        """For launch(): each language's words; with --lang, every language shows that one."""
        by_lang = {lang: {**GRADIO_WORDS.get(lang, {}), **{k: v[lang] for k, v in self.entries.items()}}
                   for lang in LANGS}
        return gr.I18n(**{lang: by_lang[forced or lang] for lang in LANGS})


def check_lang(value: str | None) -> str | None:
    """--lang / DEMO_LANG: one of the catalogs' languages (None: follow the browser); ValueError says which."""
    if not value:
        return None
    lang = value.strip().lower()
    if lang not in LANGS:
        raise ValueError(f"language {value[:20]!r}: use {' or '.join(LANGS)} (or leave it unset to follow the browser)")
    return lang


def preferred(accept: str) -> list[str]:
    """An Accept-Language header's languages, most wanted first ('ko-KR,ko;q=0.9,en;q=0.8')."""
    wanted = []
    for n, part in enumerate(accept.split(",")[:20]):  # a header is anyone's: a bounded look
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        if tag and tag != "*" and weight > 0:
            wanted.append((-weight, n, tag.strip()))
    return [tag for *_, tag in sorted(wanted)]


def language(request: gr.Request | None) -> str:
    """The one place the reader's language is decided: --lang (DEMO_LANG), else the browser's Accept-Language
    among the catalogs' languages, else English."""
    forced = check_lang(os.environ.get("DEMO_LANG"))
    if forced:
        return forced
    headers = getattr(request, "headers", None) or {}
    accept = (headers.get("accept-language") or "") if hasattr(headers, "get") else ""
    return negotiate_locale(preferred(accept[:1000]), LANGS, sep="-") or "en"


def words(lang: str | None):
    """`say` for one reader, in the shape the meter's words take (chat.wording.english); `.lang` names it, and
    `.ngettext` picks the plural form its language uses (chat.wording.counted)."""
    lang = lang or "en"

    def word(text: str, /, **values) -> str:
        return say(text, lang, **values)

    found = CATALOGS.get(lang)
    word.lang = lang
    word.ngettext = found.ngettext if found is not None else (lambda one, many, n: one if n == 1 else many)
    return word


def say(text: str, lang: str, /, **values) -> str:
    """A sentence a handler writes, in the reader's language."""
    return english(translate(text, lang), **values)


CATALOGUE = Catalogue()  # static page text, the same for every reader; each reader's language picks from it
t = CATALOGUE.t


def refuse(request: gr.Request | None, text: str | Worded, **values) -> gr.Error:
    """The toast for input a handler cannot take, in the reader's language: `raise refuse(request, "...")`, or
    `refuse(request, exc)` for an error that keeps its template (chat.wording.Worded)."""
    lang = language(request)
    if isinstance(text, Worded):
        return error(text.worded(words(lang)), lang)
    return error(say(text, lang, **values), lang)


def error(text: str, lang: str) -> gr.Error:
    """An error toast already worded, under a title in the reader's language (Gradio's own says "Error")."""
    return gr.Error(as_html_text(text), title=say("Error", lang))  # a toast renders HTML; its values are anyone's


def info(text: str, lang: str) -> None:
    """An information toast, its title in the reader's language too."""
    gr.Info(as_html_text(text), title=say("Info", lang))
