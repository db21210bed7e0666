"""Trusted jobs that run candidate controllers inside the sandbox, and their callers.

A job runs in the sandbox child as ``job(payload, guard, load_controller)``: it does its
trusted setup (loading environment files), calls ``guard()``, then ``load_controller()``, and
returns JSON-able data. :func:`evaluate_job` is the evaluator's; :func:`evaluate_sandboxed`
runs it (over several sandboxes in parallel, if asked) and returns ordinary
:class:`~autotts.evaluate.EvalResult` records, identical to an unsandboxed ``evaluate`` but for
timings.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from ..controllers import Controller, ControllerSpec, make_solver
from ..controllers.base import register_as
from ..evaluate import EvalResult, Protocol, bootstrap_ci
from .loader import describe
from .outcome import Limits, Rejection, SandboxOutcome
from .runner import run_sandboxed

EVALUATE_JOB = "autotts.sandbox.jobs:evaluate_job"
DESCRIBE_JOB = "autotts.sandbox.jobs:describe_job"
Guard = Callable[[], None]
Loader = Callable[[], type]


def validate_schedule(controller_cls: type, betas: Sequence[float]) -> str | None:
    """The first problem with ``schedule(beta)`` over ``betas``, as one line, or None. A beta
    controller's schedule must return a mapping of finite numbers, bools or strings (by
    string keys) for every beta. Exceptions raised by ``schedule`` propagate."""
    if not (issubclass(controller_cls, Controller) and controller_cls.uses_beta):
        return None
    for beta in betas:
        where = f"schedule({beta:g})"
        settings = controller_cls.schedule(beta)
        if not isinstance(settings, Mapping):
            return f"{where} returned {type(settings).__name__}, not a mapping"
        for key, value in settings.items():
            if not isinstance(key, str):
                return f"{where} returned the non-string key {key!r:.40}"
            if isinstance(value, str):
                continue
            if not isinstance(value, numbers.Real):
                kind = type(value).__name__
                return f"{where} returned {kind} for {key!r} (expected numbers, bools, strings)"
            if not math.isfinite(float(value)):
                return f"{where} returned {float(value)!r} for {key!r} (settings must be finite)"
    return None


def checked_controller(cls: type, name: str) -> str:
    """Register ``cls`` for the evaluator under ``name`` behind a trusted wrapper; returns the
    name to put in a :class:`ControllerSpec`. The wrapper builds ``cls`` exactly as
    ``make_solver`` would, turns running out of memory in ``solve`` into the end of the run
    (status ``memory``) instead of a per-episode error, and rejects an ``answer()`` that is not
    a string (an object equal to everything would otherwise count as correct)."""
    inner = register_as(f"{name} (candidate)", cls)

    class Checked(Controller):
        def __init__(self, beta: float | None = None, **params: Any) -> None:
            self.beta, self.settings = beta, dict(params)
            self._solve = make_solver(ControllerSpec(inner, params, beta))

        def solve(self, session: Any) -> Any:
            try:
                answer = self._solve(session)
            except MemoryError:
                raise Rejection("memory", "ran out of memory in solve()") from None
            answered = session.answered
            if answered is not None and type(answered) is not str:
                raise TypeError(f"answered with {type(answered).__name__}, not a str")
            return answer

    return register_as(name, Checked)


def check_schedules(cls: type, betas: Sequence[float | None]) -> None:
    """Raise :class:`Rejection` (``invalid``, or ``error`` with the candidate's line) unless
    ``schedule(beta)`` gives valid settings at every beta."""
    for beta in (b for b in betas if b is not None):
        try:
            problem = validate_schedule(cls, [beta])
        except MemoryError:
            raise
        except Exception as e:
            raise Rejection("error", describe(e, f"schedule({beta:g}) raised ")) from e
        if problem:
            raise Rejection("invalid", problem)


def evaluate_job(payload: dict[str, Any], guard: Guard, load_controller: Loader) -> dict[str, Any]:
    """Evaluate the candidate. ``payload``: ``{"envs": [paths], "betas": [b or None, ...],
    "protocol": {"name", "replicates", "seed"}, "match", "kappa_probe", "budget", "params",
    "name"}``; returns ``{"results": [EvalResult.to_json(), ...]}`` (env-major, then beta)."""
    from ..data import load_env
    from ..evaluate import evaluate

    envs = [load_env(p) for p in payload["envs"]]
    protocol = Protocol(**payload["protocol"])
    betas: list[float | None] = payload["betas"]
    guard()
    cls = load_controller()
    check_schedules(cls, betas)
    name = checked_controller(cls, payload.get("name") or cls.__name__)
    results = evaluate(
        envs,
        ControllerSpec(name, dict(payload.get("params") or {})),
        betas,
        protocol=protocol,
        match=payload.get("match", "exact"),
        kappa_probe=payload.get("kappa_probe", 0.0),
        budget=payload.get("budget"),
        workers=1,
    )
    return {"results": [r.to_json() for r in results]}


def describe_job(payload: dict[str, Any], guard: Guard, load_controller: Loader) -> dict[str, Any]:
    """What the caller needs to choose betas: ``{"controller": is a Controller subclass,
    "uses_beta": bool or None, "defaults": {name: value}}``."""
    guard()
    cls = load_controller()
    if not issubclass(cls, Controller):
        return {"controller": False, "uses_beta": None, "defaults": {}}
    defaults = {
        str(k): v if isinstance(v, (bool, int, float, str)) or v is None else repr(v)
        for k, v in dict(cls.defaults).items()
    }
    return {"controller": True, "uses_beta": bool(cls.uses_beta), "defaults": defaults}


def evaluate_sandboxed(
    source: str,
    class_name: str,
    env_paths: Sequence[str | os.PathLike[str]],
    betas: Sequence[float | None],
    *,
    protocol: Protocol | None = None,
    match: str = "exact",
    kappa_probe: float = 0.0,
    budget: float | None = None,
    params: dict[str, Any] | None = None,
    limits: Limits = Limits(),  # noqa: B008  (frozen)
    label: str | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    filename: str = "controller.py",
) -> tuple[SandboxOutcome, list[EvalResult]]:
    """Evaluate candidate ``source`` (class ``class_name``) in the sandbox on ``env_paths`` at
    each beta. The (environment, beta) grid is split over up to ``workers`` sandboxes run in
    parallel; ``progress`` gets the episodes of each finished one. Returns the outcome (the
    first failure, if any) and the results, env-major then beta, as ``evaluate`` orders them;
    ``controller`` in the results is ``label`` (default: the class name), ``env`` the path as
    given. The bootstrap interval is recomputed here from the per-question accuracies."""
    paths = [os.fspath(p) for p in env_paths]
    if not paths or not betas:
        raise ValueError("evaluate_sandboxed needs environments and betas")
    proto = protocol or Protocol()
    base = {
        "protocol": {"name": proto.name, "replicates": proto.replicates, "seed": proto.seed},
        "match": match,
        "kappa_probe": kappa_probe,
        "budget": budget,
        "params": dict(params or {}),
        "name": class_name,
    }
    groups = split_grid(len(paths), len(betas), workers)

    def run(group: tuple[list[int], list[int]]) -> tuple[SandboxOutcome, list[EvalResult]]:
        env_ix, beta_ix = group
        payload = {
            **base,
            "envs": [os.path.abspath(paths[i]) for i in env_ix],
            "betas": [betas[j] for j in beta_ix],
        }
        out = run_sandboxed(source, class_name, EVALUATE_JOB, payload, limits, filename=filename)
        if not out.ok:
            return out, []
        assert out.data is not None
        records = out.data["results"]
        keys = [(i, j) for i in env_ix for j in beta_ix]
        results = [
            _relabel(EvalResult.from_json(rec), paths[i], label or class_name)
            for rec, (i, _) in zip(records, keys, strict=True)
        ]
        if progress:
            progress(sum(r.episodes for r in results))
        return out, results

    with ThreadPoolExecutor(max(1, min(workers, len(groups)))) as pool:
        done = list(pool.map(run, groups))
    failed = [out for out, _ in done if not out.ok]
    if failed:
        return failed[0], []
    by_key: dict[tuple[int, int], EvalResult] = {}
    for (env_ix, beta_ix), (_, results) in zip(groups, done, strict=True):
        keys = [(i, j) for i in env_ix for j in beta_ix]
        by_key.update(zip(keys, results, strict=True))
    ordered = [by_key[(i, j)] for i in range(len(paths)) for j in range(len(betas))]
    seconds = max(out.seconds for out, _ in done)
    summary = SandboxOutcome("ok", "", {"results": [r.to_json() for r in ordered]}, seconds)
    return summary, ordered


def split_grid(n_envs: int, n_betas: int, workers: int) -> list[tuple[list[int], list[int]]]:
    """Split the (environment, beta) grid into as many sub-grids (envs × betas) as possible, up
    to ``workers``; environments are split first (each sandbox loads only its own)."""
    ge, gb = max(
        ((e, min(n_betas, max(1, workers) // e)) for e in range(1, min(n_envs, workers) + 1)),
        key=lambda p: (p[0] * p[1], p[0]),
        default=(1, 1),
    )
    env_chunks = [list(range(n_envs))[k::ge] for k in range(ge)]
    beta_chunks = [list(range(n_betas))[k::gb] for k in range(gb)]
    return [(e, b) for e in env_chunks for b in beta_chunks]


def _relabel(r: EvalResult, env: str, controller: str) -> EvalResult:
    # The child computed everything; the interval is recomputed from the per-question
    # accuracies here, so nothing the candidate did to numpy in the child can shape it.
    ci = bootstrap_ci(r.per_question_accuracy) if r.per_question_accuracy else r.accuracy_ci95
    return replace(r, env=env, controller=controller, accuracy_ci95=ci)
