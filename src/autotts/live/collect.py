"""Building a replay environment from a live model (``autotts collect``).

Every (question, chain) pair is one unit of work; up to ``concurrency`` chains are grown at
once, each step by step (:class:`~autotts.live.sampler.Sampler`), so at most ``concurrency``
requests are in flight. Each step and its probe are journaled (fsynced) as soon as they are
done, so a collect that stops for any reason — Ctrl-C, a crash, a server that went away —
continues from the last journaled step of every chain when run again with the same output
and settings; finished chains are never sampled again. The environment file is written
(atomically) once every chain is done.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from ..data import Environment, EnvMeta, Question, normalize_answer, write_env
from .journal import ChainLog, Journal, now
from .sampler import Sampler
from .server import ServerReport


class QuestionsError(ValueError):
    """A malformed questions file; ``str(err)`` names the file and line."""


@dataclass(frozen=True)
class QuestionItem:
    id: str
    question: str
    answer: str | None  # None: unknown (solve can run without it)

    def digest(self) -> str:
        return hashlib.sha256(f"{self.question}\0{self.answer}".encode()).hexdigest()[:16]


def read_questions(path: str, *, need_answer: bool = True) -> list[QuestionItem]:
    """A JSONL file of ``{"id", "question", "answer"}`` objects (ids: strings or integers)."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise QuestionsError(f"{path}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise QuestionsError(f"{path}: not UTF-8 text: {e.reason}") from None
    items: list[QuestionItem] = []
    first_line: dict[str, int] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise QuestionsError(f"{where}: invalid JSON: {e.msg} (column {e.colno})") from None
        if not isinstance(obj, dict):
            raise QuestionsError(f"{where}: expected an object, got {type(obj).__name__}")
        for key in ("id", "question") + (("answer",) if need_answer else ()):
            if key not in obj:
                raise QuestionsError(f"{where}: missing field '{key}'")
        qid, text, answer = obj["id"], obj["question"], obj.get("answer")
        if type(qid) not in (str, int) or str(qid) == "":
            raise QuestionsError(f"{where}: field 'id': expected a non-empty string or integer")
        if not isinstance(text, str) or not text.strip():
            raise QuestionsError(f"{where}: field 'question': expected a non-empty string")
        if (answer is not None or need_answer) and (
            type(answer) not in (str, int, float) or str(answer) == ""
        ):
            raise QuestionsError(f"{where}: field 'answer': expected a string or a number")
        qid = str(qid)
        if qid in first_line:
            raise QuestionsError(f"{where}: duplicate id {qid!r} (first on line {first_line[qid]})")
        first_line[qid] = n
        items.append(QuestionItem(qid, text, None if answer is None else str(answer)))
    if not items:
        raise QuestionsError(f"{path}: no questions")
    return items


@dataclass
class Progress:
    """Counters a progress display reads (updated from worker threads)."""

    chains_total: int = 0
    chains_done: int = 0
    chains_resumed: int = 0  # finished before this run
    tokens: int = 0  # chain tokens generated in this run
    probe_tokens: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def tokens_per_second(self) -> float:
        elapsed = time.monotonic() - self.started
        return (self.tokens + self.probe_tokens) / elapsed if elapsed > 0 else 0.0


@dataclass(frozen=True)
class CollectResult:
    env: Environment
    path: str
    journal: str
    content_hash: str
    chains: int
    resumed_chains: int
    skipped_journal_lines: int
    tokens: int
    probe_tokens: int
    requests: int
    retries: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "output": self.path,
            "journal": self.journal,
            "model": self.env.meta.model,
            "dataset": self.env.meta.dataset,
            "questions": len(self.env),
            "chains": self.chains,
            "resumed_chains": self.resumed_chains,
            "skipped_journal_lines": self.skipped_journal_lines,
            "tokens": self.tokens,
            "probe_tokens": self.probe_tokens,
            "requests": self.requests,
            "retries": self.retries,
            "seconds": round(self.seconds, 3),
            "content_hash": self.content_hash,
        }


def journal_path(output: str) -> str:
    return output + ".journal"


def collect(
    sampler: Sampler,
    questions: Sequence[QuestionItem],
    n_chains: int,
    output: str,
    *,
    concurrency: int = 8,
    dataset: str = "unknown",
    on_progress: Callable[[Progress], None] | None = None,
    report: ServerReport | None = None,
) -> CollectResult:
    """Sample ``n_chains`` chains per question into the environment file ``output``;
    ``report`` (how the server made the chains, :func:`~autotts.live.server.negotiate`) is
    recorded in it."""
    if n_chains < 1:
        raise ValueError(f"chains must be at least 1, got {n_chains}")
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    start = time.monotonic()
    client = sampler.client
    requests0, retries0 = client.stats.requests, client.stats.retries
    header = {
        "model": client.model,
        "settings": sampler.settings.to_dict(),
        "questions": {q.id: q.digest() for q in questions},
    }
    with Journal(journal_path(output), header) as journal:
        logs = journal.chains
        todo = [
            (q, c)
            for q in questions
            for c in range(n_chains)
            if (log := logs.get((q.id, c))) is None or log.final is None
        ]
        progress = Progress(chains_total=len(questions) * n_chains)
        progress.chains_done = progress.chains_resumed = progress.chains_total - len(todo)
        stop = threading.Event()
        lock = threading.Lock()

        def tick(tokens: int = 0, probe_tokens: int = 0, done: int = 0) -> None:
            with lock:
                progress.tokens += tokens
                progress.probe_tokens += probe_tokens
                progress.chains_done += done
            if on_progress is not None:
                on_progress(progress)

        def run(item: tuple[Any, int]) -> None:
            q, c = item
            _grow_chain(sampler, journal, q, c, stop, tick)

        tick()
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="collect") as pool:
            futures = [pool.submit(run, item) for item in todo]
            try:
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
                errors = [e for f in done if (e := f.exception()) is not None]
                if errors:
                    raise errors[0]
            finally:  # on an error or Ctrl-C: no new chains, running ones stop after a step
                stop.set()
                for f in futures:
                    f.cancel()
        env = _environment(sampler, questions, n_chains, logs, dataset, journal.started, report)
    digest = write_env(env, output)
    return CollectResult(
        env=env,
        path=output,
        journal=journal_path(output),
        content_hash=digest,
        chains=progress.chains_total,
        resumed_chains=progress.chains_resumed,
        skipped_journal_lines=journal.skipped_lines,
        tokens=progress.tokens,
        probe_tokens=progress.probe_tokens,
        requests=client.stats.requests - requests0,
        retries=client.stats.retries - retries0,
        seconds=time.monotonic() - start,
    )


def _grow_chain(
    sampler: Sampler,
    journal: Journal,
    q: QuestionItem,
    c: int,
    stop: threading.Event,
    tick: Callable[..., None],
) -> None:
    """Continue chain ``c`` of ``q`` from its journaled steps to its final answer."""
    log = journal.chains.get((q.id, c)) or ChainLog()
    prompt = sampler.prompt(q.question)
    while not log.finished:
        if stop.is_set():
            return
        i = len(log.steps)
        step = sampler.step(prompt, q.id, c, i, log.steps)
        probe = None if step.finished else sampler.probe(prompt, q.id, c, i, [*log.steps, step])
        journal.log_step(q.id, c, step, probe)
        log = journal.chains[(q.id, c)]
        tick(step.tokens, probe.tokens if probe else 0)
    if log.final is None:
        final = sampler.final(prompt, q.id, c, log.steps)
        journal.log_final(q.id, c, final)
        tick(0, final.tokens, 1)


def _environment(
    sampler: Sampler,
    questions: Sequence[QuestionItem],
    n_chains: int,
    logs: dict[tuple[str, int], ChainLog],
    dataset: str,
    started: str,
    report: ServerReport | None,
) -> Environment:
    built = []
    raw_answers: dict[str, set[str]] = {}

    def keep(p: Any) -> str:
        if p.raw is not None and p.raw != p.answer:
            raw_answers.setdefault(p.answer, set()).add(p.raw)
        return str(p.answer)

    for n, q in enumerate(questions):
        probes, tokens, finals = [], [], []
        for c in range(n_chains):
            log = logs[(q.id, c)]
            assert log.final is not None
            probes.append([keep(p) for p in log.probes if p is not None])
            tokens.append(log.tokens)
            finals.append(keep(log.final))
        gold = normalize_answer(q.answer or "")
        built.append(Question(n, q.question, gold, probes, tokens, finals))
    s = sampler.settings
    meta = EnvMeta(
        model=sampler.client.model,
        dataset=dataset,
        interval_tokens=s.interval,
        temperature=s.temperature,
        probe_prompt=s.probe_suffix,
        source=f"autotts collect from {sampler.client.base_url}",
        extra={
            "collect": {
                "autotts_version": __version__,
                "base_url": sampler.client.base_url,
                "started": started,
                "finished": now(),
                "chains_per_question": n_chains,
            },
            "sampling": s.to_dict(),
            **({"server": report.to_json()} if report is not None else {}),
            "question_ids": [q.id for q in questions],
            "gold_raw": [q.answer for q in questions],
            "raw_answers": {k: sorted(v) for k, v in sorted(raw_answers.items())},
        },
    )
    return Environment(meta=meta, questions=tuple(built))
