"""The beta contract on hand-made sweeps: (beta, avg tokens) per environment."""

import pytest

from autotts.discover.contract import CONTRACT_TEXT, MAX_STEP, MIN_SPAN, contract_problems


def test_a_strictly_rising_sweep_with_even_steps_passes() -> None:
    sweep = {"e": [(0.0, 1000.0), (0.5, 1900.0), (0.6, 1901.0), (1.0, 3800.0)]}
    assert contract_problems(sweep) == []
    # the order given does not matter, and a step of exactly MAX_STEP is allowed
    assert contract_problems({"e": [(1.0, 2000.0 * MAX_STEP), (0.0, 2000.0)]}) == []


@pytest.mark.parametrize("dip", [1.0, 10.0, 50.0])
def test_any_dip_is_a_violation(dip: float) -> None:
    sweep = {"e": [(0.0, 1000.0), (0.5, 1900.0), (0.6, 1900.0 - dip), (1.0, 3000.0)]}
    (problem,) = contract_problems(sweep)
    assert f"tokens fall to {1900 - dip:.0f} at beta 0.6 from 1900 at beta 0.5" in problem


def test_a_flat_step_is_a_violation() -> None:
    sweep = {"e": [(0.0, 1000.0), (0.5, 1500.0), (0.6, 1500.0), (1.0, 2500.0)]}
    (problem,) = contract_problems(sweep)
    assert "tokens stay at 1500 at beta 0.6" in problem and "rise strictly" in problem


def test_decreasing_budget_is_reported_once_with_the_other_environments() -> None:
    down = [(0.0, 4000.0), (0.5, 2500.0), (1.0, 1000.0)]
    problems = contract_problems({"e": down, "f": down, "g": [(0.0, 1000.0), (1.0, 2000.0)]})
    falls = [p for p in problems if "fall" in p]
    assert falls == [
        "e: tokens fall to 2500 at beta 0.5 from 4000 at beta 0 (the budget must rise strictly "
        "with beta); also on 1 more environment(s)"
    ]


def test_a_step_larger_than_max_step_is_a_violation() -> None:
    sweep = {"e": [(0.0, 1000.0), (0.5, 1500.0), (1.0, 3001.0)]}
    (problem,) = contract_problems(sweep)
    assert "tokens jump 2.001x from 1500 at beta 0.5 to 3001 at beta 1" in problem
    (problem,) = contract_problems({"e": [(0.0, 0.0), (0.5, 100.0), (1.0, 150.0)]})
    assert "jump from nothing" in problem


def test_too_small_a_span_is_a_violation() -> None:
    sweep = {"e": [(0.0, 1000.0), (1.0, 1100.0)], "f": [(0.0, 2000.0), (1.0, 2100.0)]}
    (problem,) = contract_problems(sweep)
    assert "spans too little budget" in problem and f"{MIN_SPAN:g}x" in problem


def test_fewer_than_two_distinct_betas_is_a_violation() -> None:
    (problem,) = contract_problems({"e": [(0.5, 1000.0)]})
    assert "e: 1 distinct beta(s) measured" in problem
    # the same beta twice is one beta
    (problem,) = contract_problems({"e": [(0.5, 1000.0), (0.5, 2000.0)]})
    assert "1 distinct beta(s)" in problem
    assert contract_problems({})  # no sweep at all is refused too


def test_a_sweep_that_spends_nothing_is_a_violation() -> None:
    problems = contract_problems({"e": [(0.0, 0.0), (1.0, 0.0)], "f": [(0.0, 0.0), (1.0, 0.0)]})
    assert problems == ["the sweep spends no tokens at any beta"]


def test_the_text_shown_to_proposers_names_every_rule() -> None:
    for phrase in ("2 distinct betas", "strictly", f"{MAX_STEP:g}x", f"{MIN_SPAN:g}x"):
        assert phrase in CONTRACT_TEXT
