"""Measuring a controller for discovery: its beta sweep plus what its episodes did.

:func:`measure` returns, per (environment, beta), the evaluator's result and *trace statistics*
from replaying the first few replicates with their action logs: how wide and deep it went,
probes, prunes (and how often a pruned chain would have been right), why episodes stopped, and
one compact action string per question. Baselines are measured in this process; candidates in
the sandbox through :func:`measure_candidate`, so their code never runs here, and their
figures and traces come from the episodes the trusted side verified.

Compact action strings read left to right: ``+3`` opened chain 3 (first interval), ``3:42``
advanced chain 3 one interval and probed it (answer 42), ``>3`` advanced without probing,
``?3:42`` probed without advancing, ``r3:42`` read chain 3 whole (final answer 42), ``x3``
pruned chain 3; ``a*4`` repeats an item 4 times; a ``!`` after an answer
marks a finished chain.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..controllers import ControllerSpec, make_solver
from ..data import Environment, apply_matching
from ..env import Action
from ..evaluate import Episode, EvalResult, EvalSettings, evaluate, new_session, play

TRACE_REPLICATES = 4
MAX_ACTION_STRING = 240


@dataclass(frozen=True)
class MeasureSettings(EvalSettings):
    """The evaluation settings plus how many replicates are replayed for trace statistics."""

    trace_replicates: int = TRACE_REPLICATES

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.trace_replicates, bool) or not isinstance(self.trace_replicates, int):
            raise ValueError(f"trace_replicates must be an integer, got {self.trace_replicates!r}")
        if self.trace_replicates < 0:
            raise ValueError(f"trace_replicates must be >= 0, got {self.trace_replicates}")

    @property
    def eval_settings(self) -> EvalSettings:
        return EvalSettings(self.protocol, self.match, self.kappa_probe, self.budget)

    def to_json(self) -> dict[str, Any]:
        """The sandbox payload's form: ``protocol`` as a dict (name, replicates, seed)."""
        p = self.protocol
        return {
            "protocol": {"name": p.name, "replicates": p.replicates, "seed": p.seed},
            "match": self.match,
            "kappa_probe": self.kappa_probe,
            "budget": self.budget,
            "trace_replicates": self.trace_replicates,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> MeasureSettings:
        e = EvalSettings.from_json(d)
        trace = d.get("trace_replicates", TRACE_REPLICATES)
        return cls(e.protocol, e.match, e.kappa_probe, e.budget, trace)


def _compact(items: list[str]) -> str:
    """Run-length encode and cap an episode's action items."""
    out: list[str] = []
    for item in items:
        if out and (out[-1] == item or out[-1].startswith(item + "*")):
            head, _, n = out[-1].partition("*")
            out[-1] = f"{head}*{int(n or 1) + 1}"
        else:
            out.append(item)
    text = " ".join(out)
    if len(text) > MAX_ACTION_STRING:
        cut = text[: MAX_ACTION_STRING - 20].rsplit(" ", 1)[0]
        text = f"{cut} … {out[-1]}"
    return text


def episode_summary(
    trace: Sequence[Action],
    order: Sequence[int],
    probes: Sequence[Sequence[str]],
    finals: Sequence[str],
    gold: str,
) -> dict[str, Any]:
    """Replays an action log against the chains it used: the compact action string, and which
    opened chains ended pruned, finished or still running."""
    pos: list[int] = []
    state: list[str] = []  # running | finished | pruned
    seen: list[str | None] = []
    items: list[str] = []

    def answer_of(i: int) -> str:
        j = order[i]
        return finals[j] if state[i] == "finished" else probes[j][pos[i] - 1]

    for a in trace:
        i = a.chain
        if a.kind == "BRANCH":
            p = probes[order[i]]
            pos.append(1 if p else 0)
            state.append("running" if p else "finished")
            seen.append(None)
            items.append(f"+{i}")
        elif a.kind == "READ":
            pos.append(len(probes[order[i]]))
            state.append("finished")
            seen.append(finals[order[i]])
            items.append(f"r{i}:{finals[order[i]]}")
        elif a.kind == "CONTINUE":
            if pos[i] < len(probes[order[i]]):
                pos[i] += 1
            else:
                state[i] = "finished"
            items.append(f">{i}")
        elif a.kind == "PROBE":
            revealed = answer_of(i)
            seen[i] = revealed
            ans = revealed + ("!" if state[i] == "finished" else "")
            if items and items[-1] == f">{i}":
                items[-1] = f"{i}:{ans}"
            else:
                items.append(f"?{i}:{ans}")
        elif a.kind == "PRUNE":
            state[i] = "pruned"
            items.append(f"x{i}")
        elif a.kind == "ANSWER":
            pass
    pruned_right = sum(1 for i, s in enumerate(state) if s == "pruned" and finals[order[i]] == gold)
    return {
        "actions": _compact(items),
        "states": state,
        "last_seen": seen,
        "width": len(state),
        "pruned": state.count("pruned"),
        "pruned_right": pruned_right,
        "live_at_stop": state.count("running"),
        "probes": sum(1 for a in trace if a.kind == "PROBE"),
    }


def trace_stats(
    env: Environment, spec: ControllerSpec, settings: MeasureSettings
) -> dict[str, Any]:
    """Statistics over the first ``trace_replicates`` replicates of every question, played in
    this process (trusted controllers only). ``env`` must already be matched."""
    rs = settings.eval_settings
    n = min(settings.trace_replicates, settings.protocol.replicates)
    played = []
    for qi, q in enumerate(env.questions):
        orders = settings.protocol.orders(qi, q.n_chains)
        for r in range(n):
            s = new_session(env, qi, orders[r], rs)
            answer, error, truncated = play(s, make_solver(spec))
            played.append(Episode(qi, r, answer, q.gold, error, truncated, s))
    return stats_of(env, settings, played)


def stats_of(
    env: Environment, settings: MeasureSettings, played: Sequence[Episode]
) -> dict[str, Any]:
    """Statistics over played episodes (``question``, ``replicate``, ``answer``, ``error``,
    ``truncated``, ``session``; the sandbox's verified ones or this process's), and one compact
    action string per question (its first replicate). ``env`` must already be matched."""
    n = min(settings.trace_replicates, settings.protocol.replicates)
    totals = dict.fromkeys(
        (
            "episodes",
            "width",
            "pruned",
            "pruned_right",
            "live_at_stop",
            "probes",
            "tokens",
            "truncated",
            "errors",
            "early_stops",
        ),
        0.0,
    )
    depth_tokens = 0.0
    by_question: dict[int, list[Any]] = {}
    for p in played:
        by_question.setdefault(p.question, []).append(p)
    questions = []
    for qi, q in enumerate(env.questions):
        orders = settings.protocol.orders(qi, q.n_chains)
        right = 0
        example = ""
        episodes = sorted(by_question.get(qi, []), key=lambda p: p.replicate)[:n]
        for p in episodes:
            s, answer, error = p.session, p.answer, p.error
            info = episode_summary(s.trace(), orders[p.replicate], q.probes, q.finals, q.gold)
            right += error is None and answer == q.gold
            totals["episodes"] += 1
            for k in ("width", "pruned", "pruned_right", "live_at_stop", "probes"):
                totals[k] += info[k]
            totals["tokens"] += s.tokens
            totals["truncated"] += p.truncated
            totals["errors"] += error is not None
            totals["early_stops"] += info["live_at_stop"] > 0
            depth_tokens += s.tokens / max(1, info["width"])
            if p.replicate == 0:
                mark = "right" if error is None and answer == q.gold else "wrong"
                example = f"{info['actions']}  => {answer if error is None else 'ERROR'} ({mark})"
        questions.append({"gold": q.gold, "right": right, "of": len(episodes), "example": example})
    e = max(1.0, totals["episodes"])
    return {
        "replicates": n,
        "mean_width": round(totals["width"] / e, 3),
        "mean_tokens_per_chain": round(depth_tokens / e, 1),
        "mean_probes": round(totals["probes"] / e, 2),
        "mean_pruned": round(totals["pruned"] / e, 3),
        "pruned_right": int(totals["pruned_right"]),
        "pruned": int(totals["pruned"]),
        "early_stop_rate": round(totals["early_stops"] / e, 3),
        "mean_live_at_stop": round(totals["live_at_stop"] / e, 3),
        "truncated": int(totals["truncated"]),
        "errors": int(totals["errors"]),
        "questions": questions,
    }


def measure(
    envs: Sequence[Environment],
    spec: ControllerSpec,
    betas: Sequence[float | None],
    settings: MeasureSettings,
    progress: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """One record per (environment, beta), env-major: ``{"env": index, "beta", "result",
    "trace"}`` with the evaluator's result as JSON and :func:`trace_stats` (trusted
    controllers, in this process)."""
    results = evaluate(
        envs,
        spec,
        list(betas),
        settings=settings.eval_settings,
        progress=progress,
    )
    out = []
    it = iter(results)
    for ei, env in enumerate(envs):
        matched = apply_matching(env, settings.match)
        for beta in betas:
            r: EvalResult = next(it)
            out.append(
                {
                    "env": ei,
                    "beta": beta,
                    "result": r.to_json(),
                    "trace": trace_stats(matched, spec.with_beta(beta), settings),
                }
            )
    return out


@dataclass(frozen=True)
class Measured:
    """A candidate measured in the sandbox: the outcome, the records (as :func:`measure`'s)
    built from verified episodes, and the one-knob problems (then there are no records)."""

    status: str
    reason: str
    records: list[dict[str, Any]]
    knob_problems: list[str]
    results: list[EvalResult]


def measure_candidate(
    source: str,
    class_name: str,
    env_path: str,
    betas: Sequence[float | None],
    settings: MeasureSettings,
    limits: Any,
    *,
    strict: bool = False,
) -> Measured:
    """Measure candidate code on one environment in the sandbox (fast or strict mode): every
    figure and every trace statistic comes from episodes the trusted side verified."""
    from ..sandbox import Candidate, matched_env, sweep_candidate

    out = sweep_candidate(
        Candidate(source, class_name),
        [env_path],
        list(betas),
        settings=settings.eval_settings,
        strict=strict,
        contract=True,
        keep=settings.trace_replicates,
        limits=limits,
    )
    o = out.outcome
    if not o.ok or out.knob_problems:
        return Measured(o.status, o.reason, [], out.knob_problems, [])
    env = matched_env(env_path, settings.match)
    records = [
        {
            "env": 0,
            "beta": beta,
            "result": r.to_json(),
            "trace": stats_of(env, settings, out.kept.get((0, bj), [])),
        }
        for bj, (beta, r) in enumerate(zip(betas, out.results, strict=True))
    ]
    return Measured("ok", "", records, [], out.results)


@dataclass(frozen=True)
class SandboxUnit:
    """One :func:`measure_candidate` call, as a work unit a pool can run anywhere."""

    source: str
    class_name: str
    env_path: str  # the driver's
    betas: tuple[float | None, ...]
    settings: MeasureSettings
    limits: Any
    strict: bool = False


def measure_unit(files: Any, unit: SandboxUnit) -> Measured:
    """:func:`measure_candidate` on whichever node runs it: ``files.local`` is that node's
    copy of the environment file (:mod:`autotts.cluster.files`); the records name the
    driver's path, as a local run's do."""
    local = files.local(unit.env_path)
    out = measure_candidate(
        unit.source,
        unit.class_name,
        local,
        unit.betas,
        unit.settings,
        unit.limits,
        strict=unit.strict,
    )
    if local == unit.env_path:
        return out
    path = os.path.abspath(unit.env_path)
    records = [{**r, "result": {**r["result"], "env": path}} for r in out.records]
    results = [replace(r, env=path) for r in out.results]
    return Measured(out.status, out.reason, records, out.knob_problems, results)
