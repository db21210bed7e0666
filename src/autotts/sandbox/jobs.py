"""Running candidate controllers in the sandbox: the public entry points.

Two typed requests cross into the child (:mod:`.wire`): *describe* a class, or play
*episodes*. :func:`describe_candidate` answers what a class is; :func:`sweep_candidate` plays a
(environments × betas) grid and returns ordinary :class:`~autotts.evaluate.EvalResult`
records built here from verified episodes (:mod:`.verify`), fast or strict;
:func:`evaluate_sandboxed` splits a grid over parallel sandboxes; :func:`strict_check` re-runs
a candidate strictly and compares.

Environments are loaded here (trusted), matched here, and handed to the child as gold-free
copies in a private directory, so the gold answers never enter the candidate's process.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..controllers import ControllerSpec
from ..data import Environment, Question, apply_matching, load_env, write_env
from ..evaluate import (
    Episode,
    EvalResult,
    EvalSettings,
    Protocol,
    bootstrap_ci,
    merge_chunks,
    settings_from,
)
from ..procs import Workers, slots, thread_map
from .loader import policy_reason
from .outcome import Limits, SandboxOutcome
from .policy import check_source
from .runner import ChildSetup, run_child
from .verify import FastVerifier, StrictServer
from .wire import DescribeRequest, EpisodesRequest, RunSpec, request_to_json


@dataclass(frozen=True)
class Candidate:
    """Untrusted controller code and the class to run."""

    source: str
    class_name: str
    filename: str = "controller.py"


@dataclass
class SweepOutcome:
    """A sandboxed sweep: the outcome, the verified results (env-major, then beta) and, per
    (env index, beta index), the verified episodes kept for trace digests."""

    outcome: SandboxOutcome
    results: list[EvalResult] = field(default_factory=list)
    kept: dict[tuple[int, int], list[Episode]] = field(default_factory=dict)
    knob_problems: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ environments
_lock = threading.Lock()
_child_dir: str | None = None


@functools.lru_cache(maxsize=64)
def _loaded(path: str, mtime_ns: int, size: int) -> Environment:
    return load_env(path)


@functools.lru_cache(maxsize=64)
def _matched(path: str, mtime_ns: int, size: int, match: str) -> Environment:
    return apply_matching(_loaded(path, mtime_ns, size), match)


def matched_env(path: str | os.PathLike[str], match: str) -> Environment:
    """The environment at ``path`` as the evaluator sees it under ``match`` (cached by file)."""
    p = os.path.abspath(os.fspath(path))
    st = os.stat(p)
    return _matched(p, st.st_mtime_ns, st.st_size, match)


def _gold_free(env: Environment) -> Environment:
    questions = tuple(
        Question(q.index, q.text, "", q.probes, q.tokens, q.finals) for q in env.questions
    )
    return Environment(meta=env.meta, questions=questions, path=env.path)


def child_copy(path: str | os.PathLike[str], match: str) -> str:
    """A gold-free, already matched copy of the environment for the child (made once per
    file and matching in this process's private directory)."""
    global _child_dir
    p = os.path.abspath(os.fspath(path))
    st = os.stat(p)
    with _lock:
        if _child_dir is None:
            _child_dir = tempfile.mkdtemp(prefix="autotts-envs-")
            atexit.register(shutil.rmtree, _child_dir, True)
        target = os.path.join(_child_dir, f"{abs(hash((p, st.st_mtime_ns, match)))}.json")
        if not os.path.exists(target):
            write_env(_gold_free(matched_env(p, match)), target)
    return target


def _child_dir_path() -> str:
    assert _child_dir is not None
    return _child_dir


# ------------------------------------------------------------------ running
def _envelope(
    cand: Candidate, request: Any, check_policy: bool, bypass: bool = False
) -> dict[str, Any]:
    return {
        "source": cand.source,
        "filename": cand.filename,
        "class_name": cand.class_name,
        "check_policy": check_policy and not bypass,
        "unsafe_no_guard": bypass,
        "request": request_to_json(request),
    }


def _static_refusal(cand: Candidate, check_policy: bool) -> SandboxOutcome | None:
    if check_policy:
        violations = check_source(cand.source, cand.filename)
        if violations:
            details = tuple(map(str, violations))
            return SandboxOutcome("policy", policy_reason(violations), None, 0.0, details=details)
    if not cand.class_name.isidentifier():
        return SandboxOutcome("error", f"{cand.class_name!r} is not a class name", None, 0.0)
    return None


def _ignore_frames(kind: bytes, payload: bytes, watch: Any) -> None:
    from .wire import WireError

    raise WireError(f"an unexpected frame {kind!r} from a describe")


def describe_candidate(
    cand: Candidate,
    betas: Sequence[float | None] = (),
    *,
    contract: bool = False,
    limits: Limits = Limits(),  # noqa: B008  (frozen)
    _unsafe_skip_policy: bool = False,
    _unsafe_bypass: bool = False,
) -> SandboxOutcome:
    """What the class is: ``data = {"controller", "uses_beta", "defaults", "knob_problems"}``.
    Tests only: ``_unsafe_skip_policy`` skips the static policy; ``_unsafe_bypass`` also the
    Python guard (a complete policy bypass: only the OS layers stand)."""
    check = not (_unsafe_skip_policy or _unsafe_bypass)
    refused = _static_refusal(cand, check)
    if refused is not None:
        return refused
    req = DescribeRequest(tuple(betas), contract)
    envelope = _envelope(cand, req, check, _unsafe_bypass)
    return run_child(ChildSetup(envelope), limits, _ignore_frames)


def sweep_candidate(
    cand: Candidate,
    env_paths: Sequence[str | os.PathLike[str]],
    betas: Sequence[float | None],
    *,
    settings: EvalSettings | None = None,
    protocol: Protocol | None = None,
    match: str | None = None,
    kappa_probe: float | None = None,
    budget: float | None = None,
    params: dict[str, Any] | None = None,
    strict: bool = False,
    contract: bool = False,
    keep: int = 0,
    label: str | None = None,
    limits: Limits = Limits(),  # noqa: B008  (frozen)
    progress: Callable[[int], None] | None = None,
    _unsafe_skip_policy: bool = False,
    _unsafe_bypass: bool = False,
) -> SweepOutcome:
    """Play ``cand`` on every (environment, beta) in one sandbox and verify every episode.
    Tests only: ``_unsafe_skip_policy`` skips the static policy; ``_unsafe_bypass`` also the
    Python guard, as if the candidate had defeated both: the OS layers and the parent's
    verification must hold on their own."""
    check = not (_unsafe_skip_policy or _unsafe_bypass)
    refused = _static_refusal(cand, check)
    if refused is not None:
        return SweepOutcome(refused)
    rs = settings_from(settings, protocol, match, kappa_probe, budget)
    proto = rs.protocol
    paths = [os.path.abspath(os.fspath(p)) for p in env_paths]
    envs = [matched_env(p, rs.match) for p in paths]
    files = tuple(child_copy(p, rs.match) for p in paths) if not strict else ()
    run = RunSpec(proto.name, proto.replicates, proto.seed, rs.kappa_probe, rs.budget)
    name = f"candidate_{cand.class_name}"
    req = EpisodesRequest(files, tuple(betas), run, dict(params or {}), name, strict, contract)
    handler: FastVerifier | StrictServer
    if strict:
        server = StrictServer(envs, len(betas), rs, keep, progress)
        setup = ChildSetup(_envelope(cand, req, check, _unsafe_bypass), first=server.first())
        handler = server
    else:
        handler = FastVerifier(envs, len(betas), rs, keep, progress)
        envelope = _envelope(cand, req, check, _unsafe_bypass)
        setup = ChildSetup(envelope, read_only=(_child_dir_path(),))
    outcome = run_child(setup, limits, handler.on_frame)
    if not outcome.ok:
        return SweepOutcome(outcome)
    assert outcome.data is not None
    problems = [str(p) for p in outcome.data.get("knob_problems") or []]
    if problems:
        return SweepOutcome(outcome, knob_problems=problems)
    if not handler.complete:
        bad = SandboxOutcome("forged", "the sandbox ended before every episode was played", None, 0)
        return SweepOutcome(bad)
    shown = label or cand.class_name
    results = []
    for ei, (path, env) in enumerate(zip(paths, envs, strict=True)):
        for bj, beta in enumerate(betas):
            spec = ControllerSpec(shown, dict(params or {}), beta)
            r = merge_chunks(env, spec, rs, handler.chunks[(ei, bj)])
            results.append(replace(r, env=path))
    data = {"results": [r.to_json() for r in results]}
    return SweepOutcome(replace(outcome, data=data), results, handler.kept)


def evaluate_sandboxed(
    source: str,
    class_name: str,
    env_paths: Sequence[str | os.PathLike[str]],
    betas: Sequence[float | None],
    *,
    settings: EvalSettings | None = None,
    protocol: Protocol | None = None,
    match: str | None = None,
    kappa_probe: float | None = None,
    budget: float | None = None,
    params: dict[str, Any] | None = None,
    limits: Limits = Limits(),  # noqa: B008  (frozen)
    label: str | None = None,
    workers: Workers = 1,
    progress: Callable[[int], None] | None = None,
    filename: str = "controller.py",
    strict: bool = False,
) -> tuple[SandboxOutcome, list[EvalResult]]:
    """Evaluate candidate ``source`` (class ``class_name``) in the sandbox on ``env_paths`` at
    each beta. The (environment, beta) grid is split over up to ``workers`` sandboxes run in
    parallel. Returns the outcome (the first failure, if any) and the verified results,
    env-major then beta; ``env`` in the results is the path as given."""
    paths = [os.fspath(p) for p in env_paths]
    if not paths or not betas:
        raise ValueError("evaluate_sandboxed needs environments and betas")
    cand = Candidate(source, class_name, filename)
    rs = settings_from(settings, protocol, match, kappa_probe, budget)
    groups = split_grid(len(paths), len(betas), slots(workers))
    from ..cluster import LocalFiles, ShippedFiles  # here: the sandbox child never loads it

    local = isinstance(workers, int)
    files = LocalFiles() if local else ShippedFiles.of(paths)
    jobs = [
        _Group(cand, tuple(paths[i] for i in env_ix), tuple(betas[j] for j in beta_ix), rs,
               params, strict, label, limits, progress if local else None)
        for env_ix, beta_ix in groups
    ]  # fmt: skip
    outs: dict[int, SweepOutcome] = {}

    def finish(n: int, out: SweepOutcome) -> None:
        outs[n] = out
        if progress is not None and not local:  # a cluster reports whole groups
            progress(sum(r.episodes for r in out.results))

    thread_map(_sweep_group, files, jobs, workers, finish)
    done = [outs[n] for n in range(len(jobs))]
    failed = [d.outcome for d in done if not d.outcome.ok]
    if failed:
        return failed[0], []
    by_key: dict[tuple[int, int], EvalResult] = {}
    for (env_ix, beta_ix), d in zip(groups, done, strict=True):
        keys = [(i, j) for i in env_ix for j in beta_ix]
        for key, r in zip(keys, d.results, strict=True):
            by_key[key] = replace(r, env=paths[key[0]], accuracy_ci95=_ci(r))
    ordered = [by_key[(i, j)] for i in range(len(paths)) for j in range(len(betas))]
    seconds = max(d.outcome.seconds for d in done)
    summary = SandboxOutcome("ok", "", {"results": [r.to_json() for r in ordered]}, seconds)
    return summary, ordered


@dataclass(frozen=True)
class _Group:
    """One sandbox's share of an :func:`evaluate_sandboxed` grid."""

    cand: Candidate
    paths: tuple[str, ...]
    betas: tuple[float | None, ...]
    settings: EvalSettings
    params: dict[str, Any] | None
    strict: bool
    label: str | None
    limits: Limits
    progress: Callable[[int], None] | None


def _sweep_group(files: Any, g: _Group) -> SweepOutcome:
    return sweep_candidate(
        g.cand,
        [files.local(p) for p in g.paths],
        list(g.betas),
        settings=g.settings,
        params=g.params,
        strict=g.strict,
        label=g.label,
        limits=g.limits,
        progress=g.progress,
    )


def _ci(r: EvalResult) -> tuple[float, float]:
    return bootstrap_ci(r.per_question_accuracy) if r.per_question_accuracy else r.accuracy_ci95


def strict_mismatch(fast: Sequence[EvalResult], strict: Sequence[EvalResult]) -> str | None:
    """Why the strict results are not the fast ones (one line), or None if they agree."""
    for f, s in zip(fast, strict, strict=True):
        same = (
            f.per_question_accuracy == s.per_question_accuracy
            and f.avg_total_tokens == s.avg_total_tokens
            and f.avg_sequential_tokens == s.avg_sequential_tokens
        )
        if not same:
            beta = "" if f.beta is None else f" beta {f.beta:g}"
            return (
                f"{f.env}{beta}: fast mode {f.accuracy:.2f}% at {f.avg_total_tokens:,.0f} tokens, "
                f"strict mode {s.accuracy:.2f}% at {s.avg_total_tokens:,.0f}: its results "
                "depend on chain data it had not revealed"
            )
    return None


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
