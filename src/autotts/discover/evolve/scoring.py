"""Scoring genomes at full fidelity with the trusted interpreter (:mod:`.fast`).

A genome is data and the interpreter is the project's own code, proven identical to the
genome's rendered controller on every episode (tests/discover/evolve/test_fast_identity.py), so
it runs in this process — or in forked workers, which inherit the encoded environments and the
compiled kernel — with no sandbox. The rendered code is what the discovery loop measures, and
what reports and users read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...data import Environment
from ...evaluate import Protocol
from ...procs import Workers, run_map
from .genome import Genome
from .tables import Table


@dataclass(frozen=True)
class FitnessSettings:
    """The protocol genomes are scored under: the discovery run's own (its betas, replicates,
    chain orders, matching, probe cost and per-episode budget)."""

    betas: tuple[float, ...] = tuple(i / 10 for i in range(11))
    replicates: int = 100
    protocol: str = "official"
    seed: int = 0
    match: str = "exact"
    kappa_probe: float = 0.0
    budget: float | None = None

    @property
    def chain_orders(self) -> Protocol:
        return Protocol(self.protocol, self.replicates, self.seed)


def prepare(envs: Sequence[Environment], settings: FitnessSettings) -> list[Any]:
    """The environments encoded for the interpreter, and its kernel compiled (here, so forked
    workers inherit it)."""
    from . import fast

    fenvs = [fast.prepare(env, settings.match) for env in envs]
    fast.warm_up()
    return fenvs


def tables_of(genome: Genome, fenvs: Sequence[Any], s: FitnessSettings) -> list[Table]:
    """The genome's table on every environment (every question, every beta of ``s``)."""
    from . import fast

    out = []
    for fenv in fenvs:
        runs = fast.run_genome(
            genome, fenv, s.betas, s.chain_orders, kappa_probe=s.kappa_probe, budget=s.budget
        )
        ok = runs.correct & ~runs.error
        out.append(
            Table(
                tuple(s.betas),
                ok.mean(axis=2),
                runs.cost.mean(axis=2),
                runs.sequential.astype(np.float64).mean(axis=2),
            )
        )
    return out


def _task(shared: tuple[Sequence[Any], FitnessSettings], genome: Genome) -> list[Table]:
    fenvs, settings = shared
    return tables_of(genome, fenvs, settings)


def score_all(
    genomes: Sequence[Genome],
    fenvs: Sequence[Any],
    settings: FitnessSettings,
    workers: Workers,
    on_done: Callable[[int, list[Table]], None],
) -> None:
    """Tables of every genome, ``workers`` forked processes at a time (or on a cluster: the
    encoded environments travel once per node and the kernel compiles once per worker)."""
    run_map(_task, (fenvs, settings), list(genomes), workers, on_done)
