"""Full-read baselines: self-consistency and its adaptive variants (ALGORITHMS.md)."""

from __future__ import annotations

from typing import Any, ClassVar

from ..env import BudgetExceeded, Session
from .base import Controller, register
from .voting import beta_confidence, leader, vote


def read_within_budget(session: Session, k: int) -> list[str]:
    """The final answers of the next ``k`` chains, or, under a budget, of as many of them as it
    pays for: chains are read one at a time until the next would not fit (the session refuses
    it and the episode counts as truncated). Without a budget, the one READ of ``k`` chains."""
    if session.remaining_budget is None:
        return session.read(k)
    answers: list[str] = []
    for _ in range(k):
        try:
            answers += session.read(1)
        except BudgetExceeded:
            break
    return answers


@register
class SelfConsistency(Controller):
    """SC@k: read k full chains (every chain if there are fewer), return the majority answer.
    Under a budget it reads the chains that fit."""

    name = "sc"
    defaults: ClassVar[dict[str, Any]] = {"k": 64}
    bounds: ClassVar[dict[str, tuple[float | None, float | None]]] = {"k": (1, None)}

    def solve(self, session: Session) -> str | None:
        return vote(read_within_budget(session, min(self.settings["k"], session.n_available)))


@register
class AdaptiveConsistency(Controller):
    """ASC: read chains one at a time; stop once the Beta confidence of the leader exceeds the
    threshold (strictly), or when the budget pays for no further chain."""

    name = "asc"
    defaults: ClassVar[dict[str, Any]] = {"max_samples": 64, "threshold": 0.95}
    bounds: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "max_samples": (1, None),
        "threshold": (0, 1),
    }

    def solve(self, session: Session) -> str | None:
        threshold = self.settings["threshold"]
        capped = session.remaining_budget is not None
        counts: dict[str, int] = {}
        for n in range(1, min(self.settings["max_samples"], session.n_available) + 1):
            got = read_within_budget(session, 1) if capped else session.read(1)
            if not got:
                break
            a = got[0]
            counts[a] = counts.get(a, 0) + 1
            if n >= 2:
                winner, top1, top2 = leader(counts)
                if beta_confidence(top1, top2) > threshold:
                    return winner
        return leader(counts)[0]


@register
class EarlyStoppingConsistency(Controller):
    """ESC: read windows of chains; stop at the first window whose answers all agree (or when
    the budget pays for no full window)."""

    name = "esc"
    defaults: ClassVar[dict[str, Any]] = {"max_samples": 64, "window": 8}
    bounds: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "max_samples": (1, None),
        "window": (1, None),
    }

    def solve(self, session: Session) -> str | None:
        window = self.settings["window"]
        pool: list[str] = []
        for _ in range(min(self.settings["max_samples"], session.n_available) // window):
            answers = read_within_budget(session, window)
            pool += answers
            if len(answers) < window:
                break
            if len(set(answers)) == 1:
                return answers[0]
        return vote(pool)
