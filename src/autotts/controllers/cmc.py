"""CMC, the Confidence Momentum Controller discovered in the AutoTTS paper (ALGORITHMS.md).

A small pool of chains grows while the confidence of the completed answers stalls; chains that
keep disagreeing with the completed majority are abandoned; chains agreeing with it get deeper
bursts; it stops once an EMA of the Beta confidence is high and not falling. Under a budget
it stops at the first action the budget refuses and answers with the completed majority.
"""

from __future__ import annotations

from typing import Any

from ..env import BudgetExceeded, Session
from .base import Controller, register
from .voting import beta_confidence, leader, vote


@register
class ConfidenceMomentum(Controller):
    """CMC: grow a small pool while the completed answers' confidence stalls, abandon chains
    that keep disagreeing, stop once a momentum of the Beta confidence is high and steady."""

    name = "cmc"
    uses_beta = True

    @classmethod
    def schedule(cls, beta: float) -> dict[str, Any]:
        b = min(1.0, max(0.0, beta))
        return {
            "n_init": max(2, round(2 + 6 * b)),
            "max_chains": min(64, round(4 + 60 * b)),
            "warm_up": max(2, round(2 + 8 * b)),
            "abandon_patience": max(3, round(3 + 9 * b)),
            "window": max(2, round(2 + 6 * b)),
            "alpha": round(0.70 - 0.40 * b, 4),
            "conf_threshold": round(0.85 + 0.12 * b, 4),
            "delta_slack": round(0.04 - 0.03 * b, 4),
            "burst_aligned": max(1, round(1 + 2 * b)),
            "widen_burst": max(1, round(1 + 3 * b)),
            "trend_threshold": round(0.04 - 0.03 * b, 4),
            "min_complete": max(2, round(2 + 3 * b)),
        }

    def solve(self, session: Session) -> str | None:
        s = self.settings
        warm_up, patience, window = s["warm_up"], s["abandon_patience"], s["window"]
        alpha, threshold = s["alpha"], s["conf_threshold"]
        burst_aligned = s["burst_aligned"]
        step_chain = session.step
        max_chains = min(s["max_chains"], session.n_available)

        latest: list[str] = []
        depth: list[int] = []  # advances received after opening
        disagree: list[int] = []
        done: list[bool] = []  # finished
        live: list[int] = []  # chains neither finished nor abandoned, in opening order
        pool: dict[str, int] = {}  # completed answers: counts in first-completed order
        n_pool = 0

        def open_chains(k: int) -> None:
            nonlocal n_pool
            for _ in range(k):
                i = session.branch()
                latest.append(session.probe(i))
                depth.append(0)
                disagree.append(0)
                done.append(session.is_finished(i))
                if done[i]:
                    pool[latest[i]] = pool.get(latest[i], 0) + 1
                    n_pool += 1
                else:
                    live.append(i)

        def affordable(k: int) -> int:
            """Of ``k`` new chains, how many the budget can carry to their end along with the
            live ones (a chain's length estimated by the finished chains', else by the deepest
            live chain's depth + one interval). All ``k`` without a budget."""
            left = session.remaining_budget
            if left is None:
                return k
            ended = [session.chain_tokens(i) for i in range(session.n_open) if done[i]]
            depth_now = max((session.chain_tokens(i) for i in live), default=0)
            length = sum(ended) / len(ended) if ended else depth_now + session.interval
            owed = sum(max(0.0, length - session.chain_tokens(i)) for i in live)
            return max(0, min(k, int((left - owed) // max(length, 1.0))))

        try:
            open_chains(min(s["n_init"], max_chains))
            ema = 0.0
            ema_window: list[float] = []
            for step in range(500):
                # (a, b) confidence of the completed pool, smoothed
                winner, top1, top2 = leader(pool)
                warm = step >= warm_up
                ema = (1 - alpha) * ema + alpha * beta_confidence(top1, top2)
                ema_window.append(ema)
                if len(ema_window) > window:
                    del ema_window[0]
                # (c) abandon chains that keep disagreeing with the completed majority
                if warm and winner is not None:
                    for i in live:
                        disagree[i] = disagree[i] + 1 if latest[i] != winner else 0
                    stale = [i for i in live if disagree[i] >= patience]
                    if stale and len(live) > 2:
                        stale.sort(key=lambda i: -disagree[i])
                        for i in stale[: len(live) - 2]:
                            session.prune(i)
                        gone = set(stale[: len(live) - 2])
                        live = [i for i in live if i not in gone]
                # (d) depth: deepest chains first; chains agreeing with the majority get a burst
                aligned = winner if warm else None
                finished_any = False
                for i in sorted(
                    live, key=depth.__getitem__, reverse=True
                ):  # stable: ties by opening
                    burst = burst_aligned if aligned is not None and latest[i] == aligned else 1
                    answer, finished = step_chain(i, burst)
                    latest[i] = answer
                    depth[i] += burst
                    if finished:
                        pool[answer] = pool.get(answer, 0) + 1
                        n_pool += 1
                        done[i] = finished_any = True
                if finished_any:
                    live = [i for i in live if not done[i]]
                # (e) refresh the confidence after this round of depth
                winner, top1, top2 = leader(pool)
                ema = (1 - alpha) * ema + alpha * beta_confidence(top1, top2)
                ema_window[-1] = ema
                delta = ema_window[-1] - ema_window[0] if len(ema_window) >= 2 else 0.0
                # (f) stop gate
                if (
                    warm
                    and n_pool >= s["min_complete"]
                    and ema >= threshold
                    and (delta >= -s["delta_slack"])
                ):
                    return winner
                # (g) nothing left to advance
                if not live:
                    break
                # (h) widen while confidence stalls
                if (
                    session.n_open < max_chains
                    and delta <= s["trend_threshold"]
                    and step >= max(1, warm_up // 2)
                    and ema < threshold
                ):
                    open_chains(affordable(min(s["widen_burst"], max_chains - session.n_open)))
        except BudgetExceeded:  # the budget is spent: answer with what was seen
            pass
        if pool:
            return leader(pool)[0]
        return vote(latest[i] for i in live)
