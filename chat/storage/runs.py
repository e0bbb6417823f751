"""Reads for evaluation: runs, their answers, and ratings."""
from __future__ import annotations

import json
from dataclasses import dataclass

from chat.clock import now_iso
from chat.storage.leases import gone
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
    """A run's finished rows (a cell still streaming has no answer yet), oldest first, with what was sent (the
    system prompt in a cached projection is measured against it)."""
    return [Exchange.from_row(r) for r in store.query(
        "SELECT * FROM exchanges_full WHERE run_id = ? AND status != 'streaming' ORDER BY created_at", [run_id])]


def answered_cells(store: Store, run_id: str) -> set[tuple[str, str | None, str, int]]:
    """(model, variant, question, repeat) of every cell of the run answered well."""
    rows = store.query("SELECT model, variant, question_id, repeat_index FROM exchanges WHERE run_id = ? "
                       "AND status = 'ok'", [run_id])
    return {(r["model"], r["variant"], r["question_id"], r["repeat_index"]) for r in rows}


def claim_cell(store: Store, run_id: str, cell: tuple[str, str | None, str, int], timeout: float | None = 60) -> bool:
    """Take a run's cell (model, variant, question, repeat) for this process to ask; False while another live
    process is asking it, or once one has answered it. One statement decides between two hosts claiming at once
    (the key), and a claim left by a process that is gone is taken over."""
    model, variant, question, repeat = cell
    key = json.dumps(cell, ensure_ascii=False)

    def take(conn) -> bool:
        return bool(conn.execute("INSERT INTO cell_claims (run_id, cell, process, claimed_at) VALUES (?, ?, ?, ?) "
                                 "ON CONFLICT (run_id, cell) DO NOTHING", [run_id, key, store.process, now_iso()]).rowcount)

    def claim(conn):
        if not take(conn):
            owner = conn.execute("SELECT process FROM cell_claims WHERE run_id = ? AND cell = ?", [run_id, key]).fetchone()
            if owner is None:  # released a moment ago
                if not take(conn):
                    return False
            elif owner[0] != store.process and not gone(conn, owner[0]):
                return False
            else:
                conn.execute("UPDATE cell_claims SET process = ?, claimed_at = ? WHERE run_id = ? AND cell = ?",
                             [store.process, now_iso(), run_id, key])
        # checked only once the claim is held: a claim is released after its cell's row is written
        answered = conn.execute("SELECT 1 FROM exchanges WHERE run_id = ? AND model = ? AND coalesce(variant, '') = ? "
                                "AND question_id = ? AND repeat_index = ? AND status = 'ok' LIMIT 1",
                                [run_id, model, variant or "", question, repeat]).fetchone()
        if answered:  # another process answered it after this one planned its work
            conn.execute("DELETE FROM cell_claims WHERE run_id = ? AND cell = ?", [run_id, key])
            return False
        return True

    return store.call(claim, timeout=timeout)


def release_cell(store: Store, run_id: str, cell: tuple[str, str | None, str, int]) -> None:
    """The cell was asked (well or not): a later resume may ask it again if it failed. Queued behind the cell's
    own row, so whoever claims it next sees that row."""
    key = json.dumps(cell, ensure_ascii=False)
    store.call_soon(lambda conn: conn.execute("DELETE FROM cell_claims WHERE run_id = ? AND cell = ? AND process = ?",
                                              [run_id, key, store.process]))


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
            f"WHERE exchange_id IN ({','.join('?' * len(part))})) AS latest WHERE nth = 1", part)]
    return out


def answer_history(store: Store, models: list[str], scope: Scope = Scope()) -> dict[str, History]:
    """Per model, from the reader's own answers that went well: how many, their mean and fewest output tokens, mean
    latency, and (for a model on this machine) how fast it reads a prompt and writes."""
    if not models:
        return {}
    cond, params = scope.sql()
    found = store.query(
        "SELECT model, count(*) AS n, avg(output_tokens) AS out_tokens, avg(latency_ms) AS latency, "
        "avg(CASE WHEN ttft_ms > 0 AND input_tokens > 0 THEN input_tokens * 1000.0 / ttft_ms END) AS read_per_s, "
        "avg(output_tokens_per_s) AS write_per_s FROM exchanges "
        f"WHERE status = 'ok' AND model IN ({','.join('?' * len(models))})" + (f" AND {cond}" if cond else "") +
        " GROUP BY model", [*models, *params])
    # the fewest output tokens of any finished attempt, a failed one's too: a call that failed at once wrote none
    fewest = {r["model"]: r["fewest"] for r in store.query(
        "SELECT model, min(coalesce(output_tokens, 0)) AS fewest FROM exchanges WHERE status != 'streaming' AND "
        f"model IN ({','.join('?' * len(models))})" + (f" AND {cond}" if cond else "") + " GROUP BY model",
        [*models, *params])}
    return {r["model"]: History(r["n"], r["out_tokens"], r["latency"], fewest.get(r["model"]), r["read_per_s"],
                                r["write_per_s"]) for r in found}


@dataclass(frozen=True)
class History:
    answers: int
    mean_output: float | None
    mean_latency_ms: float | None
    fewest_output: int | None
    read_per_s: float | None  # prompt tokens a second, from the time to the first token
    write_per_s: float | None  # output tokens a second


def ratings_of_run(store: Store, run_id: str) -> list[Rating]:
    """The ratings of a run's answers that count, as ratings_of gives them, in one read of the run's rows
    (a rater's latest score per criterion supersedes the earlier ones)."""
    latest: dict[tuple, dict] = {}
    for r in store.query("SELECT r.* FROM ratings r JOIN exchanges e ON e.id = r.exchange_id WHERE e.run_id = ? "
                         "ORDER BY r.created_at, r.rowid", [run_id]):
        latest[(r["exchange_id"], r["rater"], r["rater_kind"], r["criterion"])] = r
    return [Rating.from_row(r) for r in latest.values()]
