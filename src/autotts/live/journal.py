"""The append-only journal that makes ``autotts collect`` resumable.

One JSON object per line, written with flush + fsync before the work it records is considered
done:

* ``{"kind": "header", "version": 1, "model": ..., "settings": {...}, "questions": {id: hash},
  "started": ...}`` once, first;
* ``{"kind": "step", "q": id, "c": chain, "i": index, "text": ..., "tokens": n,
  "finish_reason": ..., "finished": bool, "truncated": bool, "probe": {...} | null, "at": ...}``
  per interval of a chain (with its probe when the chain goes on);
* ``{"kind": "final", "q": id, "c": chain, "answer": {...}, "at": ...}`` when a chain is done;
* ``{"kind": "resume", "at": ...}`` each time a collect continues the journal.

Nothing is ever rewritten or deleted. A crash can leave a torn last line: it is skipped when
read (and a newline is appended first, so the next record starts on a line of its own). A lock
(``flock``) keeps two collects from writing one journal.
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
        self.steps = [replace(s, text="") for s in self.steps]


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
            raise LiveError(f"{self.path}: another autotts collect is writing this journal")

    def _read(self) -> dict[str, Any] | None:
        """Load every chain record; returns the header (None for a new journal)."""
        self._file.seek(0)
        header: dict[str, Any] | None = None
        line = ""
        seen_any = False
        for line in self._file:
            if not line.strip():
                continue
            seen_any = True
            try:
                rec = json.loads(line)
                kind = rec["kind"]
                if kind == "header":
                    header = header or rec
                elif kind == "step":
                    self._load_step(rec)
                elif kind == "final":
                    self.chains[(rec["q"], rec["c"])].finish(Probe.from_json(rec["answer"]))
            except (ValueError, KeyError, TypeError):
                self.skipped_lines += 1
        if line and not line.endswith("\n"):  # a torn last record: keep it, start afresh
            self._file.write("\n")
            self._file.flush()
        if seen_any and header is None:
            raise LiveError(f"{self.path}: not an autotts collect journal (no header line)")
        return header

    def _load_step(self, rec: dict[str, Any]) -> None:
        log = self.chains.setdefault((rec["q"], rec["c"]), ChainLog())
        if rec["i"] != len(log.steps):  # a duplicate or out-of-order record: ignore it
            self.skipped_lines += 1
            return
        step = Step(
            rec["text"], rec["tokens"], rec["finish_reason"], rec["finished"], rec["truncated"]
        )
        log.steps.append(step)
        log.probes.append(Probe.from_json(rec["probe"]) if rec["probe"] is not None else None)

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


def _check_compatible(path: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    """A journal continues only the run it was started for."""
    if old.get("version") != VERSION:
        raise LiveError(f"{path}: journal version {old.get('version')!r} is not {VERSION}")
    if old.get("model") != new["model"]:
        raise LiveError(
            f"{path}: the journal was written for model {old.get('model')!r}, not "
            f"{new['model']!r} (use another -o, or delete the journal to start over)"
        )
    before, now_ = old.get("settings", {}), new["settings"]
    for key in sorted(set(before) | set(now_)):
        if before.get(key) != now_.get(key):
            raise LiveError(
                f"{path}: the journal was written with {key}={before.get(key)!r}, not "
                f"{now_.get(key)!r} (use another -o, or the same settings to resume)"
            )
    old_q = old.get("questions", {})
    for qid, digest in new["questions"].items():
        if qid in old_q and old_q[qid] != digest:
            raise LiveError(
                f"{path}: question {qid!r} has changed since the journal was written "
                "(its text or gold answer differs)"
            )
