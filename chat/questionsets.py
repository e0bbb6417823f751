"""Question sets from YAML, CSV or plain text (one question per line), with optional reference answers."""
from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import yaml


class QuestionSetError(ValueError):
    """The file cannot be read as a question set; the message names the file and what to fix."""


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    reference: str | None = None
    note: str | None = None  # e.g. an English gloss of a Korean question


@dataclass(frozen=True)
class QuestionSet:
    name: str
    questions: tuple[Question, ...]
    system: str | None = None
    source: str | None = None
    meta: dict = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """Identifies the content, so a resumed run can check it is the same set."""
        text = "\n".join(f"{q.id}\t{q.text}" for q in self.questions) + f"\n{self.system or ''}"
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def _from_rows(rows: list[dict], where: str) -> list[Question]:
    out = []
    for n, row in enumerate(rows, 1):
        if isinstance(row, str):
            row = {"question": row}
        if not isinstance(row, dict):
            raise QuestionSetError(f"{where}: question {n} must be text or a mapping with 'question', got {row!r}")
        text = str(row.get("question") or row.get("text") or "").strip()
        if not text:
            raise QuestionSetError(f"{where}: question {n} has no 'question' text")
        qid = str(row.get("id") or f"q{n}").strip()
        reference = row.get("reference") or row.get("answer")
        out.append(Question(qid, text, str(reference).strip() if reference else None,
                            str(row["note"]).strip() if row.get("note") else None))
    ids = [q.id for q in out]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise QuestionSetError(f"{where}: question ids must be unique; repeated: {', '.join(dupes)}")
    if not out:
        raise QuestionSetError(f"{where}: no questions found")
    return out


def parse(text: str, name: str, kind: str, system: str | None = None, where: str | None = None) -> QuestionSet:
    """kind: yaml, csv or txt; `where` names the source in error messages."""
    where = where or name
    meta: dict = {}
    if kind == "yaml":
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise QuestionSetError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
        if isinstance(data, list):
            rows = data
        elif isinstance(data, dict) and isinstance(data.get("questions"), list):
            rows = data["questions"]
            system = system or data.get("system")
            name = str(data.get("name") or name)
            meta = {k: v for k, v in data.items() if k not in ("questions", "system", "name")}
        else:
            raise QuestionSetError(f"{where}: expected a list of questions or a mapping with 'questions:'")
        questions = _from_rows(rows, where)
    elif kind == "csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or not ({"question", "text"} & {f.strip().lower() for f in reader.fieldnames}):
            raise QuestionSetError(f"{where}: the CSV needs a header row with a 'question' column (and optional id, reference)")
        rows = [{k.strip().lower(): v for k, v in r.items() if k} for r in reader]
        questions = _from_rows(rows, where)
    else:
        lines = [line.strip() for line in text.splitlines()]
        questions = _from_rows([line for line in lines if line and not line.startswith("#")], where)
    return QuestionSet(name, tuple(questions), (system or "").strip() or None, where, meta)


def load(path: str | Path, system: str | None = None) -> QuestionSet:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise QuestionSetError(f"{path}: cannot read the question set ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise QuestionSetError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    suffix = path.suffix.lower()
    kind = "yaml" if suffix in (".yaml", ".yml") else "csv" if suffix == ".csv" else "txt"
    qs = parse(text, path.stem, kind, system, where=str(path))
    return QuestionSet(qs.name, qs.questions, qs.system, str(path), qs.meta)
