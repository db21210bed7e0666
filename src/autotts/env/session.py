"""The replay session: one question under one replicate chain order (the MDP of the paper).

Native actions
    ``branch()``       BRANCH: open the next chain in the replicate's order, advance it one interval
    ``advance(i, n)``  CONTINUE: advance chain ``i`` by ``n`` intervals (stops when it finishes)
    ``probe(i)``       PROBE: reveal chain ``i``'s current answer (costs ``kappa_probe``)
    ``step(i, n)``     CONTINUE ``n`` times then PROBE, in one call (the common case)
    ``prune(i)``       PRUNE: drop chain ``i`` for good
    ``read(k)``        READ: take the next ``k`` chains whole and reveal their final answers
    ``answer(a)``      ANSWER: the terminal action (``Controller.solve`` returning ``a`` does it)

Charging (the original evaluator's rules, ``replay/README.md``): opening or advancing charges one
interval while the chain has probe points left; the advance after the last probe point finishes
the chain and charges ``max(0, total_tokens - charged_so_far)``; a full read charges
``total_tokens``. Cost = tokens + ``kappa_probe`` per PROBE. A budget, when set, is checked before
every action: one whose cost would exceed it raises :class:`BudgetExceeded` and changes nothing.

The session records every action with its token charge (``trace()``): controllers need no trace
code. It never holds the gold answer; the chains' unrevealed answers sit in private state that only
the actions read (the discovery sandbox forbids reaching into private attributes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

BRANCH, CONTINUE, PROBE, PRUNE, READ, ANSWER = range(6)
ACTION_NAMES = ("BRANCH", "CONTINUE", "PROBE", "PRUNE", "READ", "ANSWER")


class SessionError(Exception):
    """Base class of everything a session refuses."""


class InvalidAction(SessionError):
    """An action the current state does not allow (unopened, pruned or finished chain, ...)."""


class NoChainsLeft(InvalidAction):
    """Opening or reading more chains than the question has."""


class BudgetExceeded(SessionError):
    """The action would take the episode's cost over its budget (the action was not taken)."""


class EpisodeOver(InvalidAction):
    """An action after the terminal ANSWER."""


class Action(NamedTuple):
    """One recorded action: its kind, the chain it touched (-1 for ANSWER) and the tokens
    it generated. Its cost is ``tokens`` plus ``kappa_probe`` for a PROBE."""

    kind: str
    chain: int
    tokens: int


class Session:
    """One episode. Chains are numbered in the order they were opened (0, 1, ...)."""

    __slots__ = (
        "_answer",
        "_charged",
        "_done",
        "_fin",
        "_finals",
        "_log",
        "_next",
        "_order",
        "_p",
        "_pos",
        "_probes",
        "_pruned",
        "_seen",
        "_spent",
        "_tokens",
        "_tot",
        "budget",
        "interval",
        "kappa_probe",
        "n_available",
        "n_probes",
    )

    def __init__(
        self,
        probes: Sequence[Sequence[str]],
        tokens: Sequence[int],
        finals: Sequence[str],
        order: Sequence[int],
        interval: int,
        *,
        kappa_probe: float = 0.0,
        budget: float | None = None,
    ) -> None:
        self._probes, self._tokens, self._finals, self._order = probes, tokens, finals, order
        self.interval = interval
        self.kappa_probe = kappa_probe
        self.budget = budget
        self.n_available = len(order)  # chains the question has
        self.n_probes = 0  # PROBE actions so far
        self._next = 0
        self._spent = 0  # tokens generated so far
        self._p: list[Sequence[str]] = []  # per opened chain: its probe answers
        self._tot: list[int] = []  # its full length
        self._fin: list[str] = []  # its final answer
        self._pos: list[int] = []  # probe points consumed
        self._charged: list[int] = []  # tokens charged to it
        self._done: list[bool] = []  # finished
        self._pruned: list[bool] = []
        self._seen: list[str | None] = []  # the last answer revealed to the controller
        self._log: list[tuple[int, int, int]] = []
        self._answer: str | None = None

    # ----------------------------------------------------------------- native actions
    def branch(self) -> int:
        """Open the next chain and advance it one interval; returns its index."""
        if self._answer is not None:
            raise EpisodeOver("the episode has already answered")
        k = self._next
        if k >= self.n_available:
            raise NoChainsLeft(f"all {self.n_available} chains are already open")
        j = self._order[k]
        p = self._probes[j]
        tot = self._tokens[j]
        cost = self.interval if p else tot
        if self.budget is not None:
            self._check_budget(cost)
        self._next = k + 1
        self._p.append(p)
        self._tot.append(tot)
        self._fin.append(self._finals[j])
        if p:
            self._pos.append(1)
            self._done.append(False)
        else:
            self._pos.append(0)
            self._done.append(True)
        self._charged.append(cost)
        self._pruned.append(False)
        self._seen.append(None)
        self._spent += cost
        self._log.append((BRANCH, k, cost))
        return k

    def advance(self, i: int, times: int = 1) -> bool:
        """Advance chain ``i`` by up to ``times`` intervals; returns whether it has finished."""
        for _ in range(times):
            if self._advance(i):
                return True
        return False

    def _advance(self, i: int) -> bool:
        try:
            refused = i < 0 or self._pruned[i] or self._done[i] or self._answer is not None
        except (IndexError, TypeError):
            refused = True
        if refused:
            self._refuse(i, "advance")
        pos = self._pos[i]
        if pos < len(self._p[i]):
            cost = self.interval
            self._pos[i] = pos + 1
            done = False
        else:
            cost = self._tot[i] - self._charged[i]
            if cost < 0:
                cost = 0
            done = self._done[i] = True
        if self.budget is not None:
            self._check_budget(cost)
        self._charged[i] += cost
        self._spent += cost
        self._log.append((CONTINUE, i, cost))
        return done

    def probe(self, i: int) -> str:
        """Reveal chain ``i``'s current answer (its final answer once finished)."""
        try:
            refused = i < 0 or self._pruned[i] or self._answer is not None
        except (IndexError, TypeError):
            refused = True
        if refused:
            self._refuse(i, "probe")
        if self.kappa_probe and self.budget is not None:
            self._check_budget(self.kappa_probe)
        a = self._fin[i] if self._done[i] else self._p[i][self._pos[i] - 1]
        self._seen[i] = a
        self.n_probes += 1
        self._log.append((PROBE, i, 0))
        return a

    def step(self, i: int, times: int = 1) -> tuple[str, bool]:
        """``advance(i, times)`` then ``probe(i)``: returns (answer, finished)."""
        done = self.advance(i, times)
        return self.probe(i), done

    def prune(self, i: int) -> None:
        """Drop chain ``i``: it can no longer be advanced or probed."""
        self._index(i)
        if self._pruned[i] or self._answer is not None:
            self._refuse(i, "prune")
        self._pruned[i] = True
        self._log.append((PRUNE, i, 0))

    def read(self, k: int = 1) -> list[str]:
        """Take the next ``k`` chains whole; returns their final answers (charges their lengths)."""
        if self._answer is not None:
            raise EpisodeOver("the episode has already answered")
        start = self._next
        if k < 0 or start + k > self.n_available:
            raise NoChainsLeft(
                f"cannot read {k} more chains: {self.n_available - start} of "
                f"{self.n_available} are left"
            )
        idx = self._order[start : start + k]
        tots = [self._tokens[j] for j in idx]
        fins = [self._finals[j] for j in idx]
        cost = sum(tots)
        if self.budget is not None:
            self._check_budget(cost)
        self._next = start + k
        self._p.extend([self._probes[j] for j in idx])
        self._tot.extend(tots)
        self._fin.extend(fins)
        self._pos.extend([len(self._probes[j]) for j in idx])
        self._charged.extend(tots)
        self._done.extend([True] * k)
        self._pruned.extend([False] * k)
        self._seen.extend(fins)
        self._spent += cost
        self._log.extend([(READ, start + n, t) for n, t in enumerate(tots)])
        return fins

    def answer(self, answer: str | None) -> None:
        """The terminal action."""
        if self._answer is not None:
            raise EpisodeOver("the episode has already answered")
        self._answer = answer if answer is not None else ""
        self._log.append((ANSWER, -1, 0))

    # ----------------------------------------------------------------- observations
    @property
    def n_open(self) -> int:
        """Chains opened so far (including finished and pruned ones)."""
        return self._next

    def is_finished(self, i: int) -> bool:
        return self._done[self._index(i)]

    def is_pruned(self, i: int) -> bool:
        return self._pruned[self._index(i)]

    def live(self) -> list[int]:
        """Open chains that are neither finished nor pruned, in opening order."""
        return [i for i in range(self._next) if not (self._done[i] or self._pruned[i])]

    def chain_tokens(self, i: int) -> int:
        """Tokens charged to chain ``i`` so far (its depth)."""
        return self._charged[self._index(i)]

    def last_revealed(self, i: int) -> str | None:
        """The last answer of chain ``i`` the controller has seen (None if never probed)."""
        return self._seen[self._index(i)]

    @property
    def tokens(self) -> int:
        """Tokens generated so far."""
        return self._spent

    @property
    def cost(self) -> float:
        """Tokens generated plus ``kappa_probe`` per probe."""
        return self._spent + self.kappa_probe * self.n_probes

    @property
    def sequential_tokens(self) -> int:
        """The longest chain's charged tokens (a latency proxy)."""
        return max(self._charged, default=0)

    @property
    def answered(self) -> str | None:
        return self._answer

    def trace(self) -> list[Action]:
        """Every action so far, in order."""
        return [Action(ACTION_NAMES[op], i, t) for op, i, t in self._log]

    # ----------------------------------------------------------------- compatibility surface
    # The method names and charging of the original AutoTTS / Parallel-Probe ``Question`` class,
    # so ``method.py`` controllers written for it run unchanged.
    def probe_new(self) -> tuple[str, int, bool]:
        """Open a new branch: (its first answer, its index, finished)."""
        i = self.branch()
        return self.probe(i), i, self._done[i]

    def probe_more(self, i: int) -> tuple[str, bool]:
        """Advance branch ``i`` one interval: (its answer, finished). Advancing a finished branch
        charges nothing and returns its final answer again."""
        if not self._done[self._index(i)]:
            self._advance(i)
        return self.probe(i), self._done[i]

    def get_new_branch_final_answer(self) -> str:
        """Read a fresh chain whole; returns its final answer."""
        return self.read(1)[0]

    def get_seq_and_total_tokens(self) -> tuple[int, int]:
        """(sequential tokens = longest chain, total tokens generated)."""
        return self.sequential_tokens, self._spent

    # ----------------------------------------------------------------- internals
    def _index(self, i: int) -> int:
        if type(i) is not int and not hasattr(i, "__index__"):
            raise InvalidAction(f"chain index must be an integer, got {type(i).__name__}")
        if not 0 <= i < self._next:
            raise InvalidAction(f"chain {i} has not been opened ({self._next} open)")
        return i

    def _refuse(self, i: int, what: str) -> None:
        if self._answer is not None:
            raise EpisodeOver(f"cannot {what} chain {i}: the episode has already answered")
        self._index(i)
        if self._pruned[i]:
            raise InvalidAction(f"cannot {what} chain {i}: it was pruned")
        raise InvalidAction(f"cannot {what} chain {i}: it has finished")

    def _check_budget(self, cost: float) -> None:
        assert self.budget is not None
        if self.cost + cost > self.budget:
            raise BudgetExceeded(
                f"action costing {cost:g} would take the episode to {self.cost + cost:g} "
                f"(budget {self.budget:g})"
            )
