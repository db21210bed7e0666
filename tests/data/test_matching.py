"""Answer normalisation and the matching modes built on it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autotts.controllers.voting import vote
from autotts.data import ERR, apply_matching, normalize_answer
from tests.builders import make_env


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        (" 70 ", "70"),
        ("7 0", "70"),
        ("$70$", "70"),
        ("\\boxed{70}", "70"),
        ("\\boxed{ 70 }", "70"),
        ("$\\boxed{70}$", "70"),
        ("\\text{70}", "70"),
        ("\\boxed{\\text{70}}", "70"),
        ("\\textbf{70}", "70"),
        ("\\,70\\;", "70"),
        ("\\left(1,2\\right)", "(1,2)"),
        ("\\dfrac{1}{2}", "\\frac{1}{2}"),
        ("\\tfrac{1}{2}", "\\frac{1}{2}"),
        ("007", "7"),
        ("000", "0"),
        ("-05", "-5"),
        ("-0", "0"),
        ("+7", "7"),
        ("70.0", "70"),
        ("70.00", "70"),
        ("70.", "70"),
        ("\\boxed{70}.", "70"),  # the period hides the box until it is stripped
        ("90^\\circ", "90"),
        ("90^{\\circ}", "90"),
        ("90°", "90"),
        ("3.5", "3.5"),
        ("1,000", "1,000"),
        (ERR, ERR),
    ],
)
def test_normalize_answer(raw: str, canonical: str) -> None:
    assert normalize_answer(raw) == canonical


ATOMS = st.sampled_from(
    ["7", "70", "007", "-0", "+5", "3.5", "70.0", "ERR", "\\frac{1}{2}", "\\dfrac{1}{2}", "(1,2)"]
)
WRAPS = st.sampled_from(
    ["\\boxed{%s}", "\\text{%s}", "$%s$", "%s.", "%s^\\circ", "%s°", " %s ", "\\left%s\\right"]
)
# answers as a model might write them: atoms inside any nesting of wrappers, and concatenations
LATEX = st.recursive(
    ATOMS,
    lambda inner: st.one_of(
        st.builds(lambda wrap, s: wrap % s, WRAPS, inner),
        st.builds(lambda a, b: a + b, inner, inner),
    ),
    max_leaves=4,
)


@settings(max_examples=500)  # enough to find a box behind a period every run
@given(LATEX)
def test_normalize_is_idempotent_on_latex(answer: str) -> None:
    once = normalize_answer(answer)
    assert normalize_answer(once) == once


@given(st.text(max_size=20))
def test_normalize_is_idempotent_on_any_text(answer: str) -> None:
    once = normalize_answer(answer)
    assert normalize_answer(once) == once


def test_normalized_matching_merges_vote_groups() -> None:
    chains = [
        (["12", "$70$"], 1000, "\\boxed{70}"),
        (["12"], 600, "12"),
        (["70.0"], 700, "70"),
        (["ERR"], 800, "12"),
        ([" 70"], 900, "$70$"),
    ]
    env = make_env([(chains, "70")])
    q = env.questions[0]
    assert vote(q.finals) == "12"  # exact: three spellings of 70 split their votes

    merged = apply_matching(env, "normalized")
    m = merged.questions[0]
    assert m.finals == ["70", "12", "70", "12", "70"]
    assert vote(m.finals) == m.gold == "70"
    assert m.probes == [["12", "70"], ["12"], ["70"], [ERR], ["70"]]
    assert m.tokens == q.tokens and merged.meta == env.meta
    assert m.finals[0] is m.finals[2] is m.gold  # one object per canonical answer
    assert q.finals[0] == "\\boxed{70}"  # the original environment is untouched


def test_exact_matching_is_the_identity_and_unknown_modes_fail() -> None:
    env = make_env([([([], 100, "$1$")], "1")])
    assert apply_matching(env, "exact") is env
    with pytest.raises(ValueError, match="unknown answer matching 'fuzzy'"):
        apply_matching(env, "fuzzy")
