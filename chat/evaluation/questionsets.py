"""Question sets from YAML, CSV or plain text (one question per line), with optional reference answers."""
from __future__ import annotations

import collections
import csv
import hashlib
import io
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from chat import safe_yaml
from chat.wording import Worded

MAX_BYTES = 5 * 1024 * 1024
MAX_QUESTIONS = 5_000
MAX_QUESTION_CHARS = 100_000


class QuestionSetError(Worded):
    """The file cannot be read as a question set; the message names the file and what to fix."""


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    reference: str | None = None
    note: str | None = None  # e.g. an English gloss of a Korean question


@dataclass(frozen=True)
class Variant:
    """One way of asking: a name, and the system prompt, temperature or max tokens it sets (None: the run's own)."""

    name: str
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    cache: str | None = None  # auto or off (chat.engine.options.CACHE); None: the set's


MAX_VARIANTS = 10
MAX_VARIANT_NAME = 60


@dataclass(frozen=True)
class QuestionSet:
    name: str
    questions: tuple[Question, ...]
    system: str | None = None
    meta: dict = field(default_factory=dict)
    variants: tuple[Variant, ...] = ()  # none: one implicit way, the set's system prompt and the run's parameters
    cache: str | None = None  # auto or off for every question (a variant may say otherwise); None: auto

    def frozen(self) -> str:
        """The set as a run keeps it (its questions, system prompt, variants and cache), read back by `thawed`."""
        return json.dumps({"name": self.name, "system": self.system, "questions": [asdict(q) for q in self.questions],
                           "variants": [asdict(v) for v in self.variants], "cache": self.cache}, ensure_ascii=False)

    @property
    def digest(self) -> str:
        """Identifies the content, so a resumed run can check it is the same set."""
        text = "\n".join(f"{q.id}\t{q.text}" for q in self.questions) + f"\n{self.system or ''}"
        if self.variants:  # a set without variants keeps the digest it always had, so its old runs resume
            text += "\n" + "\n".join(f"{v.name}\t{v.system}\t{v.temperature}\t{v.max_tokens}" for v in self.variants)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def thawed(text: str | None) -> QuestionSet:
    """The set a run was started with, from what the run kept (`QuestionSet.frozen`; older runs kept less)."""
    data = json.loads(text or "{}")
    questions = tuple(Question(str(q.get("id") or ""), str(q.get("text") or q.get("question") or ""), q.get("reference"),
                               q.get("note")) for q in data.get("questions") or [])
    variants = tuple(Variant(**{k: v.get(k) for k in ("name", "system", "temperature", "max_tokens", "cache")})
                     for v in data.get("variants") or [])
    return QuestionSet(str(data.get("name") or ""), questions, data.get("system"), variants=variants,
                       cache=data.get("cache"))


def parse_variants(value, where: str) -> tuple[Variant, ...]:
    """The `variants:` list of a study or question set: each a name and any of system, temperature, max_tokens."""
    from chat.engine.options import CACHE, MAX_TOKENS, TEMPERATURE, BadOption

    if value is None:
        return ()
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_VARIANTS:
        raise QuestionSetError("{where}: 'variants' must list 1 to {most} mappings, each with a 'name' and any of "
                               "system, temperature, max_tokens", where=where, most=MAX_VARIANTS)
    out, seen = [], set()
    for n, entry in enumerate(value, 1):
        if not isinstance(entry, dict):
            raise QuestionSetError("{where}: variant {n} must be a mapping with a 'name', got a {kind}", where=where, n=n,
                                   kind=type(entry).__name__)
        unknown = set(map(str, entry)) - {"name", "system", "temperature", "max_tokens", "cache"}
        if unknown:
            raise QuestionSetError("{where}: variant {n}: unknown field(s) {fields}; a variant takes name, system, "
                                   "temperature, max_tokens and cache", where=where, n=n, fields=", ".join(sorted(unknown)))
        name = _text(entry.get("name"), where, n, "name")
        if not name or len(name) > MAX_VARIANT_NAME or any(c < " " for c in name):
            raise QuestionSetError("{where}: variant {n} needs a 'name' of 1 to {most} printable characters", where=where,
                                   n=n, most=MAX_VARIANT_NAME)
        if name in seen:
            raise QuestionSetError("{where}: variant name {name} appears twice", where=where, name=repr(name))
        seen.add(name)
        try:
            temperature = TEMPERATURE.check(entry.get("temperature"))
            max_tokens = MAX_TOKENS.check(entry.get("max_tokens"))
            cache = CACHE.check(entry["cache"]) if "cache" in entry else None
        except BadOption as exc:
            raise QuestionSetError("{where}: variant {name}: {why}", where=where, name=repr(name), why=str(exc)) from None
        out.append(Variant(name, _text(entry.get("system"), where, n, "system"), temperature, max_tokens, cache))
    return tuple(out)


def _text(value, where: str, n: int, field_name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise QuestionSetError("{where}: question {n}: '{field}' must be text, got a {kind}", where=where, n=n,
                               field=field_name, kind=type(value).__name__)
    text = str(value).strip()
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionSetError("{where}: question {n}: '{field}' is {chars} characters; at most {most}", where=where,
                               n=n, field=field_name, chars=f"{len(text):,}", most=f"{MAX_QUESTION_CHARS:,}")
    return text or None


def _from_rows(rows: list, where: str) -> list[Question]:
    if len(rows) > MAX_QUESTIONS:
        raise QuestionSetError("{where}: {n} questions; a set holds at most {most}: split it", where=where,
                               n=f"{len(rows):,}", most=f"{MAX_QUESTIONS:,}")
    out = []
    for n, entry in enumerate(rows, 1):
        if isinstance(entry, str):
            entry = {"question": entry}
        if not isinstance(entry, dict):
            raise QuestionSetError("{where}: question {n} must be text or a mapping with 'question', got a {kind}",
                                   where=where, n=n, kind=type(entry).__name__)
        text = _text(entry.get("question") or entry.get("text"), where, n, "question")
        if not text:
            raise QuestionSetError("{where}: question {n} has no 'question' text", where=where, n=n)
        qid = _text(entry.get("id"), where, n, "id") or f"q{n}"
        out.append(Question(qid[:200], text, _text(entry.get("reference") or entry.get("answer"), where, n, "reference"),
                            _text(entry.get("note"), where, n, "note")))
    counts = collections.Counter(q.id for q in out)  # O(n): a huge set must not take minutes here
    dupes = sorted(i for i, c in counts.items() if c > 1)
    if dupes:
        shown = ", ".join(dupes[:10]) + (f" and {len(dupes) - 10} more" if len(dupes) > 10 else "")
        raise QuestionSetError("{where}: question ids must be unique; repeated: {ids}", where=where, ids=shown)
    if not out:
        raise QuestionSetError("{where}: no questions found", where=where)
    return out


# a control character is never part of a question: a NUL would reach the provider, a bell trips the YAML reader
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def refuse_control_characters(text: str, where: str) -> None:
    """One line naming the file, the line and the character; tab, newline and carriage return are allowed."""
    found = _CONTROL.search(text)
    if found:
        line = text.count("\n", 0, found.start()) + 1
        raise QuestionSetError("{where}: line {line}: control character U+{code} is not allowed in a question set; "
                               "remove it and upload again", where=where, line=line, code=f"{ord(found.group()):04X}")


def parse(text: str, name: str, kind: str, system: str | None = None, where: str | None = None) -> QuestionSet:
    """kind: yaml, csv or txt; `where` names the source in error messages."""
    where = where or name
    meta: dict = {}
    variants: tuple[Variant, ...] = ()
    cache = None
    if len(text) > MAX_BYTES:
        raise QuestionSetError("{where}: the file is {chars} characters; at most {most}: split it", where=where,
                               chars=f"{len(text):,}", most=f"{MAX_BYTES:,}")
    refuse_control_characters(text, where)
    if kind == "yaml":
        try:
            data = safe_yaml.load(text)
        except safe_yaml.YamlError as exc:
            raise QuestionSetError("{where}: {why}", where=where, why=str(exc)) from None
        if isinstance(data, list):
            rows = data
        elif isinstance(data, dict) and isinstance(data.get("questions"), list):
            rows = data["questions"]
            system = system or _text(data.get("system"), where, 0, "system")
            name = str(data.get("name") or name)[:200]
            variants = parse_variants(data.get("variants"), where)
            cache = parse_cache(data, where)
            meta = parse_settings({k: v for k, v in data.items()
                                   if k not in ("questions", "system", "name", "variants", "cache")}, where)
        else:
            raise QuestionSetError("{where}: expected a list of questions or a mapping with 'questions:'", where=where)
        questions = _from_rows(rows, where)
    elif kind == "csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or not ({"question", "text"} & {f.strip().lower() for f in reader.fieldnames}):
            raise QuestionSetError("{where}: the CSV needs a header row with a 'question' column (and optional id, "
                                   "reference)", where=where)
        rows = [{k.strip().lower(): v for k, v in r.items() if k} for r in reader]
        questions = _from_rows(rows, where)
    else:
        lines = [line.strip() for line in text.splitlines()]
        questions = _from_rows([line for line in lines if line and not line.startswith("#")], where)
    return QuestionSet(name, tuple(questions), (system or "").strip() or None, meta, variants, cache)


def parse_settings(meta: dict, where: str) -> dict:
    """A set's or study's run settings (repeats, concurrency, max_tokens, temperature), each checked by its one
    declaration, as the command line's flags and the Runs tab's fields are."""
    from chat.engine.options import RUN, BadOption

    out = dict(meta)
    for option in RUN:
        if option.name in meta:
            try:
                out[option.name] = option.check(meta[option.name])
            except BadOption as exc:
                raise QuestionSetError("{where}: {why}", where=where, why=str(exc)) from None
    return out


def parse_cache(data: dict, where: str) -> str | None:
    """A set's or study's `cache: auto|off`, checked by its one declaration; None when it says nothing."""
    from chat.engine.options import CACHE, BadOption

    if "cache" not in data:
        return None
    try:
        return CACHE.check(data["cache"])
    except BadOption as exc:
        raise QuestionSetError("{where}: {why}", where=where, why=str(exc)) from None


def load(path: str | Path, system: str | None = None, name: str | None = None, study: bool | None = None) -> QuestionSet:
    """A question set from a file; `name` is what messages call it (an upload's own name, never a server path).

    A study file (one whose `set:` names a question file beside it) is read for the command line and the app's
    own examples (study=True); never for an upload, whose `set:` would name a file on the server."""
    path = Path(path)
    where = name or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise QuestionSetError("{where}: the file is {mb} MB; a question set may be at most {most} MB: split it",
                                   where=where, mb=f"{size / 1e6:.1f}", most=f"{MAX_BYTES / 1e6:.0f}")
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise QuestionSetError("{where}: cannot read the question set ({why})", where=where, why=exc.strerror) from None
    except UnicodeDecodeError:
        raise QuestionSetError("{where}: not UTF-8 text; save it as UTF-8", where=where) from None
    suffix = path.suffix.lower()
    kind = "yaml" if suffix in (".yaml", ".yml") else "csv" if suffix == ".csv" else "txt"
    refuse_control_characters(text, where)
    if kind == "yaml" and (study if study is not None else name is None):
        found = _study(text, path, where, system)
        if found is not None:
            return found
    return parse(text, Path(where).stem, kind, system, where=where)


MAX_STUDY_MODELS = 50


def _study(text: str, path: Path, where: str, system: str | None) -> QuestionSet | None:
    """A study file: {set: questions file beside it, models: [...], repeats: N}; None for a plain question set."""
    try:
        data = safe_yaml.load(text)
    except safe_yaml.YamlError as exc:
        raise QuestionSetError("{where}: {why}", where=where, why=str(exc)) from None
    if not isinstance(data, dict) or "set" not in data:
        return None
    ref = data.get("set")
    if not isinstance(ref, str) or not ref.strip():
        raise QuestionSetError("{where}: 'set' must name a question file beside it, e.g. set: training_faq.yaml",
                               where=where)
    target = (path.parent / ref.strip()).resolve()
    if target.suffix.lower() in (".yaml", ".yml"):
        inner = target.read_text(encoding="utf-8") if target.is_file() else ""
        if "\nset:" in "\n" + inner:
            raise QuestionSetError("{where}: the set {ref} is itself a study file; name a question file", where=where,
                                   ref=repr(ref))
    qs = load(target, system=system, name=None)
    models = data.get("models", [])
    if not isinstance(models, list) or not all(isinstance(m, str) and m.strip() for m in models) or \
            len(models) > MAX_STUDY_MODELS:
        raise QuestionSetError("{where}: 'models' must be a list of up to {most} model names", where=where,
                               most=MAX_STUDY_MODELS)
    meta = {**qs.meta, **parse_settings({k: v for k, v in data.items()
                                         if k not in ("set", "name", "system", "variants", "cache")}, where),
            "models": models}
    name = str(data.get("name") or qs.name)[:200]
    variants = parse_variants(data.get("variants"), where) if "variants" in data else qs.variants
    cache = parse_cache(data, where)
    return QuestionSet(name, qs.questions, system or _text(data.get("system"), where, 0, "system") or qs.system, meta,
                       variants, qs.cache if cache is None else cache)
