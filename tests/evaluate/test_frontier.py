"""The two comparison metrics at their boundaries: matched-token advantage and matched-accuracy
token ratio."""

from __future__ import annotations

import math
import random

import pytest

from autotts.evaluate.frontier import (
    envelope,
    interpolate,
    matched_accuracy,
    matched_advantage,
    matched_count,
    reached_count,
    tokens_to_reach,
)

REF = [(100.0, 40.0), (800.0, 70.0)]


def random_sweep(rng: random.Random, n: int = 11) -> list[tuple[float, float]]:
    return [(rng.uniform(1e3, 1e6), round(rng.uniform(0, 100), 6)) for _ in range(n)]


def test_envelope_keeps_only_undominated_points() -> None:
    pts = [(100, 50), (200, 40), (300, 60), (50, 30), (300, 55)]
    assert envelope(pts) == [(50, 30), (100, 50), (300, 60)]


def test_interpolate_is_linear_in_log_tokens() -> None:
    curve = [(100.0, 40.0), (400.0, 60.0)]
    assert interpolate(curve, 200.0) == pytest.approx(50.0)  # halfway in log space
    assert interpolate(curve, 100.0) == pytest.approx(40.0)
    assert interpolate(curve, 50.0) is None
    assert interpolate(curve, 800.0) is None
    assert interpolate([(100.0, 5.0)], 100.0) == 5.0
    assert interpolate([(100.0, 5.0)], 101.0) is None
    assert not math.isnan(interpolate([(1.0, 1.0), (1.0, 2.0)], 1.0) or 0.0)


# --- matched_advantage(candidate, reference) ---------------------------------------------------


def test_advantage_interpolates_the_candidate_in_log_tokens() -> None:
    # 200 tokens is a third of the way from 100 to 800 in log tokens: the candidate there is
    # 40 + 30 / 3 (linear in tokens it would be 40 + 30 / 7)
    assert matched_advantage(REF, [(200.0, 30.0)]) == pytest.approx(20.0)
    assert matched_count(REF, [(200.0, 30.0)]) == 1


def test_advantage_averages_the_reference_points_within_the_candidate_range() -> None:
    reference = [(50, 0.0), (200, 30.0), (1000, 0.0)]  # only 200 lies in 100..800
    assert matched_advantage(REF, reference) == pytest.approx(20.0)
    assert matched_count(REF, reference) == 1
    # the ends of the range are inside it
    assert matched_advantage(REF, [(100, 30.0), (800, 60.0)]) == pytest.approx(10.0)
    assert matched_count(REF, [(100, 30.0), (800, 60.0)]) == 2


def test_advantage_sign_and_orientation() -> None:
    a = [(100, 40.0), (400, 50.0), (1600, 60.0)]
    b = [(100, 45.0), (400, 58.0), (1600, 61.0)]
    assert matched_advantage(b, a) == pytest.approx((5 + 8 + 1) / 3)
    assert matched_advantage(a, b) == pytest.approx(-(5 + 8 + 1) / 3)


def test_advantage_is_none_without_overlap() -> None:
    assert matched_advantage(REF, [(10, 50.0), (20, 60.0)]) is None
    assert matched_advantage(REF, [(1000, 50.0)]) is None
    assert matched_advantage([], REF) is None
    assert matched_advantage(REF, []) is None
    assert matched_count(REF, [(10, 50.0)]) == 0


def test_advantage_of_a_single_point_candidate() -> None:
    assert matched_advantage([(200.0, 60.0)], [(200.0, 45.0), (400.0, 10.0)]) == 15.0
    assert matched_advantage([(200.0, 60.0)], REF) is None  # no reference point at 200 tokens
    # a single-point reference, inside the candidate's range
    assert matched_advantage(REF, [(200.0, 45.0)]) == pytest.approx(5.0)


def test_advantage_reads_the_candidate_as_measured() -> None:
    # the candidate dips at 200 tokens; its envelope would be 60 there, the sweep says 40
    dipping = [(400, 60.0), (100, 60.0), (200, 40.0)]
    assert matched_advantage(dipping, [(200, 50.0)]) == -10.0
    # candidate points at the same tokens are merged into their mean
    assert matched_advantage([(100, 40.0), (100, 70.0)], [(100, 50.0)]) == 5.0


def test_advantage_of_a_sweep_against_itself_is_exactly_zero() -> None:
    rng = random.Random(3)
    for _ in range(200):
        sweep = random_sweep(rng)
        assert matched_advantage(sweep, sweep) == 0.0
        assert matched_count(sweep, sweep) == 11


def test_advantage_ignores_points_without_tokens() -> None:
    assert matched_advantage([(0.0, 90.0), (100.0, 40.0)], [(0.0, 10.0), (100.0, 30.0)]) == 10.0


# --- tokens_to_reach and matched_accuracy(candidate, reference) ---------------------------------


def test_tokens_to_reach_crosses_the_first_segment_in_log_tokens() -> None:
    curve = [(100.0, 40.0), (400.0, 60.0), (800.0, 50.0), (1600.0, 80.0)]
    assert tokens_to_reach(curve, 50.0) == pytest.approx(200.0)  # halfway in log tokens
    assert tokens_to_reach(curve, 60.0) == 400.0  # a measured point, exactly
    assert tokens_to_reach(curve, 30.0) == 100.0  # the first point already reaches it
    assert tokens_to_reach(curve, 70.0) == pytest.approx(800.0 * 2 ** (20 / 30))
    assert tokens_to_reach(curve, 81.0) is None
    assert tokens_to_reach([], 10.0) is None


def test_ratio_is_below_one_when_the_candidate_is_cheaper() -> None:
    reference = [(200.0, 50.0), (800.0, 70.0)]
    # reaches 50 % at 100 tokens and 70 % at 400: half the tokens at both
    assert matched_accuracy(REF_HALF, reference) == pytest.approx(0.5)
    assert matched_accuracy(reference, REF_HALF) == pytest.approx(2.0)
    assert reached_count(REF_HALF, reference) == 2


REF_HALF = [(100.0, 50.0), (400.0, 70.0)]


def test_ratio_is_a_geometric_mean_over_the_reached_points() -> None:
    candidate = [(100.0, 40.0), (400.0, 60.0)]
    reference = [(200.0, 50.0), (100.0, 60.0), (50.0, 90.0)]  # 90 % is never reached
    # 50 % at 200 tokens (ratio 1), 60 % at 400 tokens (ratio 4)
    assert matched_accuracy(candidate, reference) == pytest.approx(2.0)
    assert reached_count(candidate, reference) == 2


def test_ratio_is_none_when_the_candidate_reaches_nothing() -> None:
    candidate = [(100.0, 10.0), (400.0, 20.0)]  # below the whole reference
    assert matched_accuracy(candidate, REF) is None
    assert reached_count(candidate, REF) == 0
    assert matched_accuracy([], REF) is None
    assert matched_accuracy(REF, []) is None


def test_ratio_of_a_candidate_above_the_whole_reference_uses_its_cheapest_point() -> None:
    # the candidate dominates at lower tokens: its first point already beats every reference
    # accuracy, so its tokens are an upper bound on what it needs
    candidate = [(50.0, 80.0), (90.0, 90.0)]
    assert matched_accuracy(candidate, REF) == pytest.approx(math.sqrt(50 / 100 * 50 / 800))
    # a controller outside the reference's token range still gets a number (the advantage not)
    assert matched_advantage(candidate, REF) is None


def test_ratio_against_a_single_point_is_tokens_saved() -> None:
    # REF reaches 55 % halfway from 100 to 800 tokens in log tokens: at sqrt(100 * 800)
    saved = 1 - (matched_accuracy(REF, [(400.0, 55.0)]) or 0)
    assert saved == pytest.approx(1 - math.sqrt(100 * 800) / 400)
    assert matched_accuracy([(300.0, 60.0)], [(300.0, 60.0)]) == 1.0


def test_ratio_at_equal_tokens_and_equal_accuracy() -> None:
    # a plateau: the first point that reaches the accuracy sets the tokens
    assert tokens_to_reach([(100.0, 50.0), (200.0, 50.0)], 50.0) == 100.0
    plateau = [(100.0, 50.0), (200.0, 50.0)]
    assert matched_accuracy(plateau, plateau) == pytest.approx(math.sqrt(0.5))
    # candidate points at the same tokens merge into their mean
    assert matched_accuracy([(100.0, 40.0), (100.0, 60.0)], [(100.0, 50.0)]) == 1.0
    assert matched_accuracy([(100.0, 40.0), (100.0, 59.0)], [(100.0, 50.0)]) is None


def test_ratio_of_a_rising_sweep_against_itself_is_exactly_one() -> None:
    rng = random.Random(4)
    for _ in range(200):
        tokens = sorted(rng.uniform(1e3, 1e6) for _ in range(11))
        accuracy = sorted(rng.sample(range(10_000), 11))
        sweep = [(t, a / 100) for t, a in zip(tokens, accuracy, strict=True)]
        rng.shuffle(sweep)
        assert matched_accuracy(sweep, sweep) == 1.0


def test_ratio_ignores_points_without_tokens() -> None:
    assert matched_accuracy([(0.0, 99.0), (100.0, 50.0)], [(0.0, 10.0), (200.0, 50.0)]) == 0.5
