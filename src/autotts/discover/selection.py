"""Honest selection: is the selected candidate really ahead of the baselines?

On the search split the selection's score is its matched-token advantage over the baselines'
joint frontier (:func:`autotts.evaluate.joint_frontier` of every baseline, per environment; see
:func:`.digest.score`). :func:`paired_advantage` gives it a paired bootstrap interval over
questions: each draw resamples an environment's question indices once and recomputes every
point's accuracy — the selection's and every baseline's — from their per-question accuracies,
so both sides see the same questions (tokens stay at their measured averages, as in
:mod:`autotts.evaluate.compare`). The selection beats the baselines only if that interval lies
above 0 and it is not one of the evolve proposer's seed genomes unchanged (those are the
baselines, re-expressed).

The *best baseline* of a split is the baseline sweep whose matched-token advantage over the
joint frontier of the *other* baselines is highest (mean over the environments; where a
one-point baseline has no point inside the others' range, the others' curve is compared at it
instead: minus the others' advantage over it, :func:`_gap`). When no baseline can be
compared that way, it is the one nearest the joint frontier's top: the one that most often
reaches an environment's best accuracy with the fewest tokens.

On the held-out split the selection is flagged below every baseline whose curve lies above it
at matched tokens (its mean held-out advantage over that baseline is negative).
"""

from __future__ import annotations

import ast
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from ..evaluate import Point, joint_frontier, matched_advantage
from .digest import Sweep, points

RESAMPLES = 1000
SEED_NAMES = (  # the order of evolve's seed_genomes()
    "cmc",
    "sc",
    "parallel_probe",
    "asc",
    "cmc with a length-weighted vote",
    "sc with a length-weighted vote",
)


def _placed(records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The records that can be placed on a log-token axis: a point that spent no tokens (a
    baseline on a degenerate environment) has no place there."""
    return [r for r in records if r["result"]["avg_total_tokens"] > 0]


def _frontier_curves(baselines: Mapping[str, Sweep], env: str) -> list[list[Point]]:
    return [points(_placed(sweep.get(env, ()))) for sweep in baselines.values()]


def _per_question(records: Sequence[Mapping[str, Any]]) -> list[list[float]] | None:
    rows = [list(r["result"].get("per_question_accuracy") or ()) for r in records]
    if not rows or not rows[0] or any(len(r) != len(rows[0]) for r in rows):
        return None
    return rows


def _env_draws(
    cand: Sequence[Mapping[str, Any]],
    base: Sequence[Mapping[str, Any]],
    groups: Sequence[int],
    resamples: int,
    seed: int,
    index: int,
) -> list[float] | None:
    """The advantage on one environment under ``resamples`` paired draws of its questions
    (NaN where a draw leaves it undefined); None without per-question accuracies."""
    import numpy as np

    pc, pb = _per_question(cand), _per_question(base)
    if pc is None or pb is None or len(pc[0]) != len(pb[0]):
        return None
    n = len(pc[0])
    rng = np.random.default_rng([seed % 2**64, index])
    weights = np.zeros((resamples, n))  # draw k: how often each question was drawn, over n
    np.add.at(weights, (np.arange(resamples)[:, None], rng.integers(0, n, (resamples, n))), 1 / n)
    acc_c = 100 * np.array(pc) @ weights.T  # (points, resamples)
    acc_b = 100 * np.array(pb) @ weights.T
    tc = [r["result"]["avg_total_tokens"] for r in cand]
    tb = [r["result"]["avg_total_tokens"] for r in base]
    out = []
    for k in range(resamples):
        curves: dict[int, list[Point]] = {}
        for g, t, a in zip(groups, tb, acc_b[:, k].tolist(), strict=True):
            curves.setdefault(g, []).append((t, a))
        value = matched_advantage(
            list(zip(tc, acc_c[:, k].tolist(), strict=True)), joint_frontier(curves.values())
        )
        out.append(math.nan if value is None else value)
    return out


def paired_advantage(
    selected: Sweep,
    baselines: Mapping[str, Sweep],
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> dict[str, Any]:
    """The selection's matched-token advantage over the baselines' joint frontier on each
    environment and their mean (the search score), with a paired bootstrap 95 % interval of
    the mean: ``{"value", "ci95", "per_env", "resamples", "seed"}``. Draws are seeded by
    (``seed``, environment index); ``ci95`` is None when the records hold no per-question
    accuracies or the advantage is undefined."""
    import numpy as np

    per_env: dict[str, float | None] = {}
    draws = []
    for i, (env, all_records) in enumerate(sorted(selected.items())):
        records = _placed(all_records)
        placed = [_placed(sweep.get(env, ())) for sweep in baselines.values()]
        base = [r for recs in placed for r in recs]
        groups = [g for g, recs in enumerate(placed) for _ in recs]
        adv = matched_advantage(points(records), joint_frontier(_frontier_curves(baselines, env)))
        per_env[env] = None if adv is None else round(adv, 3)
        if adv is not None:
            draws.append(_env_draws(records, base, groups, resamples, seed, i))
    defined = [v for v in per_env.values() if v is not None]
    value = round(sum(defined) / len(defined), 3) if defined else None
    ci = None
    if draws and all(d is not None for d in draws):
        with warnings.catch_warnings():  # a draw undefined on every environment: NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(np.array(draws, dtype=float), axis=0)
        mean = mean[~np.isnan(mean)]
        if mean.size:
            lo, hi = np.percentile(mean, [2.5, 97.5])
            ci = [round(float(lo), 3), round(float(hi), 3)]
    return {"value": value, "ci95": ci, "per_env": per_env, "resamples": resamples, "seed": seed}


def _gap(mine: Sequence[Point], frontier: Sequence[Point]) -> float | None:
    """``mine``'s matched-token advantage over ``frontier``; where none of the frontier's
    points lies within ``mine``'s range (a one-point sweep), minus the frontier's advantage at
    ``mine``'s points."""
    gap = matched_advantage(mine, frontier)
    if gap is None:
        mirror = matched_advantage(frontier, mine)
        gap = None if mirror is None else -mirror
    return gap


def best_baseline(baselines: Mapping[str, Sweep]) -> tuple[str, float | None] | None:
    """(name, advantage): the baseline whose matched-token advantage over the joint frontier
    of the other baselines is highest (mean over environments, accuracy points; ties go to
    the first name in sorted order). When no baseline can be compared with the others that
    way (every frontier a single point: all equally accurate, say), the one that most often
    reaches its environment's best accuracy with the fewest tokens, with advantage None.
    None without baselines."""
    best: tuple[str, float | None] | None = None
    for name in sorted(baselines):
        others = {n: s for n, s in baselines.items() if n != name}
        gaps = []
        for env, records in sorted(baselines[name].items()):
            mine = points(_placed(records))
            gap = _gap(mine, joint_frontier(_frontier_curves(others, env)))
            if gap is not None:
                gaps.append(gap)
        if gaps:
            adv = round(sum(gaps) / len(gaps), 3)
            if best is None or adv > (best[1] or 0.0):
                best = (name, adv)
    return best if best is not None else _top_owner(baselines)


def _top_owner(baselines: Mapping[str, Sweep]) -> tuple[str, None] | None:
    wins: dict[str, int] = {}
    envs = sorted({env for sweep in baselines.values() for env in sweep})
    for env in envs:
        owned = [
            (-a, t, name)
            for name, sweep in baselines.items()
            for t, a in points(_placed(sweep.get(env, ())))
        ]
        if owned:
            name = min(owned)[2]
            wins[name] = wins.get(name, 0) + 1
    if not wins:
        return None
    return min(wins, key=lambda n: (-wins[n], n)), None


def seed_baseline(code: str) -> str | None:
    """The baseline whose evolve seed genome ``code`` renders unchanged (``"cmc"`` for the
    CMC seed), read from the ``GENOME`` literal in the code; None for anything else."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    from .evolve.genome import Genome, seed_genomes
    from .evolve.interpret import genome_node

    literal = genome_node(tree)
    if literal is None:
        return None

    try:
        key = Genome.from_json(ast.literal_eval(literal)).key()
    except (ValueError, TypeError, KeyError, SyntaxError):
        return None
    for i, g in enumerate(seed_genomes()):
        if g.key() == key:
            return SEED_NAMES[i] if i < len(SEED_NAMES) else f"seed {i}"
    return None


def heldout_below(advantage: Mapping[str, Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Every baseline the selection is below at matched tokens on the held-out split (a
    negative mean advantage), most behind first: ``[{"baseline", "by", "per_env"}]`` with
    ``by`` in accuracy points (positive)."""
    out = []
    for name, per_env in (advantage or {}).items():
        mean = per_env.get("mean")
        if mean is not None and mean < 0:
            envs = {e: v for e, v in per_env.items() if e != "mean"}
            out.append({"baseline": name, "by": round(-mean, 3), "per_env": envs})
    out.sort(key=lambda d: (-d["by"], d["baseline"]))
    return out


def search_verdict(
    code: str | None,
    search_selected: Sweep | None,
    search_baselines: Mapping[str, Sweep],
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> dict[str, Any]:
    """summary.json's plain fields on the search split: ``beats_baselines``,
    ``best_baseline`` and its ``best_baseline_advantage``, ``selection_is_seed`` (the baseline
    whose seed genome the selection is, unchanged, or None) and ``search_advantage``
    (:func:`paired_advantage`; None when nothing was selected)."""
    best = best_baseline(search_baselines)
    adv = None
    is_seed = None
    if code is not None and search_selected is not None:
        adv = paired_advantage(search_selected, search_baselines, resamples=resamples, seed=seed)
        is_seed = seed_baseline(code)
    ci = adv["ci95"] if adv else None
    return {
        "beats_baselines": bool(is_seed is None and ci is not None and ci[0] > 0),
        "best_baseline": best[0] if best else None,
        "best_baseline_advantage": best[1] if best else None,
        "selection_is_seed": is_seed,
        "search_advantage": adv,
    }
