"""An original-style ``method.py`` (AutoTTS's ``OptimalController(config={"beta": b})`` using the
``question.probe_new / probe_more / get_new_branch_final_answer / get_seq_and_total_tokens``
surface, numpy and scipy) runs unchanged through ``evaluate`` and gives exactly the numbers of
the same strategy written as a native controller."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from autotts.controllers import ControllerSpec, uses_beta
from autotts.evaluate import EvalResult, Protocol, evaluate
from tests.controllers.synthetic import synthetic_env

ORIGINAL = '''
import numpy as np
from scipy import stats


class OptimalController:
    """Open a few branches, advance them in lockstep, stop once the finished answers are
    confident; widen when every branch has finished; settle ties with full reads."""

    def __init__(self, config):
        beta = float(config["beta"])
        self.n_init = 2 + int(round(4 * beta))
        self.max_branches = 4 + int(round(12 * beta))
        self.threshold = 0.81 + 0.15 * beta
        self.token_cap = 20000 + 60000 * beta

    def _stats(self, answers):
        first = {}
        for a in answers:
            first.setdefault(a, len(first))
        counts = np.zeros(len(first), dtype=np.int64)
        for a in answers:
            counts[first[a]] += 1
        order = np.argsort(-counts, kind="stable")
        top1 = int(counts[order[0]])
        top2 = int(counts[order[1]]) if len(order) > 1 else 0
        return list(first)[int(order[0])], top1, top2

    def solve(self, question):
        branches = []  # [index, latest answer, finished]
        finals = []
        for _ in range(self.n_init):
            answer, index, finished = question.probe_new()
            branches.append([index, answer, finished])
            if finished:
                finals.append(answer)
        while True:
            for b in branches:
                if not b[2]:
                    b[1], b[2] = question.probe_more(b[0])
                    if b[2]:
                        finals.append(b[1])
            if len(finals) >= 2:
                winner, top1, top2 = self._stats(finals)
                if 1.0 - stats.beta.cdf(0.5, top1 + 1, top2 + 1) > self.threshold:
                    return winner
            _, total = question.get_seq_and_total_tokens()
            if total > self.token_cap:
                break
            if all(b[2] for b in branches):
                if len(branches) >= self.max_branches:
                    break
                answer, index, finished = question.probe_new()
                branches.append([index, answer, finished])
                if finished:
                    finals.append(answer)
        if finals:
            winner, top1, top2 = self._stats(finals)
            if top1 == top2:
                finals.append(question.get_new_branch_final_answer())
            return self._stats(finals)[0]
        return self._stats([b[1] for b in branches])[0]
'''

NATIVE = """
from autotts.controllers import Controller, beta_confidence, leader, vote


class Native(Controller):
    name = "native_twin"  # not registered: loaded from this file only
    uses_beta = True

    @classmethod
    def schedule(cls, beta):
        return {
            "n_init": 2 + round(4 * beta),
            "max_branches": 4 + round(12 * beta),
            "threshold": 0.81 + 0.15 * beta,
            "token_cap": 20000 + 60000 * beta,
        }

    def solve(self, session):
        s = self.settings
        latest, pool = [], {}

        def open_one():
            i = session.branch()
            latest.append(session.probe(i))
            if session.is_finished(i):
                pool[latest[i]] = pool.get(latest[i], 0) + 1

        for _ in range(s["n_init"]):
            open_one()
        while True:
            for i in session.live():
                latest[i], finished = session.step(i)
                if finished:
                    pool[latest[i]] = pool.get(latest[i], 0) + 1
            winner, top1, top2 = leader(pool)
            if sum(pool.values()) >= 2 and beta_confidence(top1, top2) > s["threshold"]:
                return winner
            if session.tokens > s["token_cap"]:
                break
            if not session.live():
                if session.n_open >= s["max_branches"]:
                    break
                open_one()
        if pool:
            winner, top1, top2 = leader(pool)
            if top1 == top2:
                extra = session.read(1)[0]
                pool[extra] = pool.get(extra, 0) + 1
            return leader(pool)[0]
        return vote(latest)
"""


def numbers(r: EvalResult) -> tuple[object, ...]:
    return (
        r.accuracy,
        r.per_question_accuracy,
        r.avg_total_tokens,
        r.avg_sequential_tokens,
        r.accuracy_ci95,
        r.episodes,
    )


@pytest.fixture
def controllers(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "method.py").write_text(textwrap.dedent(ORIGINAL))
    (tmp_path / "native.py").write_text(textwrap.dedent(NATIVE))
    return f"{tmp_path / 'method.py'}:OptimalController", f"{tmp_path / 'native.py'}:Native"


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0])
def test_an_original_method_py_runs_unchanged(controllers: tuple[str, str], beta: float) -> None:
    original, native = controllers
    assert uses_beta(original) is None  # unknown for original-style classes
    assert uses_beta(native) is True
    env = synthetic_env(11, n_questions=8, n_chains=64)
    protocol = Protocol("subsample", replicates=6, seed=4)
    (old,) = evaluate([env], ControllerSpec(original, beta=beta), [beta], protocol=protocol)
    (new,) = evaluate([env], ControllerSpec(native), [beta], protocol=protocol)
    assert (old.errors, old.error_examples, new.errors) == (0, (), 0)
    assert numbers(old) == numbers(new)
    assert old.beta == beta
    # the strategy really does something beta-dependent here
    assert 0 < old.accuracy < 100


def test_the_original_method_scales_with_beta(controllers: tuple[str, str]) -> None:
    original, _ = controllers
    env = synthetic_env(12, n_questions=6, n_chains=64)
    results = evaluate(
        [env], ControllerSpec(original), [0.0, 1.0], protocol=Protocol("subsample", 4, seed=1)
    )
    assert results[0].avg_total_tokens < results[1].avg_total_tokens
    assert [r.beta for r in results] == [0.0, 1.0]
