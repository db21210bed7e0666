"""A synthetic environment built in code, shared by the controller and evaluator tests."""

from __future__ import annotations

import random

from autotts.data import Environment
from tests.builders import Chain, make_env

INTERVAL = 500


def synthetic_env(seed: int, n_questions: int = 12, n_chains: int = 64) -> Environment:
    """Questions of mixed difficulty: a chain is right with the question's rate, otherwise it
    ends at one of three distractors; its probes wander, then lock onto its final answer."""
    rng = random.Random(seed)
    questions = []
    for q in range(n_questions):
        p_right = rng.choice([0.15, 0.35, 0.5, 0.7, 0.9])
        gold, distractors = str(q), [f"{q}w{k}" for k in range(3)]
        chains: list[Chain] = []
        for _ in range(n_chains):
            right = rng.random() < p_right
            final = gold if right else rng.choices(distractors, [5, 3, 1])[0]
            total = int(rng.lognormvariate(8.6 if right else 9.0, 0.5))
            n_probes = max(1, total // INTERVAL + rng.randint(-1, 1))
            lock = int(rng.random() * n_probes)
            probes = [
                final if m >= lock else rng.choice(["ERR", gold, *distractors])
                for m in range(n_probes)
            ]
            chains.append((probes, total, final))
        questions.append((chains, gold))
    return make_env(questions, interval=INTERVAL)
