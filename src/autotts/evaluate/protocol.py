"""Replicate chain orders.

``official``: replicate r shuffles every question's chains with ``random.Random(r).shuffle`` —
the original evaluator's protocol, which ``replay/reference.csv`` was produced with.
``subsample``: seeded permutations drawn independently per question (from ``seed`` and the
question's index). Both depend only on the protocol, never on the controller, so every
controller sees the same orders (common random numbers: comparisons are paired).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

PROTOCOLS = ("official", "subsample")
MAX_REPLICATES = 100_000  # chain orders per question; the papers use 100


@cache
def _official(n_chains: int, replicates: int) -> tuple[tuple[int, ...], ...]:
    orders = []
    for r in range(replicates):
        order = list(range(n_chains))
        random.Random(r).shuffle(order)
        orders.append(tuple(order))
    return tuple(orders)


@cache
def _subsample(
    n_chains: int, replicates: int, seed: int, question: int
) -> tuple[tuple[int, ...], ...]:
    rng = random.Random(seed * 1_000_003 + question)
    orders = []
    order = list(range(n_chains))
    for _ in range(replicates):
        rng.shuffle(order)
        orders.append(tuple(order))
    return tuple(orders)


@dataclass(frozen=True)
class Protocol:
    name: str = "official"
    replicates: int = 100
    seed: int = 0

    def __post_init__(self) -> None:
        if self.name not in PROTOCOLS:
            raise ValueError(f"unknown protocol {self.name!r} (choose from {', '.join(PROTOCOLS)})")
        if isinstance(self.replicates, bool) or not isinstance(self.replicates, int):
            raise ValueError(f"replicates must be an integer, got {self.replicates!r}")
        if not 1 <= self.replicates <= MAX_REPLICATES:
            raise ValueError(
                f"replicates must be between 1 and {MAX_REPLICATES:,}, got {self.replicates:,}"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")

    def orders(self, question: int, n_chains: int) -> tuple[tuple[int, ...], ...]:
        """The chain order of each replicate for one question."""
        if self.name == "official":
            return _official(n_chains, self.replicates)
        return _subsample(n_chains, self.replicates, self.seed, question)
