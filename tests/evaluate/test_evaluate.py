"""The evaluator on environments built in code: protocols, workers, failures, budgets, the probe
cost, and the small helpers (``parse_betas``, ``bootstrap_ci``)."""

from __future__ import annotations

import math
import random
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from autotts.controllers import ControllerSpec, controller_class, make_solver
from autotts.data import Environment
from autotts.env import Session
from autotts.evaluate import EvalResult, Protocol, bootstrap_ci, evaluate, parse_betas
from tests.builders import Chain, make_env
from tests.controllers.synthetic import synthetic_env


def write(tmp_path: Path, source: str, name: str = "ctl.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def numbers(r: EvalResult) -> dict[str, Any]:
    d = r.to_json()
    del d["seconds"]
    return d


# --------------------------------------------------------------------------- protocols
def labelled_env(n_questions: int = 3, n_chains: int = 6) -> Environment:
    """Every chain's answers name it (``q1c4``), so a controller can see the order it got."""
    questions = []
    for q in range(n_questions):
        chains: list[Chain] = [([f"q{q}c{j}"] * 2, 1000, f"q{q}c{j}") for j in range(n_chains)]
        questions.append((chains, f"q{q}c0"))
    return make_env(questions)


def shuffled(n: int, replicate: int) -> list[int]:
    order = list(range(n))
    random.Random(replicate).shuffle(order)
    return order


def test_official_orders_are_random_shuffles_by_replicate() -> None:
    p = Protocol("official", replicates=7)
    for q in range(3):
        assert [list(o) for o in p.orders(q, 10)] == [shuffled(10, r) for r in range(7)]


def test_subsample_orders_are_seeded_and_per_question() -> None:
    p = Protocol("subsample", replicates=20, seed=5)
    official = Protocol("official", replicates=20).orders(0, 12)
    for q in range(3):
        orders = p.orders(q, 12)
        assert len(orders) == 20
        assert all(sorted(o) == list(range(12)) for o in orders)
        assert len(set(orders)) > 15  # replicates differ
        assert orders == Protocol("subsample", replicates=20, seed=5).orders(q, 12)
        assert orders != Protocol("subsample", replicates=20, seed=6).orders(q, 12)
        assert orders != official
    assert p.orders(0, 12) != p.orders(1, 12)


def test_bad_protocols_are_refused() -> None:
    with pytest.raises(ValueError):
        Protocol("bootstrap")
    with pytest.raises(ValueError):
        Protocol(replicates=0)


RECORDERS = """
    SEEN = []


    class Reader:
        def solve(self, session):
            finals = session.read(session.n_available)
            SEEN.append(finals)
            return finals[0]


    class Stepper:
        def solve(self, session):
            finals = []
            for _ in range(session.n_available):
                i = session.branch()
                while not session.advance(i, 1):
                    pass
                finals.append(session.probe(i))
            SEEN.append(finals)
            return finals[-1]
"""


@pytest.mark.parametrize("protocol", [Protocol("subsample", 6, seed=11), Protocol("official", 6)])
def test_every_controller_sees_the_same_orders(tmp_path: Path, protocol: Protocol) -> None:
    env = labelled_env()
    path = write(tmp_path, RECORDERS)
    runs = {}
    for name in ("Reader", "Stepper"):
        # each class's own module globals (the loader executes the file once per class)
        seen = controller_class(f"{path}:{name}").solve.__globals__["SEEN"]
        seen.clear()
        evaluate([env], ControllerSpec(f"{path}:{name}"), protocol=protocol)
        runs[name] = list(seen)
    expected = [[f"q{q}c{j}" for j in order] for q in range(3) for order in protocol.orders(q, 6)]
    assert runs["Reader"] == runs["Stepper"] == expected
    if protocol.name == "official":
        assert expected[:6] == [[f"q0c{j}" for j in shuffled(6, r)] for r in range(6)]


def test_evaluation_is_deterministic() -> None:
    env = synthetic_env(2, n_questions=4, n_chains=40)
    p = Protocol("subsample", 5, seed=3)
    first = evaluate([env], ControllerSpec("cmc"), [0.3, 0.9], protocol=p)
    again = evaluate([env], ControllerSpec("cmc"), [0.3, 0.9], protocol=p)
    assert [numbers(r) for r in first] == [numbers(r) for r in again]
    other = evaluate([env], ControllerSpec("cmc"), [0.3, 0.9], protocol=Protocol("subsample", 5, 4))
    assert [numbers(r) for r in first] != [numbers(r) for r in other]


@pytest.mark.parametrize(
    ("cs", "betas"),
    [
        (ControllerSpec("cmc"), [0.0, 0.5, 1.0]),
        (ControllerSpec("parallel_probe", {"chains": 16, "T": 5}), [None]),
        (ControllerSpec("asc", {"max_samples": 40}), [None]),
    ],
)
def test_two_workers_give_the_same_numbers(cs: ControllerSpec, betas: list[float | None]) -> None:
    envs = [
        synthetic_env(4, n_questions=12, n_chains=40),
        synthetic_env(5, n_questions=7, n_chains=40),
    ]
    p = Protocol("subsample", 4, seed=2)
    one = evaluate(envs, cs, betas, protocol=p, workers=1)
    two = evaluate(envs, cs, betas, protocol=p, workers=2)
    assert len(one) == len(envs) * len(betas)
    assert [numbers(r) for r in one] == [numbers(r) for r in two]


# --------------------------------------------------------------------------- failures
def agreeing_env() -> Environment:
    """Three questions whose chains all agree; question 1's answer is "boom"."""

    def q(answer: str) -> tuple[list[Chain], str]:
        return [([answer], 1000, answer)] * 4, answer

    return make_env([q("1"), q("boom"), q("2")])


def test_a_controller_failing_on_one_question(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        class RaiseOnBoom:
            def solve(self, session):
                answers = session.read(2)
                if "boom" in answers:
                    raise RuntimeError("exploded")
                return answers[0]
        """,
    )
    (r,) = evaluate(
        [agreeing_env()], ControllerSpec(f"{path}:RaiseOnBoom"), protocol=Protocol(replicates=4)
    )
    assert r.errors == 4
    assert len(r.error_examples) == 4
    assert all(
        "question 1" in e and "RuntimeError" in e and "exploded" in e for e in r.error_examples
    )
    assert sorted(e.split(",")[1].strip() for e in r.error_examples) == [
        f"replicate {k}: RuntimeError: exploded" for k in range(4)
    ]
    assert r.per_question_accuracy == (1.0, 0.0, 1.0)
    assert r.accuracy == pytest.approx(200 / 3)
    assert r.avg_total_tokens == 2000  # the failing episodes still spent their tokens
    assert r.episodes == 12


@pytest.mark.parametrize("returned", ["7", '["1"]', "1.0", 'b"1"'])
def test_returning_a_non_str_is_an_error(tmp_path: Path, returned: str) -> None:
    path = write(
        tmp_path,
        f"""
        class Wrong:
            def solve(self, session):
                session.read(1)
                return {returned}
        """,
    )
    (r,) = evaluate(
        [agreeing_env()], ControllerSpec(f"{path}:Wrong"), protocol=Protocol(replicates=2)
    )
    assert r.errors == r.episodes == 6
    assert r.accuracy == 0
    assert all("not a str" in e for e in r.error_examples)


def test_answering_through_the_session(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        class AnswersItself:
            def solve(self, session):
                session.answer(session.read(1)[0])
        """,
    )
    (r,) = evaluate(
        [agreeing_env()], ControllerSpec(f"{path}:AnswersItself"), protocol=Protocol(replicates=2)
    )
    assert (r.errors, r.accuracy) == (0, 100)


def test_answering_one_thing_and_returning_another_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        class Contradicts:
            def solve(self, session):
                session.answer(session.read(1)[0])
                return "something else"
        """,
    )
    (r,) = evaluate(
        [agreeing_env()], ControllerSpec(f"{path}:Contradicts"), protocol=Protocol(replicates=2)
    )
    assert (r.errors, r.accuracy) == (r.episodes, 0)
    assert "but returned 'something else'" in r.error_examples[0]


def test_a_controller_that_cannot_be_built_fails_up_front() -> None:
    from autotts.controllers import ControllerError

    with pytest.raises(ControllerError):
        evaluate([agreeing_env()], ControllerSpec("sc", {"kk": 3}))
    with pytest.raises(ControllerError):
        evaluate([agreeing_env()], ControllerSpec("cmc"))  # no beta


def test_the_spec_beta_is_used_when_no_betas_are_given() -> None:
    env = synthetic_env(1, n_questions=3, n_chains=40)
    p = Protocol("subsample", 2)
    (implicit,) = evaluate([env], ControllerSpec("cmc", beta=0.5), protocol=p)
    (explicit,) = evaluate([env], ControllerSpec("cmc"), [0.5], protocol=p)
    assert numbers(implicit) == numbers(explicit)


# --------------------------------------------------------------------------- probe cost
def probes_taken(env: Environment, cs: ControllerSpec, protocol: Protocol) -> int:
    """PROBE actions of every episode, replayed outside the evaluator."""
    total = 0
    for qi, q in enumerate(env.questions):
        for order in protocol.orders(qi, q.n_chains):
            s = Session(q.probes, q.tokens, q.finals, order, env.interval)
            make_solver(cs)(s)
            total += sum(a.kind == "PROBE" for a in s.trace())
    return total


@pytest.mark.parametrize("kappa", [0.5, 3.0, 120.0])
def test_kappa_probe_adds_kappa_per_probe(kappa: float) -> None:
    env = synthetic_env(3, n_questions=5, n_chains=48)
    p = Protocol("subsample", 3, seed=9)
    cs = ControllerSpec("cmc", beta=0.5)
    (free,) = evaluate([env], cs, [0.5], protocol=p)
    (paid,) = evaluate([env], cs, [0.5], protocol=p, kappa_probe=kappa)
    n_probes = probes_taken(env, cs, p)
    assert n_probes > 0
    assert paid.avg_total_tokens - free.avg_total_tokens == pytest.approx(
        kappa * n_probes / free.episodes, abs=1e-5
    )
    assert (paid.accuracy, paid.avg_sequential_tokens) == (
        free.accuracy,
        free.avg_sequential_tokens,
    )
    assert paid.kappa_probe == kappa


def test_full_reads_are_not_probes() -> None:
    env = synthetic_env(3, n_questions=5, n_chains=48)
    p = Protocol("subsample", 3, seed=9)
    free, paid = (
        evaluate([env], ControllerSpec("sc", {"k": 16}), protocol=p, kappa_probe=k)[0]
        for k in (0.0, 50.0)
    )
    assert paid.avg_total_tokens == free.avg_total_tokens


# --------------------------------------------------------------------------- budgets
def budget_env() -> Environment:
    """Chains of 1000 tokens; ASC never gets confident within 3 reads (conf(3, 0) = 0.9375)."""

    def q(finals: str, gold: str) -> tuple[list[Chain], str]:
        return [([a], 1000, a) for a in finals], gold

    return make_env([q("abacbaab", "a"), q("xyzzyxzy", "z"), q("pppppppq", "p")])


def first_seen_vote(answers: list[str]) -> str:
    return Counter(answers).most_common(1)[0][0]


def test_a_budget_truncates_episodes() -> None:
    env = budget_env()
    reps = 10
    (r,) = evaluate(
        [env],
        ControllerSpec("asc", {"max_samples": 8}),
        protocol=Protocol(replicates=reps),
        budget=3500,
    )
    # the 4th read would cost 4000 > 3500: every episode ends truncated after 3 reads and is
    # answered by the vote of the 3 answers it revealed
    assert (r.truncated, r.errors) == (3 * reps, 0)
    assert r.avg_total_tokens == 3000
    expected = []
    for q in env.questions:
        votes = [first_seen_vote([q.finals[j] for j in shuffled(8, k)[:3]]) for k in range(reps)]
        expected.append(sum(v == q.gold for v in votes) / reps)
    assert r.per_question_accuracy == pytest.approx(expected)
    assert 0 < r.accuracy < 100


def test_an_unreached_budget_changes_nothing() -> None:
    env = synthetic_env(6, n_questions=4, n_chains=40)
    p = Protocol("subsample", 3)
    (free,) = evaluate([env], ControllerSpec("cmc"), [0.7], protocol=p)
    (capped,) = evaluate([env], ControllerSpec("cmc"), [0.7], protocol=p, budget=1e12)
    assert capped.budget == 1e12  # recorded with the result; every measured number is the same
    assert {**numbers(capped), "budget": None} == numbers(free)


def test_a_tight_budget_truncates_probe_controllers() -> None:
    env = synthetic_env(6, n_questions=4, n_chains=40)
    p = Protocol("subsample", 3)
    (r,) = evaluate([env], ControllerSpec("cmc"), [1.0], protocol=p, budget=6000)
    assert r.truncated == r.episodes and r.errors == 0
    assert r.avg_total_tokens <= 6000
    assert r.accuracy > 0  # answered by the revealed answers, not left blank


# --------------------------------------------------------------------------- parse_betas
def test_parse_betas() -> None:
    grid = parse_betas("0:1:0.1")
    assert len(grid) == 11
    assert grid[0] == 0.0 and grid[-1] == 1.0
    assert grid == pytest.approx([k / 10 for k in range(11)], abs=1e-12)
    assert parse_betas("0.5") == [0.5]
    assert parse_betas(" 0.25 ") == [0.25]
    assert parse_betas("0,0.5,1") == [0.0, 0.5, 1.0]
    assert parse_betas("0:1:0.25") == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert parse_betas("0.2:0.5:0.1") == pytest.approx([0.2, 0.3, 0.4, 0.5], abs=1e-12)
    assert parse_betas("1:1:0.5") == [1.0]


@pytest.mark.parametrize(
    "text", ["2", "a", "1:0:0.1", "0:1:0", "0:1:-0.1", "0:1", "-0.1", "0,2", ""]
)
def test_parse_betas_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_betas(text)


# --------------------------------------------------------------------------- bootstrap
def test_bootstrap_ci() -> None:
    values = [0, 0.25, 1, 1, 0.5, 0.75, 0, 1, 0.9, 0.1, 0.6, 0.3]
    mean = 100 * sum(values) / len(values)
    lo, hi = bootstrap_ci(values)
    assert 0 <= lo < mean < hi <= 100
    assert bootstrap_ci(values) == (lo, hi)
    assert bootstrap_ci(values, seed=0) == (lo, hi)
    # more questions with the same spread: a narrower interval around the same mean
    lo4, hi4 = bootstrap_ci(values * 4)
    assert lo4 < mean < hi4 and hi4 - lo4 < hi - lo
    assert bootstrap_ci([0.4] * 10) == pytest.approx((40.0, 40.0))
    assert all(math.isnan(x) for x in bootstrap_ci([]))


def test_results_carry_a_bootstrap_ci_over_questions() -> None:
    env = synthetic_env(8, n_questions=10, n_chains=40)
    (r,) = evaluate([env], ControllerSpec("cmc"), [0.5], protocol=Protocol("subsample", 3))
    assert r.accuracy_ci95 == bootstrap_ci(r.per_question_accuracy)
    assert r.accuracy == pytest.approx(100 * sum(r.per_question_accuracy) / 10)


def test_matching_is_applied_by_the_evaluator_and_recorded() -> None:
    env = make_env([([(["1"], 600, "$7$"), (["1"], 600, "\\boxed{7}"), (["1"], 600, "8")], "7")])
    p = Protocol(replicates=3)
    (exact,) = evaluate([env], ControllerSpec("sc", {"k": 3}), protocol=p)
    (normalized,) = evaluate([env], ControllerSpec("sc", {"k": 3}), protocol=p, match="normalized")
    assert (exact.accuracy, exact.match) == (0, "exact")
    assert (normalized.accuracy, normalized.match) == (100, "normalized")
    with pytest.raises(ValueError, match="unknown answer matching"):
        evaluate([env], ControllerSpec("sc", {"k": 3}), protocol=p, match="fuzzy")


def test_the_budget_is_recorded_with_the_result() -> None:
    (r,) = evaluate([agreeing_env()], ControllerSpec("sc", {"k": 3}), budget=1e9)
    assert r.budget == 1e9 and r.to_json()["budget"] == 1e9
