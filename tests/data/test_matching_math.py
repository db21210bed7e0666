"""``--match math``: answers are one when math-verify reads them as the same value."""

from __future__ import annotations

import pytest

from autotts.controllers.voting import vote
from autotts.data import ERR, MATCH_MODES, apply_matching, math_key
from tests.builders import make_env


@pytest.mark.parametrize(
    "group",
    [
        ["\\frac{1}{2}", "0.5", "\\dfrac{2}{4}", "1/2", "$\\frac12$", "0.50", "\\boxed{0.5}"],
        ["70", "070", "70.0", "\\boxed{70}", "70^\\circ", "$70$"],
        ["1000", "1,000"],
        ["-\\frac{1}{2}", "\\frac{-1}{2}", "-0.5"],
        ["2\\sqrt{3}", "\\sqrt{12}"],
        ["x+1", "1+x"],
        ["\\{1,2\\}", "\\{2,1\\}"],
        ["\\frac{1}{3}", "0.3333333"],  # equal to 6 decimals, as math-verify rounds
    ],
)
def test_equivalent_spellings_share_a_key(group: list[str]) -> None:
    assert len({math_key(a) for a in group}) == 1, {a: math_key(a) for a in group}


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("\\frac{1}{2}", "0.51"),
        ("70", "7"),
        ("\\pi", "3.14"),
        ("576 - 2rs", "574"),  # math-verify alone reads the first as 576 - 2
        ("139 + t", "139"),
        ("x+1", "x+2"),
        ("(1,2)", "[1,2]"),
        (ERR, "ERR "),
    ],
)
def test_different_answers_do_not(a: str, b: str) -> None:
    assert math_key(a) != math_key(b)


def test_prose_and_errors_stay_strings() -> None:
    assert math_key(ERR) == ERR
    assert math_key("the number of intersections") == "s:thenumberofintersections"
    assert math_key("\\text{even}").startswith(("s:", "e:"))
    assert math_key("10^{10^{10}}").startswith("n:")  # huge, but no hang
    assert math_key("4^{2^{2024}} / 25^{2^{2024}}") == "n:0"  # tiny, but no hang


def test_math_matching_groups_votes_and_grades() -> None:
    assert "math" in MATCH_MODES
    chains = [
        (["0.5", "7"], 1000, "0.5"),
        (["7"], 600, "7"),
        (["ERR"], 700, "\\dfrac{1}{2}"),
        (["7"], 800, "7"),
        (["1/2"], 900, "\\frac{2}{4}"),
    ]
    env = make_env([(chains, "\\frac{1}{2}"), ([(["3"], 100, "3.0")], "3")])
    q = env.questions[0]
    assert vote(apply_matching(env, "normalized").questions[0].finals) == "7"  # split spellings

    m = apply_matching(env, "math").questions[0]
    # the chains' first spelling names the group, never the gold's (controllers in the
    # sandbox see matched answers: a group spelled like the gold would point at it)
    assert m.gold == "0.5"
    assert m.finals == ["0.5", "7", "0.5", "7", "0.5"]
    assert vote(m.finals) == m.gold
    assert m.probes == [["0.5", "7"], ["7"], [ERR], ["7"], ["0.5"]]
    assert m.finals[0] is m.finals[2] is m.gold  # one object per group
    assert m.tokens == q.tokens and q.finals[0] == "0.5"  # the original is untouched
    m1 = apply_matching(env, "math").questions[1]
    assert m1.finals == [m1.gold] == ["3"]
