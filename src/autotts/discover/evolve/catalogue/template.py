"""The code of every mechanism option, as one real controller: :class:`Template`'s ``solve`` runs
any genome (the plan ``p`` says which options), each option's lines under a guard that reads
only ``p``. :func:`..specialize.specialize` folds the guards for one genome: what is left is the
rendered controller's ``solve``, and it does what this code does with that plan.

Conventions the specializer relies on (and its tests check): a guard is an expression that
reads ``p`` and nothing else; ``p = self.plan`` is the only line that binds ``p``; runtime
``if`` statements have no ``elif``; a comment that belongs to a guarded block goes inside it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from autotts.controllers import Controller, beta_confidence, leader
from autotts.env import BudgetExceeded, Session


@dataclass(frozen=True)
class Plan:
    """A genome's choices (one option per mechanism) and what follows from them."""

    widen: str
    depth: str
    probe: str
    prune: str
    retire: str
    trim: str
    stop: str
    stop2: str
    join: str
    cap: str
    vote: str
    err: str

    @property
    def rules(self) -> tuple[str, ...]:
        """The distinct stop rules, in order."""
        return (self.stop,) if self.stop2 in ("none", self.stop) else (self.stop, self.stop2)

    def uses(self, rule: str) -> bool:
        return rule in self.rules

    @property
    def uses_ema(self) -> bool:
        """A stop or widen rule reads CMC's confidence EMA."""
        return self.uses("ema") or self.widen == "trend"

    @property
    def uses_conf(self) -> bool:
        """A stop or widen rule reads the finished answers' Beta confidence."""
        return self.uses("conf") or self.uses_ema or self.widen == "plateau"

    @property
    def gated(self) -> bool:
        """Off-majority counts only look at chains probed since the last count (with focused
        depth or sparse probes, a chain left waiting must not count as off)."""
        focused = self.depth in ("deepest", "shallowest") or self.probe == "sparse"
        return self.prune != "none" and focused

    @property
    def holds(self) -> bool:
        """Counts how long each chain's answer has held (implies ``probe=every``)."""
        return self.retire != "none" or self.vote == "steady"

    @property
    def reads_depth(self) -> bool:
        """Reads how far each chain has advanced."""
        return (
            self.depth in ("aligned", "deepest", "shallowest", "leader") or self.vote == "weighted"
        )


class Template(Controller):
    """Every option of the catalogue; ``plan`` and ``schedule`` say which and with what."""

    name = "evolve-template"
    uses_beta = True
    plan: ClassVar[Plan]

    def solve(self, session: Session) -> str | None:
        p = self.plan
        s = self.settings
        if p.widen != "none":
            max_chains = min(s["max_chains"], session.n_available)
        else:
            max_chains = min(s["n_init"], session.n_available)
        latest: list[str] = []  # latest answer seen on each chain
        if p.reads_depth:
            depth: list[int] = []  # intervals advanced after opening
        if p.prune != "none":
            off: list[int] = []  # consecutive steps off the majority
        if p.gated:
            fresh: list[bool] = []  # probed since the off-majority count last looked
        if p.holds:
            same: list[int] = []  # consecutive probes showing the same answer
        done: list[bool] = []  # finished
        pruned: list[bool] = []
        live: list[int] = []  # running chains, in opening order
        pool: dict[str, int] = {}  # finished answers -> count, in order of finishing

        def open_chains(k: int) -> None:
            for _ in range(k):
                i = session.branch()
                latest.append(session.probe(i))
                if p.reads_depth:
                    depth.append(0)
                if p.prune != "none":
                    off.append(0)
                if p.gated:
                    fresh.append(True)
                if p.holds:
                    same.append(1)
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
            if p.err == "ignore":
                clean = {a: n for a, n in tally.items() if a != "ERR"}  # ERR only if alone
                return leader(clean or tally)
            else:
                return leader(tally)

        def current() -> dict[str, int]:  # the latest answers of chains not pruned
            return counts(latest[i] for i in range(len(latest)) if not pruned[i])

        def answer() -> str | None:
            if p.vote == "weighted":
                weights = {a: float(n) for a, n in pool.items()}
                for i in live:
                    w = s["weight"] * depth[i] / (depth[i] + 8)
                    weights[latest[i]] = weights.get(latest[i], 0.0) + w
                if p.err == "ignore":
                    weights = {a: n for a, n in weights.items() if a != "ERR"} or weights
                if weights:
                    return max(weights, key=lambda a: weights[a])  # first seen among equals
            if p.vote == "shorter":
                ended = [i for i in range(len(latest)) if done[i]]
                if ended:
                    shortest = min(session.chain_tokens(i) for i in ended)
                    weights = {}
                    for i in ended:
                        w = (shortest / max(1, session.chain_tokens(i))) ** s["gamma"]
                        weights[latest[i]] = weights.get(latest[i], 0.0) + w
                    if p.err == "ignore":
                        weights = {a: n for a, n in weights.items() if a != "ERR"} or weights
                    return max(weights, key=lambda a: weights[a])  # first seen among equals
            if p.vote == "steady":
                ended = [i for i in range(len(latest)) if done[i]]
                if ended:
                    weights = {}
                    for i in ended:
                        w = 1 + s["lean"] * min(same[i], 8) / 8
                        weights[latest[i]] = weights.get(latest[i], 0.0) + w
                    if p.err == "ignore":
                        weights = {a: n for a, n in weights.items() if a != "ERR"} or weights
                    return max(weights, key=lambda a: weights[a])  # first seen among equals
            if p.vote == "finished" and pool:
                return top(pool)[0]
            return top(current())[0]

        try:
            open_chains(min(s["n_init"], max_chains))
            if p.uses_ema:
                ema = 0.0  # EMA of the confidence
                trail: list[float] = []  # its recent values
            if p.uses("stable"):
                previous: str | None = None
                stable = 0
            if p.widen == "plateau":
                best_conf, flat = 0.0, 0
            for step in range(s["max_steps"]):
                warm = step >= s["warm_up"]
                if p.uses_ema:  # CMC's momentum: updated before and again after the depth
                    _, top1, top2 = top(pool)
                    ema = (1 - s["alpha"]) * ema + s["alpha"] * beta_confidence(top1, top2)
                    trail.append(ema)
                    if len(trail) > s["window"]:
                        del trail[0]
                if p.prune == "off_majority" and warm and len(live) > 1:
                    target = top(current())[0]
                    for i in live:
                        if p.gated:
                            if fresh[i]:
                                off[i] = off[i] + 1 if latest[i] != target else 0
                                fresh[i] = False
                        else:
                            off[i] = off[i] + 1 if latest[i] != target else 0
                    stale = [i for i in live if off[i] >= s["patience"]][: len(live) - 1]
                    for i in stale:
                        session.prune(i)
                        pruned[i] = True
                    live = [i for i in live if not pruned[i]]
                if p.prune == "abandon":
                    winner = top(pool)[0]
                    if warm and winner is not None:
                        for i in live:
                            if p.gated:
                                if fresh[i]:
                                    off[i] = off[i] + 1 if latest[i] != winner else 0
                                    fresh[i] = False
                            else:
                                off[i] = off[i] + 1 if latest[i] != winner else 0
                        stale = [i for i in live if off[i] >= s["patience"]]
                        stale.sort(key=lambda i: -off[i])
                        for i in stale[: max(0, len(live) - s["floor"])]:
                            session.prune(i)
                            pruned[i] = True
                        live = [i for i in live if not pruned[i]]
                if p.trim == "overlong":
                    lengths = [session.chain_tokens(i) for i in range(len(latest)) if done[i]]
                    if lengths and len(live) > s["floor"]:
                        limit = s["stretch"] * min(lengths)
                        long = [i for i in live if session.chain_tokens(i) > limit]
                        long.sort(key=lambda i: -session.chain_tokens(i))
                        for i in long[: len(live) - s["floor"]]:
                            session.prune(i)
                            pruned[i] = True
                        live = [i for i in live if not pruned[i]]
                if p.depth == "uniform":
                    chosen = [(i, 1) for i in live]
                if p.depth in ("aligned", "leader"):
                    if p.depth == "aligned":
                        winner = top(pool)[0] if warm else None
                    else:
                        winner = top(current())[0] if warm else None
                    chosen = [
                        (i, s["burst"] if winner is not None and latest[i] == winner else 1)
                        for i in sorted(live, key=lambda i: -depth[i])
                    ]
                if p.depth == "deepest":
                    chosen = [(i, 1) for i in sorted(live, key=lambda i: -depth[i])[: s["focus"]]]
                if p.depth == "shallowest":
                    chosen = [(i, 1) for i in sorted(live, key=lambda i: depth[i])[: s["focus"]]]
                if p.depth == "support":
                    tally = current()
                    n = sum(tally.values())
                    chosen = [(i, 1 + round((s["burst"] - 1) * tally[latest[i]] / n)) for i in live]
                for i, burst in chosen:
                    if p.probe == "every":
                        a, finished = session.step(i, burst)
                        if p.gated:
                            fresh[i] = True
                        if p.holds:
                            same[i] = same[i] + 1 if a == latest[i] else 1
                        latest[i] = a
                    else:  # (counting held answers implies probe=every)
                        finished = session.advance(i, burst)
                        if finished or (step + 1) % s["probe_every"] == 0:
                            if p.gated:
                                fresh[i] = True
                            latest[i] = session.probe(i)
                    if p.reads_depth:
                        depth[i] += burst
                    if (
                        p.retire == "settled"
                        and not finished
                        and same[i] >= s["settle"]
                        and latest[i] != "ERR"
                    ):
                        session.prune(i)  # retired: its answer counts as finished
                        finished = True
                    if p.retire == "agreeing" and (
                        not finished
                        and same[i] >= s["settle"]
                        and latest[i] != "ERR"
                        and latest[i] == top(current())[0]
                    ):
                        session.prune(i)  # retired: its answer counts as finished
                        finished = True
                    if finished:
                        pool[latest[i]] = pool.get(latest[i], 0) + 1
                        done[i] = True
                live = [i for i in live if not done[i]]
                if p.uses_conf:
                    _, top1, top2 = top(pool)
                    conf = beta_confidence(top1, top2)
                    complete = sum(pool.values())
                if p.uses_ema:
                    ema = (1 - s["alpha"]) * ema + s["alpha"] * conf
                    trail[-1] = ema
                    rise = trail[-1] - trail[0]
                if p.uses("stable"):
                    now = top(current())[0]
                    stable = stable + 1 if now == previous else 0
                    previous = now
                if warm and (
                    (
                        (p.uses("stable") and stable >= s["stable_steps"])
                        or (
                            p.uses("conf")
                            and complete >= s["min_complete"]
                            and conf >= s["conf_threshold"]
                        )
                        or (
                            p.uses("ema")
                            and complete >= s["min_complete"]
                            and ema >= s["conf_threshold"]
                            and rise >= -s["slack"]
                        )
                    )
                    if p.join == "any"
                    else (
                        (not p.uses("stable") or stable >= s["stable_steps"])
                        and (
                            not p.uses("conf")
                            or (complete >= s["min_complete"] and conf >= s["conf_threshold"])
                        )
                        and (
                            not p.uses("ema")
                            or (
                                complete >= s["min_complete"]
                                and ema >= s["conf_threshold"]
                                and rise >= -s["slack"]
                            )
                        )
                    )
                ):
                    return answer()
                if p.cap == "tokens" and session.tokens >= s["token_cap"]:
                    return answer()
                if not live:
                    break
                if p.widen != "none":
                    if p.widen == "trend":
                        grow = rise <= s["trend"] and ema < s["conf_threshold"]
                    if p.widen == "plateau":
                        if conf > best_conf:
                            best_conf, flat = conf, 0
                        else:
                            flat += 1
                        grow = flat >= s["plateau_steps"] and conf < s["conf_threshold"]
                    if p.widen == "disagree":
                        tally = current()
                        grow = max(tally.values()) < s["agree"] * sum(tally.values())
                    if p.widen == "ramp":
                        grow = (step + 1) % s["plateau_steps"] == 0
                    if grow and session.n_open < max_chains and step >= max(1, s["warm_up"] // 2):
                        open_chains(min(s["widen_burst"], max_chains - session.n_open))
        except BudgetExceeded:  # the budget is spent: answer with what was seen
            pass
        return answer()
