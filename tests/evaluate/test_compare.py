"""Comparing two controllers: the matched-token advantage of B over A, its paired bootstrap
interval, and the per-environment and overall rows."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from autotts.controllers import ControllerSpec
from autotts.data import Environment
from autotts.data.synth import synthesize
from autotts.evaluate import EvalResult, Protocol, compare, compare_results
from autotts.evaluate.compare import (
    DEFAULT_BETAS,
    Comparison,
    EnvComparison,
    Overall,
    advantage,
    side_betas,
    spec_label,
    token_ratio,
)
from autotts.evaluate.frontier import Point, matched_accuracy, matched_advantage

# --- advantage and token_ratio, on hand-made points (the metrics: tests/evaluate/test_frontier.py)


def test_advantage_is_b_the_candidate_against_a_the_reference() -> None:
    a, b = [(200, 30.0)], [(100, 40.0), (800, 70.0)]
    assert advantage(a, b) == (matched_advantage(b, a), 1, "a")
    assert advantage(a, b)[0] == pytest.approx(20.0)


def test_a_single_point_b_falls_back_to_the_mirror_labelled_b() -> None:
    a = [(100, 40.0), (800, 70.0)]
    assert matched_advantage([(200, 60.0)], a) is None
    value, used, basis = advantage(a, [(200, 60.0)])
    assert value == -(matched_advantage(a, [(200, 60.0)]) or math.nan)
    assert (value, used, basis) == (pytest.approx(10.0), 1, "b")
    # two single points at different token counts, or disjoint sweeps: undefined
    assert advantage([(100, 40.0)], [(200, 60.0)]) == (None, 0, None)
    assert advantage([(10, 40.0), (20, 40.0)], [(100, 40.0), (800, 70.0)]) == (None, 0, None)


def test_token_ratio_is_b_to_reach_a() -> None:
    a, b = [(200, 50.0), (800, 70.0)], [(100, 50.0), (400, 70.0)]
    assert token_ratio(a, b) == (pytest.approx(0.5), 2)
    assert token_ratio(b, a) == (pytest.approx(2.0), 2)
    # B dominates at lower tokens than A's single point: the advantage is undefined, the
    # ratio is not (B's cheapest point already reaches A's accuracy: an upper bound)
    assert advantage([(1000, 60.0)], b) == (None, 0, None)
    assert token_ratio([(1000, 50.0)], b) == (pytest.approx(0.1), 1)
    assert token_ratio([(1000, 60.0)], b) == (pytest.approx(0.2), 1)  # B reaches 60 at 200
    assert token_ratio([(1000, 90.0)], b) == (None, 0)


def test_side_betas() -> None:
    assert side_betas(True, None) == list(DEFAULT_BETAS)
    assert DEFAULT_BETAS[0] == 0.0 and DEFAULT_BETAS[-1] == 1.0 and len(DEFAULT_BETAS) == 11
    assert side_betas(True, [0.2, 0.4]) == [0.2, 0.4]
    assert side_betas(False, [0.2, 0.4]) == [None]  # a fixed baseline is one point
    assert side_betas(None, None) == [None]  # an original-style class: a beta only if given
    assert side_betas(None, [0.5]) == [0.5]
    assert spec_label(ControllerSpec("sc", {"k": 16})) == "sc k=16"


# --- the bootstrap, on hand-made results -------------------------------------------------------


def result(
    per_question: Sequence[float], tokens: float, beta: float | None = None, env: str = "e.json"
) -> EvalResult:
    accuracy = 100 * sum(per_question) / len(per_question)
    return EvalResult(
        env=env, model="m", dataset="d", controller="x", beta=beta, params={},
        protocol="official", replicates=1, seed=0, match="exact", kappa_probe=0.0, budget=None,
        accuracy=accuracy, accuracy_ci95=(0.0, 100.0), avg_total_tokens=tokens,
        avg_sequential_tokens=tokens, episodes=len(per_question), seconds=0.0,
        per_question_accuracy=tuple(per_question),
    )  # fmt: skip


def test_the_bootstrap_is_paired() -> None:
    # the same per-question accuracies: every paired draw gives 0 (unpaired ones would not)
    same = [result([0, 1, 0, 1], 100)]
    row = compare_results(same, same, 1).rows[0]
    assert (row.advantage, row.ci95) == (0.0, (0.0, 0.0))
    # B right on every question A gets wrong: 100 in every draw
    row = compare_results([result([0, 0, 0, 0], 100)], [result([1, 1, 1, 1], 100)], 1).rows[0]
    assert (row.advantage, row.ci95) == (100.0, (100.0, 100.0))
    # B right on one more question of four: the draws count it 0..4 times (Binomial(4, 1/4):
    # P(0) = 0.32, P(<= 2) = 0.95, P(<= 3) = 0.996), so the interval is [0, 75]
    a, b = [result([0, 1, 0, 1], 100)], [result([1, 1, 0, 1], 100)]
    row = compare_results(a, b, 1).rows[0]
    assert (row.advantage, row.ci95) == (25.0, (0.0, 75.0))


def test_the_bootstrap_keeps_tokens_and_interpolates() -> None:
    # B's two points bracket A's in log tokens (A at the midpoint): B there is the mean of B's
    # two accuracies, in every draw too
    a = [result([0, 0, 1, 1], 200)]
    b = [result([0, 1, 1, 1], 100, 0.0), result([1, 1, 1, 1], 400, 1.0)]
    row = compare_results(a, b, 1).rows[0]
    assert row.advantage == pytest.approx(37.5)
    assert (row.points_used, row.basis) == (1, "a")
    lo, hi = row.ci95 or (math.nan, math.nan)
    assert 0 <= lo <= 37.5 <= hi <= 100


def test_overall_skips_environments_where_it_is_undefined() -> None:
    a = [result([0, 1], 100, env="x"), result([0, 1], 100, env="y")]
    b = [result([1, 1], 100, env="x"), result([1, 1], 900, env="y")]
    c = compare_results(a, b, 2)
    assert [r.advantage for r in c.rows] == [50.0, None]
    assert c.rows[1].ci95 is None and c.rows[1].basis is None
    assert (c.overall.advantage, c.overall.envs_used, c.overall.envs) == (50.0, 1, 2)
    assert c.overall.ci95 == c.rows[0].ci95
    assert c.overall.b.tokens == (500.0, 500.0)
    doc = c.to_json()
    assert doc["envs"][1]["advantage"] is None and doc["envs"][1]["advantage_ci95"] is None


def test_the_ratio_has_a_paired_interval_too() -> None:
    # a sweep rising in every draw, against itself: 1 in every draw
    same = [result([0, 0, 0, 0], 100, 0.0), result([1, 1, 1, 1], 200, 1.0)]
    row = compare_results(same, same, 1).rows[0]
    assert (row.ratio, row.ratio_ci95, row.ratio_points) == (1.0, (1.0, 1.0), 2)
    # where a draw leaves its two points level, the cheaper one already reaches the other's
    # accuracy, so a sweep against itself can give less than 1 (the definition, documented)
    same = [result([0, 1, 0, 1], 100, 0.0), result([1, 1, 0, 1], 200, 1.0)]
    row = compare_results(same, same, 1).rows[0]
    assert row.ratio == 1.0 and row.ratio_ci95 == (pytest.approx(math.sqrt(0.5)), 1.0)
    # B reaches A's accuracy with its cheapest point, at a tenth of A's tokens, in every draw
    # where it reaches it at all; the advantage is undefined (no overlap in tokens)
    a = [result([0, 1, 0, 1], 1000)]
    b = [result([0, 1, 0, 1], 100, 0.0), result([1, 1, 0, 1], 200, 1.0)]
    row = compare_results(a, b, 1).rows[0]
    assert row.advantage is None and row.ci95 is None
    assert (row.ratio, row.ratio_points) == (pytest.approx(0.1), 1)
    assert row.ratio_ci95 == (pytest.approx(0.1), pytest.approx(0.1))


def test_the_overall_ratio_is_a_geometric_mean() -> None:
    a = [result([0, 1], 400, env="x"), result([0, 1], 100, env="y"), result([1, 1], 100, env="z")]
    b = [result([0, 1], 100, env="x"), result([0, 1], 400, env="y"), result([0, 1], 100, env="z")]
    c = compare_results(a, b, 3)
    assert [r.ratio for r in c.rows] == [0.25, 4.0, None]
    assert (c.overall.ratio, c.overall.ratio_envs_used) == (pytest.approx(1.0), 2)
    doc = c.to_json()
    assert doc["envs"][0]["token_ratio"] == 0.25 and doc["envs"][2]["token_ratio"] is None
    assert doc["overall"]["token_ratio"] == pytest.approx(1.0)
    assert doc["overall"]["token_ratio_ci95"] == pytest.approx([1.0, 1.0])


def test_results_must_cover_the_same_environments() -> None:
    with pytest.raises(ValueError, match="same environments"):
        compare_results([result([1], 100, env="x")], [result([1], 100, env="y")], 1)
    with pytest.raises(ValueError, match="do not split"):
        compare_results([result([1], 100)] * 3, [result([1], 100)] * 3, 2)


# --- compare() on synthetic environments -------------------------------------------------------

FEW = Protocol(replicates=3)


def all_rows(c: Comparison) -> list[EnvComparison | Overall]:
    return [*c.rows, c.overall]


BETAS = [0.0, 0.5, 1.0]


@pytest.fixture(scope="module")
def envs() -> list[Environment]:
    return [synthesize(n_questions=10, n_chains=32, seed=s) for s in (1, 2)]


def test_a_controller_against_itself_is_exactly_zero(envs: list[Environment]) -> None:
    c = compare(envs, ControllerSpec("cmc"), ControllerSpec("cmc"), BETAS, protocol=FEW)
    for row in all_rows(c):
        assert row.advantage == 0.0
        assert row.ci95 == (0.0, 0.0)
    assert all(r.points_used == 3 and r.basis == "a" for r in c.rows)
    assert c.overall.envs_used == 2


def test_the_interval_contains_the_estimate(envs: list[Environment]) -> None:
    c = compare(envs, ControllerSpec("sc", {"k": 4}), ControllerSpec("cmc"), BETAS, protocol=FEW)
    assert c.a == "sc k=4"
    defined = [r for r in all_rows(c) if r.advantage is not None]
    assert defined and any(r.advantage != 0 for r in defined)
    for r in defined:
        assert r.ci95 is not None and r.advantage is not None
        lo, hi = r.ci95
        assert lo <= r.advantage <= hi and lo < hi


def test_overall_is_the_mean_over_environments(envs: list[Environment]) -> None:
    c = compare(envs, ControllerSpec("sc", {"k": 4}), ControllerSpec("cmc"), BETAS, protocol=FEW)
    assert len(c.rows) == 2 and all(r.advantage is not None for r in c.rows)
    values = [r.advantage for r in c.rows if r.advantage is not None]
    assert c.overall.advantage == pytest.approx(sum(values) / 2)
    for side in ("a", "b"):
        rows, mean = [getattr(r, side) for r in c.rows], getattr(c.overall, side)
        assert mean.peak == pytest.approx(sum(s.peak for s in rows) / 2)
        assert mean.top == pytest.approx(sum(s.top for s in rows) / 2)
        assert mean.tokens[0] == pytest.approx(sum(s.tokens[0] for s in rows) / 2)
        assert mean.tokens[1] == pytest.approx(sum(s.tokens[1] for s in rows) / 2)


def test_rows_summarize_each_sweep(envs: list[Environment]) -> None:
    c = compare(envs[:1], ControllerSpec("sc", {"k": 4}), ControllerSpec("cmc"), BETAS,
                protocol=FEW)  # fmt: skip
    (row,) = c.rows
    assert [r.beta for r in row.a_results] == [None]
    assert [r.beta for r in row.b_results] == BETAS
    accuracies = [r.accuracy for r in row.b_results]
    tokens = [r.avg_total_tokens for r in row.b_results]
    assert row.b.peak == max(accuracies) and row.b.top == accuracies[-1]
    assert row.b.tokens == (min(tokens), max(tokens))
    assert row.a.tokens[0] == row.a.tokens[1] == row.a_results[0].avg_total_tokens


def test_deterministic_for_a_seed(envs: list[Environment]) -> None:
    args = (envs, ControllerSpec("sc", {"k": 4}), ControllerSpec("cmc"), BETAS)
    one, two = compare(*args, protocol=FEW), compare(*args, protocol=FEW)
    assert [r.ci95 for r in one.rows] == [r.ci95 for r in two.rows]
    assert one.overall == two.overall
    a = [r for row in one.rows for r in row.a_results]
    b = [r for row in one.rows for r in row.b_results]
    reseeded = compare_results(a, b, 2, seed=1)
    assert [r.advantage for r in reseeded.rows] == [r.advantage for r in one.rows]
    assert [r.ci95 for r in reseeded.rows] != [r.ci95 for r in one.rows]


def test_identical_strategies_written_two_ways(envs: list[Environment], root: str) -> None:
    quorum = ControllerSpec(f"{root}/examples/quorum.py:Quorum")
    original = ControllerSpec(f"{root}/examples/original_method.py:OptimalController")
    c = compare(envs[:1], quorum, original, [0.0, 1.0], protocol=FEW)
    assert [r.beta for r in c.rows[0].b_results] == [0.0, 1.0]
    assert (c.overall.advantage, c.overall.ci95) == (0.0, (0.0, 0.0))


@pytest.fixture
def root() -> str:
    from tests.conftest import ROOT

    return str(ROOT)


def _points(results: Sequence[EvalResult]) -> list[Point]:
    return [(r.avg_total_tokens, r.accuracy) for r in results]


def test_the_estimate_is_the_pure_function_on_the_sweeps(envs: list[Environment]) -> None:
    c = compare(envs, ControllerSpec("sc", {"k": 4}), ControllerSpec("cmc"), BETAS, protocol=FEW)
    for row in c.rows:
        a, b = _points(row.a_results), _points(row.b_results)
        assert (row.advantage, row.points_used, row.basis) == advantage(a, b)
        assert (row.ratio, row.ratio_points) == (matched_accuracy(b, a), row.ratio_points)
