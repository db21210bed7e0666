"""Monotone budget holds for random genomes on the synthetic env: every schedule moves in the
direction that spends more as beta grows, so average tokens must not fall with beta (up to
replicate noise: 2 % or 50 tokens). This is what the genome's construction guarantees; the
beta contract asks more of a selected controller (a strict rise, at most 2x per step), which
the search's fitness rewards and the loop checks."""

from __future__ import annotations

import itertools
import json
import random
from typing import Any

import pytest

from autotts.data import synthesize
from autotts.discover.evolve.genome import MECHANISMS, Genome, active_settings, random_genome

from .common import evaluate_in_process

BETAS = [0.0, 0.25, 0.5, 0.75, 1.0]
REPLICATES = 4

# A regression: it once made the budget fall with beta, and was fixed in the renderer.
BURST_FOCUS_PRUNE = (
    "widen_burst with a focus-limited depth and pruning: chains left waiting counted as off the "
    "majority and were pruned unadvanced; now only freshly probed answers count"
)
# random_genome(Random(seed)) whose sweep falls (checked with 16 replicates too: not noise)
KNOWN_FALLS: dict[int, str] = {  # seed -> why its budget may fall
    9: "sparse probes with off-majority pruning (options older than this test's seeds): probing "
    "every step instead of every 2 at beta 1 counts `patience` in more probes, so chains are "
    "pruned sooner and the budget falls (with probe_every held constant it rises)",
}


@pytest.fixture(scope="module")
def env():
    return synthesize(n_questions=12, n_chains=32, seed=3, model="Mono")


def falls(g: Genome, env) -> tuple[list[str], list[float]]:
    """Where ``g``'s sweep falls from one beta to the next by more than replicate noise, and
    the tokens."""
    results = evaluate_in_process(g, [env], BETAS, REPLICATES)
    assert all(r.errors == 0 for r in results), [r.error_examples for r in results]
    tokens = [r.avg_total_tokens for r in results]
    problems = [
        f"tokens fall from {t0:.0f} at beta {b0:g} to {t1:.0f} at beta {b1:g}"
        for (b0, t0), (b1, t1) in itertools.pairwise(zip(BETAS, tokens, strict=True))
        if t1 < t0 - max(0.02 * t0, 50.0)
    ]
    return problems, tokens


def _seed_param(seed: int):
    if seed in KNOWN_FALLS:
        return pytest.param(
            seed, marks=pytest.mark.xfail(strict=True, reason=KNOWN_FALLS[seed]), id=str(seed)
        )
    return pytest.param(seed, id=str(seed))


@pytest.mark.parametrize("seed", [_seed_param(s) for s in range(30)])
def test_monotone_budget_holds_for_random_genomes(seed: int, env) -> None:
    g = random_genome(random.Random(seed))
    problems, tokens = falls(g, env)
    assert not problems, f"{problems} tokens={tokens} genome={json.dumps(g.to_json())}"


def _plain(**choices: str) -> dict[str, str]:
    """The simplest option of every mechanism, with ``choices``."""
    return {**{m: opts[0] for m, opts in MECHANISMS.items()}, **choices}


def _genome(choices: dict[str, str], genes: dict[str, Any]) -> Genome:
    return Genome(choices, {n: tuple(genes[n]) for n in active_settings(choices)})


# Minimal genomes: every schedule constant but one, which moves in its "spends more" direction
# (the third item says what used to go wrong).
COUNTEREXAMPLES = {
    "widen-burst-focus-prune": (
        _plain(widen="plateau", depth="shallowest", prune="off_majority", stop="conf"),
        {
            "n_init": (3, 3, 1),
            "max_chains": (27, 27, 1),
            "warm_up": (10, 10, 1),
            "max_steps": (132, 132, 1),
            "plateau_steps": (3, 3, 1),
            "conf_threshold": (0.7347, 0.7347, 1),
            "min_complete": (5, 5, 1),
            "focus": (2, 2, 1),
            "patience": (4, 4, 1),
            "widen_burst": (1, 4, 1),  # the only moving schedule: 1 -> 4 chains per widening
        },
        BURST_FOCUS_PRUNE,
    ),
}


@pytest.mark.parametrize(
    "case",
    [pytest.param(k, id=k) for k in COUNTEREXAMPLES],
)
def test_monotone_budget_holds_when_one_schedule_moves(case: str, env) -> None:
    choices, genes, _ = COUNTEREXAMPLES[case]
    g = _genome(choices, genes)
    problems, tokens = falls(g, env)
    assert not problems, f"{problems} tokens={tokens} genome={json.dumps(g.to_json())}"
