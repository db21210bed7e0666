"""evolved: the controller the LLM-free evolve proposer discovered (built-in `evolved`).

Found by `autotts discover --proposer evolve --search-env ../shared/replay/*/aime24.json
--heldout-env ../shared/replay/*/aime25.json --budget-minutes 30 --seed 0` (candidate r114c0,
166 rounds; with `--rounds 166` instead of `--budget-minutes 30` it breeds the same genomes and
selects this one on any machine). Selected on the aime24 search split only; the README has its
held-out comparison with CMC.

Width: starts with `n_init` chains and opens more chains while an EMA of the finished answers'
Beta confidence stalls.
Depth: advances every live chain one interval per step, probing after every advance.
Pruning: abandons chains that keep disagreeing with the finished majority, keeping `floor` live.
Stopping: after `warm_up` steps, if an EMA of that confidence reaches `conf_threshold` and is
not falling; at most `max_steps` steps.
Answer: the vote of the finished answers.
Budget: stops at the first action the budget refuses and answers as above.
"""

from collections.abc import Iterable

from ..env import BudgetExceeded, Session
from .base import Controller, register
from .voting import beta_confidence, leader

# the genome the search bred (mechanisms and beta schedules); not used at run time
GENOME = {
    "choices": {
        "cap": "none",
        "depth": "uniform",
        "err": "count",
        "join": "any",
        "probe": "every",
        "prune": "abandon",
        "retire": "none",
        "stop": "ema",
        "stop2": "none",
        "trim": "none",
        "vote": "finished",
        "widen": "trend",
    },
    "genes": {
        "alpha": [0.8487, 0.7018, 0.73],
        "conf_threshold": [0.7117, 0.9842, 3.01],
        "floor": [1.0, 1.0, 1.66],
        "max_chains": [2.0, 61.0, 2.45],
        "max_steps": [139.0, 160.0, 0.67],
        "min_complete": [2.0, 3.0, 0.88],
        "n_init": [2.0, 10.0, 0.47],
        "patience": [7.0, 12.0, 0.69],
        "slack": [0.0407, 0.0144, 0.81],
        "trend": [-0.05, 0.0004, 3.14],
        "warm_up": [0.0, 11.0, 0.88],
        "widen_burst": [1.0, 6.0, 1.71],
        "window": [3.0, 10.0, 0.97],
    },
}


@register
class Evolved(Controller):
    """CMC's mechanisms with all chains advanced alike and every schedule re-bred: widen while confidence stalls, abandon dissenters, stop on a steady EMA."""

    name = "evolved"
    uses_beta = True

    @classmethod
    def schedule(cls, beta):
        b = min(1.0, max(0.0, beta))
        return {
            "n_init": round(2 + 8 * b**0.47),  # chains opened at the start
            "max_chains": round(2 + 59 * b**2.45),  # most chains ever opened
            "warm_up": round(0 + 11 * b**0.88),  # steps before pruning, stopping and aligned bursts
            "max_steps": round(139 + 21 * b**0.67),  # hard bound on steps
            "widen_burst": round(1 + 5 * b**1.71),  # chains opened per widening
            "trend": -0.05 + 0.0504 * b**3.14,  # widen while the EMA rose by at most this
            "alpha": 0.8487 - 0.1469 * b**0.73,  # EMA rate of the confidence
            "window": round(3 + 7 * b**0.97),  # steps over which the EMA trend is taken
            "conf_threshold": 0.7117 + 0.2725 * b**3.01,  # confidence needed to stop
            "slack": 0.0407 - 0.0263 * b**0.81,  # how far the EMA may be falling at a stop
            "min_complete": round(2 + 1 * b**0.88),  # finished answers needed to stop on confidence
            "patience": round(7 + 5 * b**0.69),  # steps off the majority before a prune
            "floor": 1,  # live chains never pruned below
        }

    def solve(self, session: Session) -> str | None:
        s = self.settings
        max_chains = min(s["max_chains"], session.n_available)
        latest: list[str] = []  # latest answer seen on each chain
        off: list[int] = []  # consecutive steps off the majority
        done: list[bool] = []  # finished
        pruned: list[bool] = []
        live: list[int] = []  # running chains, in opening order
        pool: dict[str, int] = {}  # finished answers -> count, in order of finishing

        def open_chains(k: int) -> None:
            for _ in range(k):
                i = session.branch()
                latest.append(session.probe(i))
                off.append(0)
                pruned.append(False)
                done.append(session.is_finished(i))
                if done[i]:
                    pool[latest[i]] = pool.get(latest[i], 0) + 1
                else:
                    live.append(i)

        def counts(answers: Iterable[str]) -> dict[str, int]:
            tally: dict[str, int] = {}
            for a in answers:
                tally[a] = tally.get(a, 0) + 1
            return tally

        def top(tally: dict[str, int]) -> tuple[str | None, int, int]:  # winner, top1, top2
            return leader(tally)

        def current() -> dict[str, int]:  # the latest answers of chains not pruned
            return counts(latest[i] for i in range(len(latest)) if not pruned[i])

        def answer() -> str | None:
            if pool:
                return top(pool)[0]
            return top(current())[0]

        try:
            open_chains(min(s["n_init"], max_chains))
            ema = 0.0  # EMA of the confidence
            trail: list[float] = []  # its recent values
            for step in range(s["max_steps"]):
                warm = step >= s["warm_up"]
                _, top1, top2 = top(pool)
                ema = (1 - s["alpha"]) * ema + s["alpha"] * beta_confidence(top1, top2)
                trail.append(ema)
                if len(trail) > s["window"]:
                    del trail[0]
                winner = top(pool)[0]
                if warm and winner is not None:
                    for i in live:
                        off[i] = off[i] + 1 if latest[i] != winner else 0
                    stale = [i for i in live if off[i] >= s["patience"]]
                    stale.sort(key=lambda i: -off[i])
                    for i in stale[: max(0, len(live) - s["floor"])]:
                        session.prune(i)
                        pruned[i] = True
                    live = [i for i in live if not pruned[i]]
                chosen = [(i, 1) for i in live]
                for i, burst in chosen:
                    a, finished = session.step(i, burst)
                    latest[i] = a
                    if finished:
                        pool[latest[i]] = pool.get(latest[i], 0) + 1
                        done[i] = True
                live = [i for i in live if not done[i]]
                _, top1, top2 = top(pool)
                conf = beta_confidence(top1, top2)
                complete = sum(pool.values())
                ema = (1 - s["alpha"]) * ema + s["alpha"] * conf
                trail[-1] = ema
                rise = trail[-1] - trail[0]
                if (
                    warm
                    and complete >= s["min_complete"]
                    and ema >= s["conf_threshold"]
                    and rise >= -s["slack"]
                ):
                    return answer()
                if not live:
                    break
                grow = rise <= s["trend"] and ema < s["conf_threshold"]
                if grow and session.n_open < max_chains and step >= max(1, s["warm_up"] // 2):
                    open_chains(min(s["widen_burst"], max_chains - session.n_open))
        except BudgetExceeded:  # the budget is spent: answer with what was seen
            pass
        return answer()
