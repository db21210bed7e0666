"""TEMPORARY stand-in for helper A's interpreter: the rendered code, in process (slow)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ....controllers import ControllerSpec, make_solver
from ....controllers.base import register_as
from ....data import apply_matching
from ....evaluate.runner import new_session, play
from ....evaluate.settings import EvalSettings
from ..render import class_name, render


@dataclass
class Runs:
    correct: Any
    cost: Any
    tokens: Any
    sequential: Any
    truncated: Any
    error: Any
    answer: Any
    questions: Any


def prepare(env, match="exact"):
    return apply_matching(env, match)


def warm_up():
    pass


def run_genome(genome, fenv, betas, protocol, kappa_probe=0.0, budget=None, questions=None):
    ns: dict[str, Any] = {"__name__": "standin"}
    exec(compile(render(genome), "<r>", "exec"), ns)
    name = "standin_" + genome.key()
    register_as(name, ns[class_name(genome)])
    qs = list(range(len(fenv.questions))) if questions is None else list(questions)
    shape = (len(betas), len(qs), protocol.replicates)
    out = Runs(
        *(
            np.zeros(shape, dtype=d)
            for d in (bool, float, np.int64, np.int64, bool, bool, np.int32)
        ),
        qs,
    )
    rs = EvalSettings(protocol, "exact", kappa_probe, budget)
    for bi, b in enumerate(betas):
        spec = ControllerSpec(name, beta=b)
        for k, qi in enumerate(qs):
            q = fenv.questions[qi]
            for r, order in enumerate(protocol.orders(qi, q.n_chains)):
                s = new_session(fenv, qi, order, rs)
                ans, err, trunc = play(s, make_solver(spec))
                out.correct[bi, k, r] = err is None and ans == q.gold
                out.cost[bi, k, r] = s.cost
                out.tokens[bi, k, r] = s.tokens
                out.sequential[bi, k, r] = s.sequential_tokens
                out.truncated[bi, k, r] = trunc
                out.error[bi, k, r] = err is not None
    return out
