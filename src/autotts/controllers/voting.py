"""Vote counting shared by controllers.

Ties go to the answer seen first (``collections.Counter.most_common`` order), which is what the
reference implementations do and what makes replay numbers reproducible.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from math import comb


def vote(answers: Iterable[str]) -> str | None:
    """The most frequent of ``answers`` (any iterable of str; first seen among equals); None
    when there are no answers."""
    return leader(Counter(answers))[0]  # Counter keeps first-seen order


def leader(counts: Mapping[str, int] | Iterable[str]) -> tuple[str | None, int, int]:
    """(winner, top1, top2): the leading answer, its votes and the runner-up's (0 with one
    answer; ``(None, 0, 0)`` with none). ``counts`` is insertion-ordered vote counts
    (``{"42": 3, "7": 1}``) or any iterable of answers (``["42", "7", "42"]``), counted in
    first-seen order. Ties go to the answer seen first."""
    if not isinstance(counts, dict):
        if isinstance(counts, str):
            raise TypeError("leader() takes vote counts or an iterable of answers, not one str")
        counts = dict(counts) if isinstance(counts, Mapping) else Counter(counts)
    winner: str | None = None
    top1 = top2 = 0
    for a, c in counts.items():
        if c > top1:
            top2, top1, winner = top1, c, a
        elif c > top2:
            top2 = c
    return winner, top1, top2


_CONF: dict[tuple[int, int], float] = {}


def beta_confidence(top1: int, top2: int) -> float:
    """Takes the leader's and the runner-up's vote counts (``leader(...)[1:]``).
    ``1 - I_0.5(top1 + 1, top2 + 1)``: the posterior probability that the leading answer is
    really the more likely one; 0 when there are no votes.

    For integer arguments ``1 - I_0.5(a, b) = P[Binomial(a + b - 1, 1/2) < a]``, computed here
    exactly in integers and rounded once, so it needs no scipy and is memoised.
    """
    key = (top1, top2)
    c = _CONF.get(key)
    if c is None:
        if top1 <= 0:
            c = 0.0
        else:
            a, n = top1 + 1, top1 + top2 + 1
            c = sum(comb(n, j) for j in range(a)) / 2**n
        _CONF[key] = c
    return c
