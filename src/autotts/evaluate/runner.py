"""Running controllers over replay environments: episodes, chunks, workers.

The unit of work is a *chunk*: one (environment, beta) pair × a range of questions × every
replicate. Chunks are independent and a fresh controller is built per episode, so the numbers do
not depend on how chunks are spread over worker processes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..controllers import ControllerSpec, make_solver, vote
from ..data import Environment, apply_matching
from ..env import BudgetExceeded, ReadRecords, Session, full_read_records
from ..procs import Workers, run_map
from .settings import EvalSettings


@dataclass(frozen=True)
class EpisodeError:
    question: int
    replicate: int
    error: str

    def __str__(self) -> str:
        return f"question {self.question}, replicate {self.replicate}: {self.error}"


@dataclass
class ChunkResult:
    """Sums over the replicates of each question in the chunk."""

    questions: list[int]
    correct: list[int]  # episodes answered correctly, per question
    cost: list[float]  # summed cost (tokens + kappa_probe * probes), per question
    sequential: list[int]  # summed sequential tokens, per question
    errors: list[EpisodeError] = field(default_factory=list)
    truncated: int = 0
    seconds: float = 0.0


def new_session(
    env: Environment,
    question: int,
    order: Sequence[int],
    settings: EvalSettings,
    read_records: ReadRecords | None = None,
) -> Session:
    """A session on one question of ``env`` under one chain order."""
    q = env.questions[question]
    return Session(
        q.probes,
        q.tokens,
        q.finals,
        order,
        env.interval,
        kappa_probe=settings.kappa_probe,
        budget=settings.budget,
        read_records=read_records,
    )


@dataclass(frozen=True)
class Episode:
    """One question under one replicate, played to the end; ``session.trace()`` is what the
    controller did, action by action, with costs."""

    question: int
    replicate: int
    answer: str | None
    gold: str
    error: str | None
    truncated: bool
    session: Session

    @property
    def correct(self) -> bool:
        return self.error is None and self.answer == self.gold


def run_episode(
    env: Environment,
    controller: ControllerSpec,
    question: int,
    replicate: int,
    settings: EvalSettings | None = None,
) -> Episode:
    """Play one episode exactly as the evaluator does (same chain order, same charging, same
    answer matching)."""
    rs = settings or EvalSettings()
    env = apply_matching(env, rs.match)
    if not 0 <= question < len(env):
        raise ValueError(f"question {question} is out of range (the environment has {len(env)})")
    if not 0 <= replicate < rs.protocol.replicates:
        raise ValueError(
            f"replicate {replicate} is out of range (the protocol has {rs.protocol.replicates})"
        )
    order = rs.protocol.orders(question, env.questions[question].n_chains)[replicate]
    session = new_session(env, question, order, rs)
    answer, error, truncated = play(session, make_solver(controller))
    return Episode(
        question, replicate, answer, env.questions[question].gold, error, truncated, session
    )


def play(
    session: Session, solve: Callable[[Session], object]
) -> tuple[str | None, str | None, bool]:
    """Run one episode to its end; returns (answer, error, truncated). An episode is truncated
    when the budget refused one of its actions: the controller then answered with what it had
    seen (the built-ins do), or, if the refusal escaped ``solve``, the answer is the vote of
    the answers revealed so far."""
    error = None
    truncated = False
    try:
        answer = solve(session)
    except BudgetExceeded:
        truncated = True
        answer = vote(a for a in map(session.last_revealed, range(session.n_open)) if a is not None)
    except Exception as e:  # the controller's failure is a result, not a crash of the sweep
        answer, error = None, f"{type(e).__name__}: {e}"
    else:
        if type(answer) is not str and answer is not None:
            answer, error = None, f"returned {type(answer).__name__} {answer!r:.60}, not a str"
        elif session.answered is not None:  # the controller took the ANSWER action itself
            if answer is not None and answer != session.answered:
                error = f"answered {session.answered!r} but returned {answer!r}"
            answer = session.answered
    if session.answered is None:
        session.answer(answer)
    return answer, error, truncated or session.truncated


def run_chunk(
    env: Environment, cs: ControllerSpec, questions: Sequence[int], rs: EvalSettings
) -> ChunkResult:
    start = time.perf_counter()
    out = ChunkResult(list(questions), [], [], [])
    for qi in questions:
        q = env.questions[qi]
        gold = q.gold
        reads = full_read_records(q.probes, q.tokens, q.finals)  # shared by the replicates
        correct = sequential = 0
        cost = 0.0
        for r, order in enumerate(rs.protocol.orders(qi, q.n_chains)):
            s = new_session(env, qi, order, rs, reads)
            answer, error, truncated = play(s, make_solver(cs))
            if error is not None:
                out.errors.append(EpisodeError(qi, r, error))
            elif answer == gold:
                correct += 1
            cost += s.cost
            sequential += s.sequential_tokens
            out.truncated += truncated
        out.correct.append(correct)
        out.cost.append(cost)
        out.sequential.append(sequential)
    out.seconds = time.perf_counter() - start
    return out


# ------------------------------------------------------------------------------ workers
Task = tuple[int, ControllerSpec, tuple[int, ...], EvalSettings]


def _run_task(envs: Sequence[Environment], task: Task) -> ChunkResult:
    env_index, cs, questions, rs = task
    return run_chunk(envs[env_index], cs, questions, rs)


def run_tasks(
    envs: Sequence[Environment],
    tasks: Sequence[Task],
    workers: Workers = 1,
    on_done: Callable[[int, ChunkResult], None] | None = None,
) -> list[ChunkResult]:
    """Run tasks (env index, spec, questions, settings); results in task order. Forked workers
    inherit the environments (and controller classes loaded from user files); on a cluster they
    travel once per node."""
    results: dict[int, ChunkResult] = {}

    def finish(n: int, result: ChunkResult) -> None:
        results[n] = result
        if on_done:
            on_done(n, result)

    run_map(_run_task, list(envs), tasks, workers, finish)
    return [results[n] for n in range(len(tasks))]
