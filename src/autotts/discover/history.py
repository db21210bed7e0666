"""The history of a discovery run: one SQLite database (WAL) in the run directory.

Tables:

- ``runs``: the resolved configuration (seeds, environment paths and content hashes, split).
- ``rounds``: when each round started and finished.
- ``candidates``: code and its hash, parents, proposer, rationale, the prompt and response of
  LLM proposers, token usage and cost, status (``proposed``, then ``ok``, ``contract``,
  ``error``, a sandbox status such as ``policy`` or ``timeout``, or ``failed`` when the
  proposer gave no usable code), the one-line reason, the search-split score.
- ``evaluations``: one row per (code hash, class, beta, environment hash, protocol, replicates,
  seed, match, kappa_probe, budget) — the key that makes a result reproducible. A repeated
  evaluation of the same key is served from here instead of being run again.
- ``traces``: compact per-question traces and trace statistics for the same key.

Every write is its own transaction, so a run killed at any point leaves a consistent store, and
``--resume`` continues from it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, created REAL NOT NULL, config TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rounds (
    run INTEGER NOT NULL, round INTEGER NOT NULL, started REAL, finished REAL,
    PRIMARY KEY (run, round));
CREATE TABLE IF NOT EXISTS candidates (
    id TEXT PRIMARY KEY, run INTEGER NOT NULL, round INTEGER NOT NULL, slot INTEGER NOT NULL,
    class_name TEXT NOT NULL, code TEXT NOT NULL, code_hash TEXT NOT NULL,
    parents TEXT NOT NULL, proposer TEXT NOT NULL, rationale TEXT NOT NULL,
    prompt TEXT, response TEXT, tokens_in INTEGER NOT NULL DEFAULT 0,
    tokens_out INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0,
    status TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', score REAL,
    created REAL NOT NULL, UNIQUE (run, round, slot));
CREATE TABLE IF NOT EXISTS evaluations (
    key TEXT PRIMARY KEY, code_hash TEXT NOT NULL, class_name TEXT NOT NULL,
    beta REAL, env_hash TEXT NOT NULL, protocol TEXT NOT NULL, replicates INTEGER NOT NULL,
    seed INTEGER NOT NULL, match TEXT NOT NULL, kappa_probe REAL NOT NULL, budget REAL,
    accuracy REAL NOT NULL, ci_lo REAL, ci_hi REAL, avg_total_tokens REAL NOT NULL,
    avg_sequential_tokens REAL NOT NULL, result TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS traces (
    key TEXT PRIMARY KEY, data TEXT NOT NULL);
"""


class HistoryError(ValueError):
    """The history file cannot be used: damaged, not a database, or not writable. The file is
    left exactly as it is."""

    def __init__(self, path: Path, err: sqlite3.DatabaseError) -> None:
        super().__init__(describe_error(path, err))


def describe_error(path: Path, err: sqlite3.DatabaseError) -> str:
    """One line saying what is wrong with the history file ``path``."""
    text = str(err)
    if "readonly" in text or "read-only" in text:
        what = "is read-only: a discovery run must write its history (make it writable)"
    elif "malformed" in text or "not a database" in text:
        what = "is damaged (truncated, or not an SQLite database); it was left as it is"
    elif "unable to open" in text:
        what = "cannot be opened (is its directory writable?)"
    else:
        what = "cannot be used"
    return f"{path}: {what} ({text})"


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class EvalKey:
    """Everything a result depends on. ``code`` is a code hash, or ``builtin:<name>`` with its
    parameters for the built-in baselines."""

    code: str
    class_name: str
    beta: float | None
    env_hash: str
    protocol: str
    replicates: int
    seed: int
    match: str = "exact"
    kappa_probe: float = 0.0
    budget: float | None = None

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.__dict__, sort_keys=True).encode()).hexdigest()


@dataclass
class CandidateRow:
    id: str
    run: int
    round: int
    slot: int
    class_name: str
    code: str
    code_hash: str
    parents: list[str]
    proposer: str
    rationale: str
    prompt: str | None
    response: str | None
    tokens_in: int
    tokens_out: int
    cost_usd: float
    status: str
    reason: str
    score: float | None


def ranked(candidates: Sequence[CandidateRow]) -> list[CandidateRow]:
    """Candidates that passed every check and have a score, best first; ties go to the earlier
    one. The first is what the loop selects."""
    ok = [c for c in candidates if c.status == "ok" and c.score is not None]
    return sorted(ok, key=lambda c: (-(c.score or 0.0), c.round, c.slot))


class History:
    """A run directory's store. Open with :meth:`open`; use as a context manager. A file that
    cannot be used (damaged, or read-only when ``writable``) raises :class:`HistoryError`."""

    def __init__(self, path: Path, writable: bool = True) -> None:
        self.path = path
        self.db = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
            row = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if writable:  # a read-only file opens fine and fails at the first write: not later
                self.db.execute("BEGIN IMMEDIATE")
                try:
                    self.db.execute("UPDATE meta SET value=value WHERE 0")  # writes nothing
                finally:
                    self.db.execute("ROLLBACK")
        except sqlite3.DatabaseError as e:
            self.db.close()
            raise HistoryError(path, e) from None
        if row is None:
            self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            raise ValueError(
                f"{path}: history schema {row[0]}, this autotts reads {SCHEMA_VERSION}"
            )

    @classmethod
    def open(cls, run_dir: Path) -> History:
        run_dir.mkdir(parents=True, exist_ok=True)
        return cls(run_dir / "history.sqlite")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ runs and rounds
    def create_run(self, config: dict[str, Any]) -> int:
        cur = self.db.execute(
            "INSERT INTO runs (created, config) VALUES (?, ?)",
            (time.time(), json.dumps(config, sort_keys=True)),
        )
        return int(cur.lastrowid or 0)

    def latest_run(self) -> tuple[int, dict[str, Any]] | None:
        row = self.db.execute("SELECT id, config FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        return (int(row[0]), json.loads(row[1])) if row else None

    def update_config(self, run: int, config: dict[str, Any]) -> None:
        self.db.execute(
            "UPDATE runs SET config=? WHERE id=?", (json.dumps(config, sort_keys=True), run)
        )

    def start_round(self, run: int, rnd: int) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO rounds (run, round, started) VALUES (?, ?, ?)",
            (run, rnd, time.time()),
        )

    def finish_round(self, run: int, rnd: int) -> None:
        self.db.execute(
            "UPDATE rounds SET finished=? WHERE run=? AND round=? AND finished IS NULL",
            (time.time(), run, rnd),
        )

    def round_seconds(self, run: int) -> float:
        """Wall-clock seconds the run's finished rounds took (what --budget-minutes counts)."""
        row = self.db.execute(
            "SELECT SUM(finished - started) FROM rounds WHERE run=? AND finished IS NOT NULL",
            (run,),
        ).fetchone()
        return float(row[0] or 0.0)

    def rounds_finished(self, run: int) -> int:
        row = self.db.execute(
            "SELECT COUNT(*) FROM rounds WHERE run=? AND finished IS NOT NULL", (run,)
        ).fetchone()
        return int(row[0])

    def round_finished(self, run: int, rnd: int) -> bool:
        row = self.db.execute(
            "SELECT finished FROM rounds WHERE run=? AND round=?", (run, rnd)
        ).fetchone()
        return bool(row and row[0] is not None)

    # ------------------------------------------------------------------ candidates
    def add_candidate(self, row: CandidateRow) -> None:
        d = dict(row.__dict__)
        d["parents"] = json.dumps(row.parents)
        d["created"] = time.time()
        cols = ", ".join(d)
        self.db.execute(
            f"INSERT INTO candidates ({cols}) VALUES ({', '.join('?' * len(d))})",
            tuple(d.values()),
        )

    def set_status(
        self, cid: str, status: str, reason: str = "", score: float | None = None
    ) -> None:
        self.db.execute(
            "UPDATE candidates SET status=?, reason=?, score=? WHERE id=?",
            (status, reason, score, cid),
        )

    def candidates(self, run: int | None = None) -> list[CandidateRow]:
        sql = "SELECT * FROM candidates" + (" WHERE run=?" if run is not None else "")
        sql += " ORDER BY round, slot"
        cur = self.db.execute(sql, () if run is None else (run,))
        names = [c[0] for c in cur.description]
        out = []
        for values in cur.fetchall():
            d = dict(zip(names, values, strict=False))
            d.pop("created")
            d["parents"] = json.loads(d["parents"])
            out.append(CandidateRow(**d))
        return out

    def candidate(self, run: int, rnd: int, slot: int) -> CandidateRow | None:
        for c in self.candidates(run):
            if c.round == rnd and c.slot == slot:
                return c
        return None

    def spent_usd(self, run: int) -> float:
        row = self.db.execute("SELECT SUM(cost_usd) FROM candidates WHERE run=?", (run,))
        return float(row.fetchone()[0] or 0.0)

    # ------------------------------------------------------------------ evaluations
    def get_result(self, key: EvalKey) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT result FROM evaluations WHERE key=?", (key.digest(),)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def put_result(self, key: EvalKey, result: dict[str, Any]) -> None:
        ci = result.get("accuracy_ci95") or [None, None]
        self.db.execute(
            "INSERT OR REPLACE INTO evaluations VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key.digest(),
                key.code,
                key.class_name,
                key.beta,
                key.env_hash,
                key.protocol,
                key.replicates,
                key.seed,
                key.match,
                key.kappa_probe,
                key.budget,
                result["accuracy"],
                ci[0],
                ci[1],
                result["avg_total_tokens"],
                result["avg_sequential_tokens"],
                json.dumps(result, sort_keys=True),
                time.time(),
            ),
        )

    def get_trace(self, key: EvalKey) -> dict[str, Any] | None:
        row = self.db.execute("SELECT data FROM traces WHERE key=?", (key.digest(),)).fetchone()
        return json.loads(row[0]) if row else None

    def put_trace(self, key: EvalKey, data: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO traces VALUES (?, ?)",
            (key.digest(), json.dumps(data, sort_keys=True)),
        )
