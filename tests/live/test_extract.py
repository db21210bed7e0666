"""Reading answers out of probe completions and finished chains."""

from __future__ import annotations

import pytest

from autotts.data import ERR
from autotts.live import DEFAULT_PROBE_SUFFIX, extract_final, extract_probe
from autotts.live.extract import canonical, opens_box


@pytest.mark.parametrize(
    ("completion", "answer"),
    [
        ("70}\n\\]", "70"),
        (" 70 }", "70"),
        ("\\frac{1}{2}} \\]", "\\frac{1}{2}"),
        ("(1, 2)}", "(1, 2)"),
        ("x^{2}+1} and so", "x^{2}+1"),
        ("70", None),  # the box never closes within the probe's tokens
        ("}", None),  # an empty box
        ("  }", None),
        ("hmm let me think", None),
    ],
)
def test_probe_reads_up_to_the_matching_brace(completion: str, answer: str | None) -> None:
    assert opens_box(DEFAULT_PROBE_SUFFIX)
    assert extract_probe(DEFAULT_PROBE_SUFFIX, completion) == answer


def test_probe_with_a_suffix_that_opens_no_box() -> None:
    suffix = "\nSo the final answer is"
    assert not opens_box(suffix)
    assert extract_probe(suffix, " \\boxed{12}.") == "12"
    assert extract_probe(suffix, " 1,024, I think") == "1024"
    assert extract_probe(suffix, " unclear") is None
    assert not opens_box("the answer is \\boxed{3}, then")  # a closed box is not open


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("so \\boxed{5} hmm \\boxed{6}", "6"),  # the last box
        ("<think>maybe \\boxed{5}</think>The answer is \\boxed{7}.", "7"),
        ("<think>maybe \\boxed{5}</think>The answer is 7.", "5"),  # a box beats a number
        ("<think>2 and 3</think>It is 1,000 apples.", "1000"),
        ("<think>2 and 3</think>no idea", None),  # no number in the answer section
        ("answer: \\fbox{\\frac{3}{4}}", "\\frac{3}{4}"),
        ("-12.5 degrees", "-12.5"),
        ("\\boxed{ } and then 4", "4"),  # an empty box does not count
        ("", None),
    ],
)
def test_final_answer(text: str, answer: str | None) -> None:
    assert extract_final(text) == answer


def test_canonical_forms() -> None:
    assert canonical(None) == ERR
    assert canonical("\\dfrac{1}{2}") == "\\frac{1}{2}"
    assert canonical(" 070 ") == "70"
    assert canonical("$ $") == ERR  # nothing left after normalizing
