"""Cheap evaluation of a genome's rendered code, and the fitness the search ranks it by.

The cheap evaluation runs in the sandbox like any candidate (``CheapSettings.sweep``): a few
betas and a few replicates on every search environment, under the same chain orders for every
genome (common random numbers, so comparisons between genomes are paired).


Fitness (accuracy points; higher is better), per search environment then combined:

* ``vs_cmc`` — the matched-token advantage over CMC at CMC's own beta points: the genome's
  accuracy interpolated (linear in log tokens) at each CMC point's token count minus CMC's
  accuracy; a CMC point outside the genome's token range counts as -3 (cover CMC's range);
* ``vs_frontier`` — the loop's score: the mean over the genome's points of its advantage over
  the baselines' joint frontier (SC over k, ASC, ESC, Parallel-Probe, CMC);
* ``peak`` — accuracy at beta 1 minus CMC's at beta 1, counted only when negative.

``fitness = mean(0.7 vs_cmc + 0.3 vs_frontier) - 0.5 std(vs_cmc) + mean(peak)
- 0.02 complexity``, minus 5 for a sweep that breaks the beta contract (tokens not monotone in
beta, or spanning less than 1.5x). The spread term makes a genome that wins on one model and
loses on the others rank below a steady one.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...evaluate import envelope, interpolate, matched_advantage
from ..contract import contract_problems

Point = tuple[float, float]


@dataclass(frozen=True)
class EnvPoints:
    """One environment's cheap sweep: (beta, tokens, sequential tokens, accuracy) rows."""

    rows: tuple[tuple[float, float, float, float], ...]

    @property
    def points(self) -> list[Point]:
        return sorted((t, a) for _, t, _, a in self.rows)


def vs_points(curve: Sequence[Point], reference: Sequence[Point], outside: float = -3.0) -> float:
    """Mean over the reference's points of (curve interpolated at its tokens − its accuracy);
    a reference point outside the curve's range counts as ``outside``."""
    ordered = sorted(curve)
    diffs = []
    for t, a in reference:
        c = interpolate(ordered, t)
        diffs.append(outside if c is None else c - a)
    return sum(diffs) / len(diffs) if diffs else outside


@dataclass(frozen=True)
class Fitness:
    value: float
    vs_cmc: float
    vs_frontier: float
    peak_gap: float
    contract_ok: bool  # tokens monotone in beta and spanning at least 1.5x
    width: float  # mean chains' worth of tokens at beta 1: tokens / sequential tokens
    depth: float  # mean sequential tokens at beta 1, in intervals

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def fitness(
    sweep: Sequence[EnvPoints],
    cmc: Sequence[EnvPoints],
    frontiers: Sequence[Sequence[Point]],
    complexity: int,
    interval: int = 500,
) -> Fitness:
    """The fitness of a genome's cheap sweep (one :class:`EnvPoints` per search environment,
    in the same order as CMC's sweeps and the baselines' frontiers)."""
    vc, vf, peak = [], [], []
    for mine, ref, front in zip(sweep, cmc, frontiers, strict=True):
        vc.append(vs_points(mine.points, ref.points))
        adv = matched_advantage(mine.points, envelope(front))
        vf.append(-1.0 if adv is None else adv)
        top = max(mine.rows)  # the row at the highest beta
        peak.append(min(0.0, top[3] - max(ref.rows)[3]))
    problems = contract_problems(
        {str(i): [(b, t) for b, t, _, _ in env.rows] for i, env in enumerate(sweep)}
    )
    spread = statistics.pstdev(vc) if len(vc) > 1 else 0.0
    value = (
        statistics.fmean(0.7 * c + 0.3 * f for c, f in zip(vc, vf, strict=True))
        - 0.5 * spread
        + statistics.fmean(peak)
        - 0.02 * complexity
        - (5.0 if problems else 0.0)
    )
    tops = [max(env.rows) for env in sweep]
    return Fitness(
        round(value, 4),
        round(statistics.fmean(vc), 4),
        round(statistics.fmean(vf), 4),
        round(statistics.fmean(peak), 4),
        not problems,
        round(statistics.fmean(t / max(s, 1.0) for _, t, s, _ in tops), 3),
        round(statistics.fmean(s / interval for _, _, s, _ in tops), 2),
    )


def rows_of(results: Sequence[Mapping[str, Any]]) -> EnvPoints:
    """EnvPoints from evaluator results (``EvalResult.to_json()`` dicts) of one environment."""
    return EnvPoints(
        tuple(
            (
                float(r["beta"] if r["beta"] is not None else 0.0),
                float(r["avg_total_tokens"]),
                float(r["avg_sequential_tokens"]),
                float(r["accuracy"]),
            )
            for r in results
        )
    )
