"""A budget the controllers can see: ``session.remaining_budget``, and built-ins that spend
within it and answer with what they saw instead of being cut off blind."""

from __future__ import annotations

import ast
import inspect

import pytest

from autotts.controllers import ControllerSpec
from autotts.controllers import evolved as evolved_module
from autotts.data import Environment
from autotts.discover.evolve.genome import Genome
from autotts.discover.evolve.render import as_builtin
from autotts.env import BudgetExceeded, Session
from autotts.evaluate import EvalSettings, Protocol, evaluate, run_episode
from tests.builders import Chain, make_env


def _flat(n: int = 10, tokens: int = 100) -> Environment:
    """One question, ``n`` chains of ``tokens`` tokens ending at "A", "B", "A", ... (gold "A")."""
    return make_env([([([], tokens, "AB"[i % 2]) for i in range(n)], "A")])


def test_remaining_budget_is_an_observation() -> None:
    q = _flat().questions[0]
    free = Session(q.probes, q.tokens, q.finals, list(range(10)), 500)
    assert free.remaining_budget is None and not free.truncated
    capped = Session(q.probes, q.tokens, q.finals, list(range(10)), 500, budget=250.0)
    assert capped.remaining_budget == 250.0
    capped.read(2)
    assert capped.remaining_budget == 50.0 and not capped.truncated
    with pytest.raises(BudgetExceeded):
        capped.read(1)
    assert capped.remaining_budget == 50.0 and capped.truncated  # refused, nothing changed


@pytest.mark.parametrize(
    ("name", "params"),
    [("sc", {"k": 10}), ("asc", {"max_samples": 10, "threshold": 0.999}),
     ("esc", {"max_samples": 10, "window": 2})],
)  # fmt: skip
def test_full_read_baselines_read_the_chains_that_fit(name: str, params: dict[str, int]) -> None:
    """Before, sc's one 10-chain READ was refused: 0 % at 0 tokens."""
    settings = EvalSettings(Protocol(replicates=1), budget=350.0)  # official order r=0
    (r,) = evaluate([_flat()], ControllerSpec(name, params), settings=settings)
    assert r.avg_total_tokens == 300.0  # three chains of 100 fit in 350
    e = run_episode(_flat(), ControllerSpec(name, params), 0, 0, settings)
    assert e.answer == _expected_vote(e.session)
    assert r.accuracy == (100.0 if e.answer == "A" else 0.0)
    assert r.truncated == r.episodes == 1


def _expected_vote(session: Session) -> str:
    """The majority of the chains read, ties to the first seen."""
    answers = [session.last_revealed(i) for i in range(session.n_open)]
    return str(max(dict.fromkeys(answers), key=answers.count))


def _tempting() -> Environment:
    """Short chains finish early at the gold "A"; long ones show "B" for a long time and also
    end at "A". Answering with the revealed answers of every open chain says "B"; answering
    with the finished chains says "A"."""
    short: Chain = (["B", "B", "A"], 1500, "A")
    long: Chain = (["B"] * 30, 15500, "A")
    chains = [short, long, long] * 5
    return make_env([(chains, "A"), (list(reversed(chains)), "A")])


@pytest.mark.parametrize(
    ("name", "beta", "budget"),
    [("cmc", 0.5, 9000.0), ("cmc", 1.0, 20000.0), ("evolved", 1.0, 30000.0)],
)
def test_stepping_controllers_answer_with_their_finished_chains(
    name: str, beta: float, budget: float
) -> None:
    env = _tempting()
    settings = EvalSettings(Protocol("subsample", 20, 1), budget=budget)
    checked = 0
    for q in range(len(env)):
        for r in range(20):
            e = run_episode(env, ControllerSpec(name, beta=beta), q, r, settings)
            assert e.error is None
            s = e.session
            assert s.cost <= budget
            if e.truncated and any(s.is_finished(i) for i in range(s.n_open)):
                assert e.answer == "A", s.trace()
                checked += 1
    assert checked > 10


def test_cmc_stops_widening_when_the_budget_cannot_carry_more_chains() -> None:
    env = _tempting()
    spec = ControllerSpec("cmc", beta=1.0)
    proto = Protocol("subsample", 10, 1)
    free = [run_episode(env, spec, 0, r, EvalSettings(proto)) for r in range(10)]
    capped = [run_episode(env, spec, 0, r, EvalSettings(proto, budget=20000.0)) for r in range(10)]
    assert max(e.session.n_open for e in capped) < max(e.session.n_open for e in free)


def test_parallel_probe_under_a_budget_answers_and_counts_truncation() -> None:
    (r,) = evaluate(
        [_tempting()], ControllerSpec("parallel_probe", {"chains": 8}),
        settings=EvalSettings(Protocol(replicates=4), budget=9000.0),
    )  # fmt: skip
    assert r.errors == 0 and r.truncated == r.episodes
    assert r.avg_total_tokens <= 9000.0


def test_the_renderer_gives_the_built_in_evolved_its_budget_handling() -> None:
    g = Genome.from_json(evolved_module.GENOME)
    rendered = as_builtin(g, "evolved", ["provenance"], "summary")

    def solve_of(text: str) -> str:
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef) and node.name == "solve":
                return ast.dump(node)
        raise AssertionError("no solve")

    assert solve_of(rendered) == solve_of(inspect.getsource(evolved_module))
    assert "except BudgetExceeded" in rendered
