"""Parallel-Probe (arXiv 2602.03845): many chains in lockstep, prune the off-majority ones,
stop once the majority of latest answers has been stable for T steps (ALGORITHMS.md). Under a
budget it stops at the first action the budget refuses and answers with the latest majority."""

from __future__ import annotations

from typing import Any, ClassVar

from ..env import BudgetExceeded, Session
from .base import Controller, register
from .voting import vote


@register
class ParallelProbe(Controller):
    """Parallel-Probe: advance many chains in lockstep, prune off-majority ones, stop once the
    majority of latest answers has been stable for T steps."""

    name = "parallel_probe"
    defaults: ClassVar[dict[str, Any]] = {
        "chains": 64,
        "T": 14,
        "prune_patience": 8,
        "warm_up": 10,
        "burst": 1,
        "max_steps": 100,
    }
    bounds: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        "chains": (1, None),
        "T": (1, None),
        "prune_patience": (1, None),
        "warm_up": (0, None),
        "burst": (1, None),
        "max_steps": (1, None),
    }

    def solve(self, session: Session) -> str | None:
        latest: list[str] = []  # each chain's latest answer
        pruned: list[bool] = []
        try:
            return self._run(session, latest, pruned)
        except BudgetExceeded:  # the budget is spent: the vote of the chains not pruned
            return vote(a for a, gone in zip(latest, pruned, strict=False) if not gone)

    def _run(self, session: Session, latest: list[str], pruned: list[bool]) -> str | None:
        s = self.settings
        patience, warm_up, burst, stable_needed = (
            s["prune_patience"],
            s["warm_up"],
            s["burst"],
            s["T"],
        )
        finished: list[bool] = []
        for _ in range(min(s["chains"], session.n_available)):
            i = session.branch()
            latest.append(session.probe(i))
            pruned.append(False)
            finished.append(session.is_finished(i))
        n = len(latest)
        off_track = [0] * n
        prev_winner: str | None = None
        stable = 0
        for step in range(s["max_steps"]):
            for i in range(n):
                if not (pruned[i] or finished[i]):
                    latest[i], finished[i] = session.step(i, burst)
            active = [i for i in range(n) if not pruned[i]]
            if not active:
                break
            winner = vote(latest[i] for i in active)
            if step >= warm_up and len(active) > 1:
                running = [i for i in active if not finished[i]]
                for i in running:
                    off_track[i] = off_track[i] + 1 if latest[i] != winner else 0
                dropped = [i for i in running if off_track[i] >= patience]
                if dropped:
                    for i in dropped:
                        pruned[i] = True
                        session.prune(i)
                    active = [i for i in active if not pruned[i]]
                    if not active:
                        break
                    winner = vote(latest[i] for i in active)
            stable = stable + 1 if winner == prev_winner else 0
            prev_winner = winner
            if stable >= stable_needed:
                return winner
            if all(pruned[i] or finished[i] for i in range(n)):
                break
        return prev_winner
