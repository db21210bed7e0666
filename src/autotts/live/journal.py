"""The append-only journal that makes ``autotts collect`` resumable.

One JSON object per line, written with flush + fsync before the work it records is considered
done:

* ``{"kind": "header", "version": 1, "model": ..., "settings": {...}, "questions": {id: hash},
  "started": ...}`` once, first;
* ``{"kind": "step", "q": id, "c": chain, "i": index, "text": ..., "tokens": n,
  "finish_reason": ..., "finished": bool, "truncated": bool, "ids": [...], "probe": {...} |
  null, "at": ...}`` per interval of a chain (with its probe when the chain goes on; ``ids``,
  the step's token ids, when chains are continued by tokens);
* ``{"kind": "final", "q": id, "c": chain, "answer": {...}, "at": ...}`` when a chain is done;
* ``{"kind": "resume", "at": ...}`` each time a collect continues the journal.

Nothing is ever rewritten or deleted. A crash can leave a torn last line: that is the normal
artefact of a crash (the record was not fsynced, so the work it describes was not done), and it
is skipped when read; a newline is appended first, so the next record starts on a line of its
own, and the ``resume`` record follows it. So a torn line is tolerated where it is last, or
followed by a ``resume`` record. A corrupt line anywhere else is damage that skipping would turn
into a silently different environment (a chain missing its later steps), so reading refuses it
with its line number. Records that do not continue their chain (a step after a gap, a final
answer of an unfinished chain: what deleting a damaged line leaves) are skipped, so the chain
is sampled again from the gap. A lock (``flock``) keeps two collects from writing one journal.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import IO, Any

from ..locks import try_lock
from .client import LiveError
from .sampler import Probe, Step

VERSION = 1


class JournalError(LiveError):
    """The journal cannot be continued as it is (damaged, locked, or for another run)."""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class ChainLog:
    """What the journal holds about one chain: its steps, their probes, its final answer."""

    steps: list[Step] = field(default_factory=list)
    probes: list[Probe | None] = field(default_factory=list)
    final: Probe | None = None

    @property
    def text(self) -> str:
        """The chain's text so far (empty once it is final: see :meth:`finish`)."""
        return "".join(s.text for s in self.steps)

    @property
    def tokens(self) -> int:
        return sum(s.tokens for s in self.steps)

    @property
    def finished(self) -> bool:
        return bool(self.steps) and self.steps[-1].finished

    def finish(self, answer: Probe) -> None:
        """Record the final answer and let go of the chain's text (it stays in the journal):
        a full collection's text is hundreds of megabytes."""
        self.final = answer
        self.steps = [replace(s, text="", ids=None) for s in self.steps]


class Journal:
    """Opens (creating or continuing) the journal at ``path`` for the given run ``header``."""

    def __init__(self, path: str, header: dict[str, Any]) -> None:
        self.path = path
        self.skipped_lines = 0
        self._lock = threading.Lock()
        # (written as ASCII; a byte that is not UTF-8 makes its line unreadable, not the file)
        self._file: IO[str] = open(path, "a+", encoding="utf-8", errors="replace")  # noqa: SIM115
        try:
            self._lock_file()
            self.chains: dict[tuple[str, int], ChainLog] = {}
            existing = self._read()
            if existing is None:
                self.started = now()
                self._append(
                    {"kind": "header", "version": VERSION, **header, "started": self.started}
                )
            else:
                _check_compatible(path, existing, header)
                self.started = str(existing.get("started", ""))
                self._append({"kind": "resume", "at": now()})
        except BaseException:
            self._file.close()
            raise

    def _lock_file(self) -> None:
        if not try_lock(self._file):
            raise JournalError(f"{self.path}: another autotts collect is writing this journal")

    def _read(self) -> dict[str, Any] | None:
        """Load every chain record; returns the header (None for a new journal)."""
        self._file.seek(0)
        records: list[tuple[int, dict[str, Any] | None, str]] = []  # (line, record, problem)
        line = ""
        for n, line in enumerate(self._file, 1):
            if line.strip():
                records.append((n, *_parse_record(line)))
        if line and not line.endswith("\n"):  # a torn last record: keep it, start afresh
            self._file.write("\n")
            self._file.flush()
        header: dict[str, Any] | None = None
        for k, (n, rec, problem) in enumerate(records):
            if rec is None:
                following = records[k + 1][1] if k + 1 < len(records) else None
                if k + 1 < len(records) and (following or {}).get("kind") != "resume":
                    raise JournalError(
                        f"{self.path}:{n}: corrupt record ({problem}); only a torn last line "
                        "is expected after a crash, and skipping this one would change the "
                        f"environment: delete line {n} to sample what it recorded again, or "
                        "use another -o"
                    )
                self.skipped_lines += 1  # torn by a crash: its work was never done
            elif rec["kind"] == "header":
                header = header or rec
            elif rec["kind"] == "step":
                self._load_step(rec)
            elif rec["kind"] == "final":
                self._load_final(rec)
        if records and header is None:
            raise JournalError(f"{self.path}: not an autotts collect journal (no header line)")
        return header

    def _load_step(self, rec: dict[str, Any]) -> None:
        log = self.chains.setdefault((rec["q"], rec["c"]), ChainLog())
        if rec["i"] != len(log.steps) or log.finished:
            # a duplicate, or a step after a gap (a deleted line): the chain goes on from the
            # gap, sampled again
            self.skipped_lines += 1
            return
        log.steps.append(rec["step"])
        log.probes.append(rec["probe"])

    def _load_final(self, rec: dict[str, Any]) -> None:
        log = self.chains.get((rec["q"], rec["c"]))
        if log is None or not log.finished or log.final is not None:
            self.skipped_lines += 1  # the chain has a gap: its end is sampled again
            return
        log.finish(rec["answer"])

    # ----------------------------------------------------------------- writing
    def _append(self, record: dict[str, Any]) -> None:
        # ASCII (non-ASCII escaped): any text a server returns, lone surrogates included,
        # is written and read back exactly
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()
            os.fsync(self._file.fileno())

    def log_step(self, qid: str, chain: int, step: Step, probe: Probe | None) -> None:
        log = self.chains.setdefault((qid, chain), ChainLog())
        self._append(
            {
                "kind": "step",
                "q": qid,
                "c": chain,
                "i": len(log.steps),
                "text": step.text,
                "tokens": step.tokens,
                "finish_reason": step.finish_reason,
                "finished": step.finished,
                "truncated": step.truncated,
                **({"ids": list(step.ids)} if step.ids is not None else {}),
                "probe": probe.to_json() if probe is not None else None,
                "at": now(),
            }
        )
        log.steps.append(step)
        log.probes.append(probe)

    def log_final(self, qid: str, chain: int, answer: Probe) -> None:
        record = {"kind": "final", "q": qid, "c": chain, "answer": answer.to_json(), "at": now()}
        self._append(record)
        self.chains[(qid, chain)].finish(answer)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _parse_record(line: str) -> tuple[dict[str, Any] | None, str]:
    """A journal line as a record (with its Step and Probes built), or None and what is wrong."""
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as e:
        return None, f"invalid JSON at column {e.colno}: {e.msg}"
    if not isinstance(rec, dict):
        return None, f"a {type(rec).__name__}, not an object"
    kind = rec.get("kind")
    try:
        if kind == "step":
            for key, kinds in (("i", int), ("tokens", int), ("text", str), ("finished", bool)):
                if type(rec[key]) is not kinds:
                    raise TypeError(f"'{key}' is {rec[key]!r:.40}")
            ids = rec.get("ids")
            if ids is not None and (
                type(ids) is not list
                or len(ids) != rec["tokens"]
                or not all(type(t) is int for t in ids)
            ):
                raise TypeError(f"'ids' is {ids!r:.40} for {rec['tokens']} tokens")
            rec["step"] = Step(
                rec["text"],
                rec["tokens"],
                rec["finish_reason"],
                rec["finished"],
                rec["truncated"],
                None if ids is None else tuple(ids),
            )
            rec["probe"] = Probe.from_json(rec["probe"]) if rec["probe"] is not None else None
            hash((rec["q"], rec["c"]))
        elif kind == "final":
            rec["answer"] = Probe.from_json(rec["answer"])
            hash((rec["q"], rec["c"]))
        elif not isinstance(kind, str):
            return None, f"'kind' is {kind!r:.40}"
        # other kinds (header, resume, any a newer autotts may add) carry no chain data
    except KeyError as e:
        return None, f"a {kind} record without {e}"
    except (TypeError, ValueError, AttributeError) as e:
        return None, f"a malformed {kind} record: {e}"
    return rec, ""


def _check_compatible(path: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    """A journal continues only the run it was started for."""
    if old.get("version") != VERSION:
        raise JournalError(f"{path}: journal version {old.get('version')!r} is not {VERSION}")
    if old.get("model") != new["model"]:
        raise JournalError(
            f"{path}: the journal was written for model {old.get('model')!r}, not "
            f"{new['model']!r} (use another -o, or delete the journal to start over)"
        )
    before, now_ = old.get("settings", {}), new["settings"]
    for key in sorted(set(before) | set(now_)):
        if before.get(key) != now_.get(key):
            raise JournalError(
                f"{path}: the journal was written with {key}={before.get(key)!r}, not "
                f"{now_.get(key)!r} (use another -o, or the same settings to resume)"
            )
    old_q = old.get("questions", {})
    for qid, digest in new["questions"].items():
        if qid in old_q and old_q[qid] != digest:
            raise JournalError(
                f"{path}: question {qid!r} has changed since the journal was written "
                "(its text or gold answer differs)"
            )
