"""The fitness the evolve search ranks genomes by, on one fold of the search split.

Every genome is scored at full fidelity — the run's betas and replicates (the official
protocol: 11 betas, 100 replicates), every question of the fold, the same chain orders for
every genome and baseline (common random numbers, so comparisons are paired). Per search
environment, in accuracy points:

* ``vs_frontier`` — the matched-token advantage (:func:`autotts.evaluate.matched_advantage`)
  over the joint frontier (:func:`autotts.evaluate.joint_frontier`) of every baseline (SC
  over k, ASC over its threshold, ESC over its window, Parallel-Probe, CMC over the betas), in
  total tokens; a frontier point outside the
  genome's token range counts :data:`OUTSIDE` (the knob must cover the baselines' range);
* ``vs_cmc`` — the same against CMC's own sweep;
* ``reach`` — ``log2(1 / r)``, ``r`` the matched-accuracy token ratio
  (:func:`autotts.evaluate.matched_accuracy`) against SC@64's point: 1 when the genome reaches
  SC@64's accuracy with half its tokens, 2.32 with a fifth; -1 when it never does;
* ``seq_excess`` — the mean over betas of ``max(0, log2(sequential / CMC's sequential))``:
  winning tokens by serializing (fewer, longer chains) is paid for;
* ``knob`` — the beta contract's steps (:func:`knob_excess`): every step up in beta must spend
  strictly more tokens and at most 2x more.

``value = mean(0.5 vs_frontier + 0.5 vs_cmc + 0.5 reach - 2 seq_excess - knob)
- 0.5 std(vs_cmc) - 0.01 complexity``, minus 3 more when the sweep breaks the contract on any
environment. The spread term ranks a genome that wins on one model and loses on the others
below a steady one.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from ...evaluate import joint_frontier, matched_accuracy, matched_advantage
from ..contract import MAX_STEP, contract_problems
from .tables import Row, Table, breeding_questions, validation_questions

Point = tuple[float, float]
OUTSIDE = -3.0  # a reference point the genome's sweep does not reach, in accuracy points
SC_REFERENCE = "k=64"  # the SC point the matched-accuracy term measures against


def knob_excess(tokens: Sequence[float]) -> float:
    """How far a sweep's tokens (in beta order) are from a usable knob: per step between
    neighbouring betas, 1 when it does not rise strictly, plus ``log2`` of how far it rises
    beyond :data:`~autotts.discover.contract.MAX_STEP` times."""
    out = 0.0
    for t0, t1 in itertools.pairwise(tokens):
        if t1 <= t0:
            out += 1.0
        elif t0 > 0 and t1 > MAX_STEP * t0:
            out += math.log2(t1 / (MAX_STEP * t0))
    return out


def covered_advantage(curve: Sequence[Point], reference: Sequence[Point]) -> float:
    """:func:`matched_advantage` over the reference points within the curve's token range,
    with every reference point outside it counted as :data:`OUTSIDE`."""
    if not reference:
        return 0.0
    if not curve:
        return OUTSIDE
    lo, hi = min(t for t, _ in curve), max(t for t, _ in curve)
    inside = [p for p in reference if lo * (1 - 1e-9) <= p[0] <= hi * (1 + 1e-9)]
    adv = matched_advantage(curve, inside) if inside else None
    n_in = len(inside) if adv is not None else 0
    return ((adv or 0.0) * n_in + OUTSIDE * (len(reference) - n_in)) / len(reference)


@dataclass(frozen=True)
class EnvReference:
    """The baselines on one environment, as tables (``name -> [(point label, table)]``)."""

    baselines: Mapping[str, Sequence[tuple[str, Table]]]

    def fold(self, questions: Sequence[int]) -> FoldReference:
        curves: dict[str, list[Point]] = {}
        cmc: list[Row] = []
        sc: Point | None = None
        for name, tables in self.baselines.items():
            for label, table in tables:
                rows = table.rows(questions)
                curves.setdefault(name, []).extend((t, a) for _, t, _, a in rows)
                if name == "cmc":
                    cmc += rows
                if name == "sc" and label == SC_REFERENCE:
                    sc = (rows[0][1], rows[0][3])
        return FoldReference(joint_frontier(curves.values()), sorted(cmc), sc)


@dataclass(frozen=True)
class FoldReference:
    frontier: list[Point]
    cmc: list[Row]  # CMC's rows at the run's betas, in beta order
    sc: Point | None  # SC@64's point


@dataclass(frozen=True)
class Fitness:
    value: float  # on the breeding fold: what breeding optimizes
    validation: float  # the same on the validation fold: what promotion and selection use
    vs_frontier: float  # breeding fold, mean over environments
    vs_cmc: float
    saved: float  # tokens saved vs SC@64 at its accuracy (fraction; breeding fold)
    seq_excess: float
    contract_ok: bool  # the knob holds on every environment, on both folds
    width: float  # mean chains' worth of tokens at beta 1: tokens / sequential tokens
    depth: float  # mean sequential tokens at beta 1, in intervals

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Fitness | None:
        """The fitness in a state file, or None for one written by an older search."""
        names = {f.name for f in fields(cls)}
        if set(d) != names:
            return None
        return cls(**d)


@dataclass(frozen=True)
class FoldScore:
    value: float
    vs_frontier: float
    vs_cmc: float
    saved: float
    seq_excess: float
    contract_ok: bool


def fold_score(
    tables: Sequence[Table],
    refs: Sequence[FoldReference],
    folds: Sequence[Sequence[int]],
    complexity: int,
) -> FoldScore:
    """The fitness terms of a genome's tables (one per search environment) on one fold."""
    vf, vc, value, saved, seq = [], [], [], [], []
    sweeps: dict[str, list[tuple[float, float]]] = {}
    for i, (table, ref, questions) in enumerate(zip(tables, refs, folds, strict=True)):
        rows = table.rows(questions)
        curve = [(t, a) for _, t, _, a in rows]
        sweeps[str(i)] = [(b, t) for b, t, _, _ in rows]
        f = covered_advantage(curve, ref.frontier)
        c = covered_advantage(curve, [(t, a) for _, t, _, a in ref.cmc])
        ratio = matched_accuracy(curve, [ref.sc]) if ref.sc is not None else None
        reach = -1.0 if not ratio else min(3.0, max(-1.0, math.log2(1 / ratio)))
        excess = statistics.fmean(
            max(0.0, math.log2(max(s, 1.0) / max(cs, 1.0)))
            for (_, _, s, _), (_, _, cs, _) in zip(rows, ref.cmc, strict=True)
        )
        knob = knob_excess([t for _, t, _, _ in rows])
        vf.append(f)
        vc.append(c)
        saved.append(1 - ratio if ratio else 0.0)
        seq.append(excess)
        value.append(0.5 * f + 0.5 * c + 0.5 * reach - 2 * excess - knob)
    ok = not contract_problems(sweeps)
    spread = statistics.pstdev(vc) if len(vc) > 1 else 0.0
    total = statistics.fmean(value) - 0.5 * spread - 0.01 * complexity - (0.0 if ok else 3.0)
    return FoldScore(
        round(total, 4),
        round(statistics.fmean(vf), 4),
        round(statistics.fmean(vc), 4),
        round(statistics.fmean(saved), 4),
        round(statistics.fmean(seq), 4),
        ok,
    )


@dataclass(frozen=True)
class SearchReference:
    """The baselines on both folds of every search environment (computed once per run)."""

    breed_questions: list[tuple[int, ...]]
    held_questions: list[tuple[int, ...]]
    breed: list[FoldReference]
    held: list[FoldReference]

    @classmethod
    def of(cls, envs: Sequence[EnvReference], n_questions: Sequence[int]) -> SearchReference:
        bq = [breeding_questions(n) for n in n_questions]
        hq = [validation_questions(n) for n in n_questions]
        return cls(
            bq,
            hq,
            [e.fold(q) for e, q in zip(envs, bq, strict=True)],
            [e.fold(q) for e, q in zip(envs, hq, strict=True)],
        )


def fitness(
    tables: Sequence[Table], ref: SearchReference, complexity: int, interval: int = 500
) -> Fitness:
    """A genome's fitness from its full-fidelity tables (one per search environment, in the
    order of ``ref``'s): breeding-fold terms, the validation-fold value, and the shape at beta
    1 (for the archive's cells)."""
    b = fold_score(tables, ref.breed, ref.breed_questions, complexity)
    v = fold_score(tables, ref.held, ref.held_questions, complexity)
    tops = [t.rows()[-1] for t in tables]
    return Fitness(
        b.value,
        v.value,
        b.vs_frontier,
        b.vs_cmc,
        b.saved,
        b.seq_excess,
        b.contract_ok and v.contract_ok,
        round(statistics.fmean(t / max(s, 1.0) for _, t, s, _ in tops), 3),
        round(statistics.fmean(s / interval for _, _, s, _ in tops), 2),
    )
