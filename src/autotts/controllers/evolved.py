"""evolved: the controller the LLM-free evolve proposer discovered (built-in `evolved`).

Found by `autotts discover --proposer evolve --search-env ../shared/replay/*/aime24.json
--heldout-env ../shared/replay/*/aime25.json --budget-minutes 30 --seed 0` (candidate r1c0, 7
rounds of 24 generations; with `--rounds 7` instead of `--budget-minutes 30` it breeds the same
genomes and selects this one on any machine). Selected by its validation-fold fitness on the
aime24 search split only; docs/measured.md has its held-out comparison with CMC.

Width: starts with `n_init` chains and opens more chains when the finished answers' confidence
has not improved for a few steps.
Depth: advances every live chain one interval per step, probing after every advance.
Pruning: abandons chains that keep disagreeing with the finished majority, keeping `floor` live.
Stopping: after `warm_up` steps, if the Beta confidence of the finished answers reaches
`conf_threshold`; at most `max_steps` steps.
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
        "stop": "conf",
        "stop2": "none",
        "trim": "none",
        "vote": "finished",
        "widen": "plateau",
    },
    "genes": {
        "conf_threshold": [0.8064, 0.999, 0.33],
        "floor": [1.0, 2.0, 4.0],
        "max_chains": [4.0, 58.0, 1.17],
        "max_steps": [63.0, 124.0, 2.82],
        "min_complete": [2.0, 9.0, 3.62],
        "n_init": [15.0, 16.0, 0.58],
        "patience": [9.0, 15.0, 1.79],
        "plateau_steps": [4.0, 1.0, 0.86],
        "warm_up": [1.0, 12.0, 0.68],
        "widen_burst": [1.0, 5.0, 0.84],
    },
}


@register
class Evolved(Controller):
    """Opens up to 16 chains, widens on a confidence plateau, stops at a bar beta raises."""

    name = "evolved"
    uses_beta = True

    @classmethod
    def schedule(cls, beta):
        b = min(1.0, max(0.0, beta))
        return {
            "n_init": round(15 + 1 * b**0.58),  # chains opened at the start
            "max_chains": round(4 + 54 * b**1.17),  # most chains ever opened
            "warm_up": round(1 + 11 * b**0.68),  # steps before pruning, stopping and aligned bursts
            "max_steps": round(63 + 61 * b**2.82),  # hard bound on steps
            "widen_burst": round(1 + 4 * b**0.84),  # chains opened per widening
            "plateau_steps": round(4 - 3 * b**0.86),  # widen after this many steps without gain
            "conf_threshold": 0.8064 + 0.1926 * b**0.33,  # confidence needed to stop
            "min_complete": round(2 + 7 * b**3.62),  # finished answers needed to stop on confidence
            "patience": round(9 + 6 * b**1.79),  # steps off the majority before a prune
            "floor": round(1 + 1 * b**4.0),  # live chains never pruned below
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
            best_conf, flat = 0.0, 0
            for step in range(s["max_steps"]):
                warm = step >= s["warm_up"]
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
                if warm and complete >= s["min_complete"] and conf >= s["conf_threshold"]:
                    return answer()
                if not live:
                    break
                if conf > best_conf:
                    best_conf, flat = conf, 0
                else:
                    flat += 1
                grow = flat >= s["plateau_steps"] and conf < s["conf_threshold"]
                if grow and session.n_open < max_chains and step >= max(1, s["warm_up"] // 2):
                    open_chains(min(s["widen_burst"], max_chains - session.n_open))
        except BudgetExceeded:  # the budget is spent: answer with what was seen
            pass
        return answer()
