"""Reads for evaluation: runs, their answers, and ratings."""
from __future__ import annotations

from chat.storage.rows import Exchange, Rating, Run
from chat.storage.scope import Scope
from chat.storage.store import Store

_CHUNK = 900  # bound parameters per statement, well under SQLite's limit


def run(store: Store, run_id: str, scope: Scope = Scope()) -> Run | None:
    """The run, if the reader's scope lets them see it: another's run reads as no run at all."""
    cond, params = scope.sql()
    found = store.query("SELECT * FROM runs WHERE id = ?" + (f" AND {cond}" if cond else ""), [run_id] + params)
    return Run.from_row(found[0]) if found else None


def runs_with_counts(store: Store, scope: Scope = Scope()) -> list[Run]:
    """Every run the reader may see, newest first, with how many answers it has logged."""
    cond, params = scope.sql("r")
    where = f" WHERE {cond}" if cond else ""
    return [Run.from_row(r) for r in store.query(
        "SELECT r.*, (SELECT count(*) FROM exchanges e WHERE e.run_id = r.id) AS answers "
        f"FROM runs r{where} ORDER BY created_at DESC", params)]


def answers(store: Store, run_id: str) -> list[Exchange]:
    """A run's finished rows (a cell still streaming has no answer yet), oldest first."""
    return [Exchange.from_row(r) for r in store.query(
        "SELECT * FROM exchanges WHERE run_id = ? AND status != 'streaming' ORDER BY created_at", [run_id])]


def answered_cells(store: Store, run_id: str) -> set[tuple[str, str | None, str, int]]:
    """(model, variant, question, repeat) of every cell of the run answered well."""
    rows = store.query("SELECT model, variant, question_id, repeat_index FROM exchanges WHERE run_id = ? "
                       "AND status = 'ok'", [run_id])
    return {(r["model"], r["variant"], r["question_id"], r["repeat_index"]) for r in rows}


def unrated(store: Store, run_id: str, rater: str, rater_kind: str) -> list[Exchange]:
    """A run's good answers this rater (a person, or a judge model) has not rated yet."""
    return [Exchange.from_row(r) for r in store.query(
        "SELECT * FROM exchanges e WHERE run_id = ? AND status = 'ok' AND NOT EXISTS (SELECT 1 FROM ratings r "
        "WHERE r.exchange_id = e.id AND r.rater = ? AND r.rater_kind = ?)", [run_id, rater, rater_kind])]


def ratings_of(store: Store, exchange_ids: list[str]) -> list[Rating]:
    """The ratings of these answers that count: a rater's latest score per criterion (a re-rating supersedes
    the earlier one, which stays in the table, so nothing is lost and nothing counts twice)."""
    out = []
    for i in range(0, len(exchange_ids), _CHUNK):
        part = exchange_ids[i:i + _CHUNK]
        out += [Rating.from_row(r) for r in store.query(
            "SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY exchange_id, rater, rater_kind, criterion "
            "ORDER BY created_at DESC, rowid DESC) AS nth FROM ratings "
            f"WHERE exchange_id IN ({','.join('?' * len(part))})) WHERE nth = 1", part)]
    return out


def answer_history(store: Store, models: list[str], scope: Scope = Scope()) -> dict[str, tuple[int, float | None,
                                                                                                  float | None]]:
    """Per model, from the reader's own answers: how many went well, their mean output tokens and mean latency."""
    if not models:
        return {}
    cond, params = scope.sql()
    found = store.query(
        "SELECT model, count(*) AS n, avg(output_tokens) AS out_tokens, avg(latency_ms) AS latency FROM exchanges "
        f"WHERE status = 'ok' AND model IN ({','.join('?' * len(models))})" + (f" AND {cond}" if cond else "") +
        " GROUP BY model", [*models, *params])
    return {r["model"]: (r["n"], r["out_tokens"], r["latency"]) for r in found}


def ratings_of_run(store: Store, run_id: str) -> list[Rating]:
    """The ratings of a run's answers that count, as ratings_of gives them, in one read of the run's rows
    (a rater's latest score per criterion supersedes the earlier ones)."""
    latest: dict[tuple, dict] = {}
    for r in store.query("SELECT r.* FROM ratings r JOIN exchanges e ON e.id = r.exchange_id WHERE e.run_id = ? "
                         "ORDER BY r.created_at, r.rowid", [run_id]):
        latest[(r["exchange_id"], r["rater"], r["rater_kind"], r["criterion"])] = r
    return [Rating.from_row(r) for r in latest.values()]
