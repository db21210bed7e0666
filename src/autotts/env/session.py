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
every action: one whose cost would exceed it raises :class:`BudgetExceeded` and changes nothing,
and the episode counts as ``truncated``. Controllers see what is left (``remaining_budget``).

The session records every action with its tokens and cost (``trace()``): controllers need no trace
code. It never holds the gold answer; the chains' unrevealed answers sit in private state that only
the actions read. (Python cannot hide them from code that pokes at private attributes: code
that is not trusted must be kept from doing so by the sandbox that runs it.)
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any, NamedTuple

BRANCH, CONTINUE, PROBE, PRUNE, READ, ANSWER = range(6)
ACTION_NAMES = ("BRANCH", "CONTINUE", "PROBE", "PRUNE", "READ", "ANSWER")
_STEP = 6  # internal log code: a CONTINUE immediately followed by a PROBE (one log entry)
_READS = 7  # internal log code: (_READS, first chain, count) = that many READ actions

# A chain record is a small list (faster to index than attributes on an object):
_POS, _CHARGED, _STATE, _PROBES, _TOTAL, _FINAL, _SEEN = range(7)
_RUNNING, _FINISHED, _PRUNED = 0, 1, 2
_charged_of = itemgetter(_CHARGED)
_final_of = itemgetter(_FINAL)

ReadRecords = Sequence[tuple[Any, ...]]
Record = Any  # a chain record: a list, or a shared tuple for chains read whole


def full_read_records(
    probes: Sequence[Sequence[str]], tokens: Sequence[int], finals: Sequence[str]
) -> ReadRecords:
    """Immutable records of chains read whole, one per chain in released order. Sessions of the
    same question can share them (pass ``read_records=``): a full read then costs one lookup."""
    return [
        (len(p), t, _FINISHED, p, t, f, f) for p, t, f in zip(probes, tokens, finals, strict=True)
    ]


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
    """One recorded action: its kind, the chain it touched (-1 for ANSWER), the tokens it
    generated and its cost (``tokens``, plus ``kappa_probe`` for a PROBE)."""

    kind: str
    chain: int
    tokens: int
    cost: float


class Session:
    """One episode. Chains are numbered in the order they were opened (0, 1, ...)."""

    __slots__ = (
        "_answer",
        "_c",
        "_finals",
        "_log",
        "_order",
        "_probes",
        "_reads",
        "_tokens",
        "budget",
        "interval",
        "kappa_probe",
        "n_available",
        "n_probes",
        "truncated",
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
        read_records: ReadRecords | None = None,
    ) -> None:
        self._probes, self._tokens, self._finals, self._order = probes, tokens, finals, order
        self._reads = read_records
        self.interval = interval
        self.kappa_probe = kappa_probe
        self.budget = budget
        self.n_available = len(order)  # chains the question has
        self.n_probes = 0  # PROBE actions so far
        self.truncated = False  # an action was refused for the budget
        self._c: list[Record] = []  # chain records, in opening order
        self._log: list[tuple[int, int, int]] = []
        self._answer: str | None = None

    # ----------------------------------------------------------------- native actions
    def branch(self) -> int:
        """Open the next chain and advance it one interval; returns its index."""
        if self._answer is not None:
            raise EpisodeOver("the episode has already answered")
        k = len(self._c)
        if k >= self.n_available:
            raise NoChainsLeft(f"all {self.n_available} chains are already open")
        j = self._order[k]
        p = self._probes[j]
        total = self._tokens[j]
        cost = self.interval if p else total
        if self.budget is not None:
            self._check_budget(cost)
        state = _RUNNING if p else _FINISHED
        self._c.append([1 if p else 0, cost, state, p, total, self._finals[j], None])
        self._log.append((BRANCH, k, cost))
        return k

    def advance(self, i: int, times: int = 1) -> bool:
        """Advance chain ``i`` by up to ``times`` intervals; returns whether it has finished."""
        c = self._live(i, "advance", times)
        for _ in range(times):
            pos = c[_POS]
            if pos < len(c[_PROBES]):
                cost = self.interval
                done = False
            else:
                cost = max(0, c[_TOTAL] - c[_CHARGED])
                done = True
            if self.budget is not None:
                self._check_budget(cost)
            if done:
                c[_STATE] = _FINISHED
            else:
                c[_POS] = pos + 1
            c[_CHARGED] += cost
            self._log.append((CONTINUE, i, cost))
            if done:
                return True
        return False

    def probe(self, i: int) -> str:
        """Reveal chain ``i``'s current answer (its final answer once finished)."""
        c = self._acting(i, "probe")
        if c[_STATE] == _PRUNED:
            raise InvalidAction(f"cannot probe chain {i}: it was pruned")
        if self.kappa_probe and self.budget is not None:
            self._check_budget(self.kappa_probe)
        a = c[_FINAL] if c[_STATE] == _FINISHED else c[_PROBES][c[_POS] - 1]
        if c[_SEEN] is not a:  # (shared read records already hold their final answer)
            c[_SEEN] = a
        self.n_probes += 1
        self._log.append((PROBE, i, 0))
        return a

    def step(self, i: int, times: int = 1) -> tuple[str, bool]:
        """``advance(i, times)`` then ``probe(i)``: returns (answer, finished)."""
        if self.budget is not None:
            done = self.advance(i, times)
            return self.probe(i), done
        # The replay loop's hot path: the same as above in one call, logging the last CONTINUE
        # and the PROBE as one entry.
        try:
            c = self._c[i]
            refused = (
                c[_STATE]
                or i < 0
                or type(times) is not int
                or times < 1
                or self._answer is not None
            )
        except (IndexError, TypeError):
            refused = True
        if refused:
            self._live(i, "advance", times)
        pos = c[_POS]
        n = len(c[_PROBES])
        if pos + times <= n:  # every advance stays within the probe points
            cost = self.interval
            c[_POS] = pos = pos + times
            c[_CHARGED] += cost * times
            if times > 1:
                self._log += [(CONTINUE, i, cost)] * (times - 1)
            self._log.append((_STEP, i, cost))
            self.n_probes += 1
            c[_SEEN] = a = c[_PROBES][pos - 1]
            return a, False
        if pos < n:  # some advances use up the probe points, the next one finishes the chain
            self._log += [(CONTINUE, i, self.interval)] * (n - pos)
            c[_CHARGED] += self.interval * (n - pos)
            c[_POS] = n
        cost = c[_TOTAL] - c[_CHARGED]
        if cost < 0:
            cost = 0
        c[_CHARGED] += cost
        c[_STATE] = _FINISHED
        self._log.append((_STEP, i, cost))
        self.n_probes += 1
        c[_SEEN] = a = c[_FINAL]
        return a, True

    def prune(self, i: int) -> None:
        """Drop running chain ``i``: it can no longer be advanced or probed."""
        self._live(i, "prune")[_STATE] = _PRUNED
        self._log.append((PRUNE, i, 0))

    def read(self, k: int = 1) -> list[str]:
        """Take the next ``k`` chains whole; returns their final answers (charges their lengths)."""
        if self._answer is not None:
            raise EpisodeOver("the episode has already answered")
        start = len(self._c)
        if type(k) is not int:
            raise InvalidAction(f"cannot read {k!r} chains: give a whole number")
        if k < 0 or start + k > self.n_available:
            raise NoChainsLeft(
                f"cannot read {k} more chains: {self.n_available - start} of "
                f"{self.n_available} are left"
            )
        idx = self._order[start : start + k]
        if self._reads is None:
            self._reads = full_read_records(self._probes, self._tokens, self._finals)
        reads = self._reads
        records = list(map(reads.__getitem__, idx))  # shared: finished chains are not mutated
        if self.budget is not None:
            self._check_budget(sum(map(_charged_of, records)))
        self._c += records
        self._log.append((_READS, start, k))
        return list(map(_final_of, records))

    def answer(self, answer: str | None) -> None:
        """The terminal action."""
        if self._answer is not None:
            raise EpisodeOver("the episode has already answered")
        if answer is not None and type(answer) is not str:
            raise InvalidAction(f"the answer must be a str, not {type(answer).__name__}")
        self._answer = answer if answer is not None else ""
        self._log.append((ANSWER, -1, 0))

    # ----------------------------------------------------------------- observations
    @property
    def n_open(self) -> int:
        """Chains opened so far (including finished and pruned ones)."""
        return len(self._c)

    def is_finished(self, i: int) -> bool:
        return self._chain(i)[_STATE] == _FINISHED

    def is_pruned(self, i: int) -> bool:
        return self._chain(i)[_STATE] == _PRUNED

    def live(self) -> list[int]:
        """Open chains that are neither finished nor pruned, in opening order."""
        return [i for i, c in enumerate(self._c) if c[_STATE] == _RUNNING]

    def chain_tokens(self, i: int) -> int:
        """Tokens charged to chain ``i`` so far (its depth)."""
        return self._chain(i)[_CHARGED]

    def last_revealed(self, i: int) -> str | None:
        """The last answer of chain ``i`` the controller has seen (None if never probed)."""
        return self._chain(i)[_SEEN]

    @property
    def tokens(self) -> int:
        """Tokens generated so far (the sum over chains: cheaper than a running total)."""
        return sum(map(_charged_of, self._c))

    @property
    def cost(self) -> float:
        """Tokens generated plus ``kappa_probe`` per probe."""
        return self.tokens + self.kappa_probe * self.n_probes

    @property
    def remaining_budget(self) -> float | None:
        """What the budget still allows (budget - cost), or None without a budget."""
        return None if self.budget is None else self.budget - self.cost

    @property
    def sequential_tokens(self) -> int:
        """The longest chain's charged tokens (a latency proxy)."""
        return max(map(_charged_of, self._c), default=0)

    @property
    def answered(self) -> str | None:
        return self._answer

    def _mirror(
        self, i: int, pos: int, charged: int, state: int, seen: str | None, total: int | None
    ) -> None:
        """Set opened (or next) chain ``i``'s record from :meth:`public_record` fields, with no
        chain data behind it (strict mode's proxy)."""
        record = [pos, charged, state, None, total, None, seen]
        if i == len(self._c):
            self._c.append(record)
        else:
            self._c[i] = record

    def trace(self) -> list[Action]:
        """Every action so far, in order, with its cost."""
        kappa = self.kappa_probe
        out = []
        for op, i, t in self._log:
            if op == _STEP:
                out += [Action("CONTINUE", i, t, t), Action("PROBE", i, 0, kappa)]
            elif op == _READS:
                out += [
                    Action("READ", j, self._c[j][_TOTAL], self._c[j][_TOTAL])
                    for j in range(i, i + t)
                ]
            else:
                out.append(Action(ACTION_NAMES[op], i, t, kappa if op == PROBE else t))
        return out

    # ----------------------------------------------------------------- compatibility surface
    # The method names and charging of the original AutoTTS / Parallel-Probe ``Question`` class,
    # so ``method.py`` controllers written for it run unchanged.
    def probe_new(self) -> tuple[str, int, bool]:
        """Open a new branch: (its first answer, its index, finished)."""
        i = self.branch()
        return self.probe(i), i, self._c[i][_STATE] == _FINISHED

    def probe_more(self, i: int) -> tuple[str, bool]:
        """Advance branch ``i`` one interval: (its answer, finished). Advancing a finished branch
        charges nothing and returns its final answer again."""
        if self._acting(i, "advance")[_STATE] == _FINISHED:
            return self.probe(i), True
        return self.step(i)

    def get_new_branch_final_answer(self) -> str:
        """Read a fresh chain whole; returns its final answer."""
        return self.read(1)[0]

    def get_seq_and_total_tokens(self) -> tuple[int, int]:
        """(sequential tokens = longest chain, total tokens generated)."""
        return self.sequential_tokens, self.tokens

    # ----------------------------------------------------------------- internals
    def _chain(self, i: int, what: str = "inspect") -> Record:
        """The record of opened chain ``i`` (observations work after the answer too)."""
        if not isinstance(i, int) and not hasattr(i, "__index__"):
            raise InvalidAction(f"chain index must be an integer, got {type(i).__name__}")
        if not 0 <= i < len(self._c):
            raise InvalidAction(
                f"cannot {what} chain {i}: it has not been opened ({len(self._c)} open)"
            )
        return self._c[i]

    def _acting(self, i: int, what: str) -> Record:
        if self._answer is not None:
            raise EpisodeOver(f"cannot {what} chain {i}: the episode has already answered")
        return self._chain(i, what)

    def _live(self, i: int, what: str, times: int = 1) -> Record:
        """The record of running chain ``i``, or the reason it cannot be acted on."""
        c = self._acting(i, what)
        if c[_STATE]:
            reason = "it was pruned" if c[_STATE] == _PRUNED else "it has finished"
            raise InvalidAction(f"cannot {what} chain {i}: {reason}")
        if type(times) is not int or times < 1:
            raise InvalidAction(f"cannot {what} chain {i} {times!r} times: give a count >= 1")
        return c

    def _check_budget(self, cost: float) -> None:
        assert self.budget is not None
        if self.cost + cost > self.budget:
            self.truncated = True
            raise BudgetExceeded(
                f"action costing {cost:g} would take the episode to {self.cost + cost:g} "
                f"(budget {self.budget:g})"
            )


def public_record(session: Session, i: int) -> tuple[int, int, int, str | None, int | None]:
    """What opened chain ``i`` of ``session`` shows a controller: (intervals advanced, tokens
    charged, state 0 running / 1 finished / 2 pruned, last answer revealed, total tokens once
    finished — unknown before). Strict mode's proxy mirrors chains from these."""
    c = session._chain(i)
    total = c[_TOTAL] if c[_STATE] == _FINISHED else None
    return c[_POS], c[_CHARGED], c[_STATE], c[_SEEN], total
