import math

import pytest

from autotts.discover.contract import contract_problems
from autotts.evaluate.frontier import envelope, interpolate, matched_advantage


def test_envelope_keeps_only_undominated_points():
    pts = [(100, 50), (200, 40), (300, 60), (50, 30), (300, 55)]
    assert envelope(pts) == [(50, 30), (100, 50), (300, 60)]


def test_interpolate_is_linear_in_log_tokens():
    curve = [(100.0, 40.0), (400.0, 60.0)]
    assert interpolate(curve, 200.0) == pytest.approx(50.0)  # halfway in log space
    assert interpolate(curve, 100.0) == pytest.approx(40.0)
    assert interpolate(curve, 50.0) is None
    assert interpolate(curve, 800.0) is None


def test_matched_advantage_sign_and_range():
    ref = [(100.0, 40.0), (400.0, 60.0)]
    better = [(200.0, 55.0), (1000.0, 90.0)]  # second point is outside the range: ignored
    assert matched_advantage(better, ref) == pytest.approx(5.0)
    worse = [(100.0, 30.0), (400.0, 50.0)]
    assert matched_advantage(worse, ref) == pytest.approx(-10.0)
    assert matched_advantage([(10.0, 99.0)], ref) is None


def test_monotone_sweep_passes_and_small_dips_are_tolerated():
    sweep = {"e": [(0.0, 1000.0), (0.5, 2500.0), (0.6, 2460.0), (1.0, 4000.0)]}
    assert contract_problems(sweep) == []


def test_decreasing_budget_is_a_violation():
    sweep = {"e": [(0.0, 4000.0), (0.5, 2500.0), (1.0, 1000.0)]}
    problems = contract_problems(sweep)
    assert any("tokens fall from 4000 at beta 0 to 2500 at beta 0.5" in p for p in problems)


def test_flat_budget_is_a_violation():
    sweep = {"e": [(0.0, 1000.0), (1.0, 1100.0)], "f": [(0.0, 2000.0), (1.0, 2100.0)]}
    (problem,) = contract_problems(sweep)
    assert "spans too little budget" in problem


def test_interpolate_single_point_curve():
    assert interpolate([(100.0, 5.0)], 100.0) == 5.0
    assert interpolate([(100.0, 5.0)], 101.0) is None
    assert not math.isnan(interpolate([(1.0, 1.0), (1.0, 2.0)], 1.0) or 0.0)


def test_frontier_gap_compares_against_a_single_point():
    from autotts.evaluate.frontier import frontier_gap

    cand = [(100.0, 40.0), (400.0, 60.0)]
    assert frontier_gap(cand, [(200.0, 45.0)]) == pytest.approx(5.0)
    assert frontier_gap(cand, [(1000.0, 45.0)]) is None
    assert frontier_gap(cand, [(100.0, 30.0), (400.0, 50.0)]) == pytest.approx(10.0)
