"""Spending within a budget: what the built-in controllers do when ``session.remaining_budget``
is not None. Without a budget these are the plain actions, so nothing changes."""

from __future__ import annotations

from ..env import BudgetExceeded, Session


def read_within_budget(session: Session, k: int) -> list[str]:
    """The final answers of the next ``k`` chains, or, under a budget, of as many of them as it
    pays for: chains are read one at a time until the next would not fit (the session refuses
    it and the episode counts as truncated)."""
    if session.remaining_budget is None:
        return session.read(k)
    answers: list[str] = []
    for _ in range(k):
        try:
            answers += session.read(1)
        except BudgetExceeded:
            break
    return answers
