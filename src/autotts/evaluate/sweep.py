"""Evaluating a controller over environments × betas, and the result records."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..controllers import ControllerSpec, make_solver
from ..data import Environment, apply_matching
from ..procs import Workers, check_workers, slots
from .protocol import Protocol
from .runner import ChunkResult, EpisodeError, Task, run_tasks
from .settings import EvalSettings

BOOTSTRAP_RESAMPLES = 2000
MAX_REPORTED_ERRORS = 5


@dataclass(frozen=True)
class EvalResult:
    """One controller at one beta on one environment; rebuildable from its spec fields."""

    env: str
    model: str
    dataset: str
    controller: str
    beta: float | None
    params: dict[str, Any]
    protocol: str
    replicates: int
    seed: int
    match: str
    kappa_probe: float
    budget: float | None
    accuracy: float  # percent
    accuracy_ci95: tuple[float, float]
    avg_total_tokens: float
    avg_sequential_tokens: float
    episodes: int
    seconds: float
    per_question_accuracy: tuple[float, ...] = field(repr=False, default=())
    errors: int = 0
    error_examples: tuple[str, ...] = ()
    truncated: int = 0
    # mean cost and sequential tokens per episode of each question (question folds need them)
    per_question_tokens: tuple[float, ...] = field(repr=False, default=())
    per_question_sequential: tuple[float, ...] = field(repr=False, default=())

    def to_json(self, wall_clock: bool = True) -> dict[str, Any]:
        """The record as JSON; ``wall_clock=False`` leaves out ``seconds`` (how long it took,
        which no two runs share), so what a command prints is a function of its inputs: the
        same bytes on any number of workers or on a cluster."""
        d = asdict(self)
        if not wall_clock:
            del d["seconds"]
        d["accuracy_ci95"] = list(self.accuracy_ci95)
        d["per_question_accuracy"] = list(self.per_question_accuracy)
        d["error_examples"] = list(self.error_examples)
        d["per_question_tokens"] = list(self.per_question_tokens)
        d["per_question_sequential"] = list(self.per_question_sequential)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> EvalResult:
        """The inverse of :meth:`to_json`; unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        kw["params"] = dict(kw["params"])
        kw["accuracy_ci95"] = tuple(kw["accuracy_ci95"])
        kw["per_question_accuracy"] = tuple(kw.get("per_question_accuracy", ()))
        kw["error_examples"] = tuple(kw.get("error_examples", ()))
        kw["per_question_tokens"] = tuple(kw.get("per_question_tokens", ()))
        kw["per_question_sequential"] = tuple(kw.get("per_question_sequential", ()))
        return cls(**kw)


def bootstrap_ci(per_question: Sequence[float], seed: int = 0) -> tuple[float, float]:
    """95 % percentile bootstrap over questions of the mean per-question accuracy (percent),
    seeded. Questions are the unit that varies between benchmarks; replicates only reorder
    chains, so resampling episodes would overstate the precision."""
    import numpy as np  # here, not at module level: the evaluate path starts up without it

    values = np.asarray(per_question, dtype=float)
    if values.size == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, (BOOTSTRAP_RESAMPLES, values.size))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return (round(100 * float(lo), 4), round(100 * float(hi), 4))


def _merge(
    env: Environment, cs: ControllerSpec, rs: EvalSettings, chunks: list[ChunkResult]
) -> EvalResult:
    reps = rs.protocol.replicates
    per_q: list[float] = []
    per_q_tokens: list[float] = []
    per_q_sequential: list[float] = []
    cost = sequential = 0.0
    errors: list[EpisodeError] = []
    seconds = 0.0
    truncated = 0
    for c in chunks:
        per_q += [k / reps for k in c.correct]
        per_q_tokens += [x / reps for x in c.cost]
        per_q_sequential += [x / reps for x in c.sequential]
        for x in c.cost:  # question by question: the sums do not depend on the chunking
            cost += x
        for n in c.sequential:
            sequential += n
        errors += c.errors
        seconds += c.seconds
        truncated += c.truncated
    episodes = len(per_q) * reps
    return EvalResult(
        env=env.path or env.name,
        model=env.meta.model,
        dataset=env.meta.dataset,
        controller=cs.spec,
        beta=cs.beta,
        params=dict(cs.params),
        protocol=rs.protocol.name,
        replicates=reps,
        seed=rs.protocol.seed,
        match=rs.match,
        kappa_probe=rs.kappa_probe,
        budget=rs.budget,
        accuracy=round(100 * sum(per_q) / len(per_q), 6),
        accuracy_ci95=bootstrap_ci(per_q),
        avg_total_tokens=round(cost / episodes, 6),
        avg_sequential_tokens=round(sequential / episodes, 6),
        episodes=episodes,
        seconds=round(seconds, 4),
        per_question_accuracy=tuple(per_q),
        errors=len(errors),
        error_examples=tuple(str(e) for e in errors[:MAX_REPORTED_ERRORS]),
        truncated=truncated,
        per_question_tokens=tuple(per_q_tokens),
        per_question_sequential=tuple(per_q_sequential),
    )


def evaluate(
    envs: Sequence[Environment],
    controller: ControllerSpec,
    betas: Sequence[float | None] | None = None,
    *,
    settings: EvalSettings | None = None,
    workers: Workers = 1,
    progress: Callable[[int], None] | None = None,
    protocol: Protocol | None = None,
    match: str | None = None,
    kappa_probe: float | None = None,
    budget: float | None = None,
) -> list[EvalResult]:
    """Evaluate ``controller`` at each beta (default: the spec's own) on each environment under
    ``settings`` (default :class:`EvalSettings`). Results are ordered env-major, then beta.
    ``progress`` is called with the number of episodes each finished chunk covered.
    ``protocol``, ``match``, ``kappa_probe`` and ``budget`` are the older spelling of
    ``settings`` (not both)."""
    if not envs:
        raise ValueError("no environments to evaluate")
    rs = settings_from(settings, protocol, match, kappa_probe, budget)
    if isinstance(workers, int):
        check_workers(workers)
    envs = [apply_matching(env, rs.match) for env in envs]
    specs = [controller.with_beta(b) for b in betas] if betas is not None else [controller]
    for cs in specs:
        make_solver(cs)  # fail once, up front, on a controller that cannot be built
    # small chunks balance the load over workers (questions differ a lot in cost) and let the
    # progress callback move smoothly
    per_task = max(1, min(len(e) for e in envs) // (8 * slots(workers)))
    tasks: list[Task] = []
    owner: list[tuple[int, int]] = []
    for ei, env in enumerate(envs):
        for si, cs in enumerate(specs):
            for q0 in range(0, len(env), per_task):
                tasks.append((ei, cs, tuple(range(q0, min(len(env), q0 + per_task))), rs))
                owner.append((ei, si))

    def done(n: int, chunk: ChunkResult) -> None:
        if progress:
            progress(len(chunk.questions) * rs.protocol.replicates)

    chunks = run_tasks(envs, tasks, workers, done)
    grouped: dict[tuple[int, int], list[ChunkResult]] = {}
    for key, chunk in zip(owner, chunks, strict=True):
        grouped.setdefault(key, []).append(chunk)
    return [
        _merge(envs[ei], specs[si], rs, grouped[(ei, si)])
        for ei in range(len(envs))
        for si in range(len(specs))
    ]


def settings_from(
    settings: EvalSettings | None,
    protocol: Protocol | None = None,
    match: str | None = None,
    kappa_probe: float | None = None,
    budget: float | None = None,
) -> EvalSettings:
    """``settings``, or one built from the older separate keywords (giving both is an error)."""
    legacy = {"protocol": protocol, "match": match, "kappa_probe": kappa_probe, "budget": budget}
    given = [k for k, v in legacy.items() if v is not None]
    if settings is not None:
        if given:
            raise TypeError(f"give settings= or {', '.join(given)}=, not both")
        return settings
    return EvalSettings(
        protocol or Protocol(),
        "exact" if match is None else match,
        0.0 if kappa_probe is None else kappa_probe,
        budget,
    )


def merge_chunks(
    env: Environment, cs: ControllerSpec, settings: EvalSettings, chunks: list[ChunkResult]
) -> EvalResult:
    """The result record of ``cs`` on ``env`` from chunk sums (however they were obtained: the
    sandbox builds them from episodes it verified itself)."""
    return _merge(env, cs, settings, chunks)
