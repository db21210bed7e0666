"""Running a controller live on one question (``autotts solve``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

from ..controllers import ControllerSpec, make_solver, vote
from ..data import ERR, math_key, normalize_answer
from ..env import Action, BudgetExceeded, Session
from .client import LiveError
from .collect import QuestionItem
from .sampler import Sampler
from .session import LiveSession


@dataclass(frozen=True)
class LiveOptions:
    """How a question is run live (besides the sampling settings)."""

    n_chains: int = 64
    kappa_probe: float = 0.0
    budget: float | None = None
    match: str = "normalized"
    concurrency: int = 8
    speculate: bool = True
    prefetch: int = 4


@dataclass(frozen=True)
class LiveResult:
    """One question solved live: the answer, what it cost and how long it took."""

    question_id: str
    answer: str | None
    gold: str | None
    correct: bool | None  # None without a gold answer
    error: str | None  # the controller raised (the answer is then None)
    truncated: bool  # stopped by the budget
    tokens: int  # charged by the replay rules
    cost: float
    sequential_tokens: int
    probes: int
    generated_tokens: int  # chain tokens the model generated (speculative ones included)
    speculative_tokens: int  # ... of which the controller never used
    probe_tokens: int
    requests: int
    retries: int
    seconds: float
    trace: list[Action] = field(repr=False, default_factory=list)

    def to_json(self, with_trace: bool = False) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "trace"}
        d["seconds"] = round(self.seconds, 3)
        if with_trace:
            d["trace"] = trace_records(self.trace)
        return d


def trace_records(actions: list[Action]) -> list[dict[str, Any]]:
    """An action log as JSON-able records (replay and live traces alike)."""
    return [a._asdict() for a in actions]


def answer_mapper(match: str) -> Callable[[str], str] | None:
    """How revealed answers are grouped for votes, as replay's ``apply_matching`` does:
    answers are already normalized; ``math`` maps each to the first answer of its key."""
    if match != "math":
        return None
    reps: dict[str, str] = {}
    return lambda a: a if a == ERR else reps.setdefault(math_key(a), a)


def grade(answer: str | None, gold: str | None, match: str) -> bool | None:
    if gold is None:
        return None
    if answer is None:
        return False
    if match == "math":
        return math_key(answer) == math_key(gold)
    if match == "normalized":
        return normalize_answer(answer) == normalize_answer(gold)
    return answer == normalize_answer(gold)  # collected answers are stored normalized


def solve_live(
    sampler: Sampler,
    item: QuestionItem,
    spec: ControllerSpec,
    options: LiveOptions,
    executor: ThreadPoolExecutor | None = None,
    observe: Callable[[LiveSession], None] | None = None,
) -> LiveResult:
    """Run a fresh controller built from ``spec`` on ``item`` against the model.

    ``observe``, if given, is called with the closed session before the result is built, for
    callers that need more than :class:`LiveResult` (``autotts serve`` reads the text of the
    chain that gave the answer)."""
    solve = make_solver(spec)
    client = sampler.client
    requests0, retries0 = client.stats.requests, client.stats.retries
    start = time.monotonic()
    session = LiveSession(
        sampler,
        item.question,
        item.id,
        n_available=options.n_chains,
        kappa_probe=options.kappa_probe,
        budget=options.budget,
        concurrency=options.concurrency,
        speculate=options.speculate,
        prefetch=options.prefetch,
        answer_map=answer_mapper(options.match),
        executor=executor,
    )
    try:
        answer, error, truncated = _play(session, solve)
        seconds = time.monotonic() - start
    finally:
        session.close()
    if observe is not None:
        observe(session)
    return LiveResult(
        question_id=item.id,
        answer=answer,
        gold=item.answer,
        correct=None if error else grade(answer, item.answer, options.match),
        error=error,
        truncated=truncated,
        tokens=session.tokens,
        cost=session.cost,
        sequential_tokens=session.sequential_tokens,
        probes=session.n_probes,
        generated_tokens=session.generated_tokens,
        speculative_tokens=session.speculative_tokens,
        probe_tokens=session.probe_tokens,
        requests=client.stats.requests - requests0,
        retries=client.stats.retries - retries0,
        seconds=seconds,
        trace=session.trace(),
    )


def _play(session: LiveSession, solve: Callable[[Session], object]) -> tuple[Any, Any, bool]:
    """The evaluator's episode rules (``autotts.evaluate.play``), except that a failure to
    reach the model stops the run instead of counting as the controller's error."""
    error = None
    truncated = False
    try:
        answer = solve(cast(Session, session))  # a drop-in: the same methods, duck-typed
    except BudgetExceeded:
        truncated = True
        revealed = (session.last_revealed(i) for i in range(session.n_open))
        answer = vote(a for a in revealed if a is not None)
    except LiveError:
        raise
    except Exception as e:
        answer, error = None, f"{type(e).__name__}: {e}"
    else:
        if type(answer) is not str and answer is not None:
            answer, error = None, f"returned {type(answer).__name__} {answer!r:.60}, not a str"
        elif session.answered is not None:
            if answer is not None and answer != session.answered:
                error = f"answered {session.answered!r} but returned {answer!r}"
            answer = session.answered
    if session.answered is None:
        session.answer(answer)
    return answer, error, truncated or session.truncated
