"""``LiveSession``: the replay session's API (:class:`autotts.env.Session`) backed by a model.

Every controller that runs on replay runs here unchanged — native actions, observations and
the compatibility surface of the original code — and is charged by the replay rules exactly:
a collected environment replayed in opening order gives the same trace, action by action. That
works because collect and this session grow chains the same way (:mod:`autotts.live.sampler`):
a chain's non-final steps are exactly one interval each and are its probe points, so "the chain
has a probe point left" (replay) is "its next step does not finish it" (live).

The one difference: replay knows an action's cost before taking it, live learns it from the
model. A budgeted action is therefore generated first and refused (``BudgetExceeded``, nothing
charged, state unchanged) if it would overrun — the same outcome, plus tokens nobody uses.

Concurrency. A controller acts one call at a time, but most sweep their chains (advance every
live chain, then look). So whenever this session has to wait for the model it also starts, in
spare request slots, the next step and probe of every other live chain and, after a ``branch``
or ``read``, up to ``prefetch`` chains not yet opened (their first interval, or whole chains
after a ``read``). Their results wait until the controller asks; nothing speculative is ever
charged or revealed. Tokens generated and never charged are reported
(:attr:`speculative_tokens`); ``speculate=False`` turns speculation off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from ..env import Action, BudgetExceeded, EpisodeOver, InvalidAction, NoChainsLeft
from .chains import Key, LiveChains
from .sampler import Sampler

_RUNNING, _FINISHED, _PRUNED = 0, 1, 2


class _View:
    """What the controller has seen of one opened chain (replay's chain record)."""

    __slots__ = ("charged", "pos", "seen", "state")

    def __init__(self, pos: int, charged: int, state: int, seen: str | None = None) -> None:
        self.pos = pos  # steps consumed (the next advance is step ``pos``)
        self.charged = charged
        self.state = state
        self.seen = seen


class LiveSession:
    """One question answered live; see the module docstring."""

    def __init__(
        self,
        sampler: Sampler,
        question: str,
        qid: str,
        *,
        n_available: int = 64,
        kappa_probe: float = 0.0,
        budget: float | None = None,
        concurrency: int = 8,
        speculate: bool = True,
        prefetch: int = 4,
        answer_map: Callable[[str], str] | None = None,
        executor: ThreadPoolExecutor | None = None,
    ) -> None:
        self.interval = sampler.settings.interval
        self.kappa_probe = kappa_probe
        self.budget = budget
        self.n_available = n_available
        self.n_probes = 0
        self.truncated = False  # an action was refused for the budget
        self.speculate = speculate
        self.prefetch = prefetch
        self._own_pool = executor is None
        pool = executor or ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="solve")
        self.chains = LiveChains(sampler, question, qid, concurrency=concurrency, executor=pool)
        self.chains.speculation = self._speculation
        self._pool = pool
        self._map = answer_map or (lambda a: a)
        self._c: list[_View] = []
        self._log: list[Action] = []
        self._answer: str | None = None
        self._opening = ""  # "branch" or "read": how the controller opens chains

    # ----------------------------------------------------------------- native actions
    def branch(self) -> int:
        """Open the next chain and advance it one interval; returns its index."""
        if self._answer is not None:
            raise EpisodeOver("the episode has already answered")
        k = len(self._c)
        if k >= self.n_available:
            raise NoChainsLeft(f"all {self.n_available} chains are already open")
        self._opening = "branch"
        self.chains.ensure([("step", k, 0)])
        first = self.chains[k].steps[0]
        cost = first.tokens if first.finished else self.interval
        self._check_budget(cost)
        self._c.append(_View(0 if first.finished else 1, cost, _FINISHED if first.finished else 0))
        self._log.append(Action("BRANCH", k, cost, cost))
        return k

    def advance(self, i: int, times: int = 1) -> bool:
        """Advance chain ``i`` by up to ``times`` intervals; returns whether it has finished."""
        v = self._live(i, "advance", times)
        c = self.chains[i]
        for _ in range(times):
            k = v.pos
            self.chains.ensure([("step", i, k)])
            done = c.steps[k].finished
            cost = max(0, c.tokens[k + 1] - v.charged) if done else self.interval
            self._check_budget(cost)
            if done:
                v.state = _FINISHED
            else:
                v.pos = k + 1
            v.charged += cost
            self._log.append(Action("CONTINUE", i, cost, cost))
            if done:
                return True
        return False

    def probe(self, i: int) -> str:
        """Reveal chain ``i``'s current answer (its final answer once finished)."""
        v = self._acting(i, "probe")
        if v.state == _PRUNED:
            raise InvalidAction(f"cannot probe chain {i}: it was pruned")
        if self.kappa_probe:
            self._check_budget(self.kappa_probe)
        c = self.chains[i]
        if v.state == _FINISHED:
            self.chains.ensure([("final", i)])
            assert c.final is not None
            a = self._map(c.final.answer)
        else:
            self.chains.ensure([("probe", i, v.pos - 1)])
            a = self._map(c.probes[v.pos - 1].answer)
        v.seen = a
        self.n_probes += 1
        self._log.append(Action("PROBE", i, 0, self.kappa_probe))
        return a

    def step(self, i: int, times: int = 1) -> tuple[str, bool]:
        """``advance(i, times)`` then ``probe(i)``: returns (answer, finished)."""
        done = self.advance(i, times)
        return self.probe(i), done

    def prune(self, i: int) -> None:
        """Drop running chain ``i``: it can no longer be advanced or probed."""
        self._live(i, "prune").state = _PRUNED
        self._log.append(Action("PRUNE", i, 0, 0))

    def read(self, k: int = 1) -> list[str]:
        """Take the next ``k`` chains whole; returns their final answers (charges their
        lengths). The ``k`` chains are generated concurrently."""
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
        self._opening = "read"
        idx = range(start, start + k)
        self.chains.ensure([("final", j) for j in idx])
        totals = [self.chains[j].tokens[-1] for j in idx]
        self._check_budget(sum(totals))
        answers = []
        for j, total in zip(idx, totals, strict=True):
            c = self.chains[j]
            assert c.final is not None
            a = self._map(c.final.answer)
            self._c.append(_View(len(c.steps) - 1, total, _FINISHED, a))
            self._log.append(Action("READ", j, total, total))
            answers.append(a)
        return answers

    def answer(self, answer: str | None) -> None:
        """The terminal action."""
        if self._answer is not None:
            raise EpisodeOver("the episode has already answered")
        if answer is not None and type(answer) is not str:
            raise InvalidAction(f"the answer must be a str, not {type(answer).__name__}")
        self._answer = answer if answer is not None else ""
        self._log.append(Action("ANSWER", -1, 0, 0))

    # ----------------------------------------------------------------- observations
    @property
    def n_open(self) -> int:
        return len(self._c)

    def is_finished(self, i: int) -> bool:
        return self._chain(i).state == _FINISHED

    def is_pruned(self, i: int) -> bool:
        return self._chain(i).state == _PRUNED

    def live(self) -> list[int]:
        return [i for i, v in enumerate(self._c) if v.state == _RUNNING]

    def chain_tokens(self, i: int) -> int:
        return self._chain(i).charged

    def last_revealed(self, i: int) -> str | None:
        return self._chain(i).seen

    def chain_text(self, i: int) -> str:
        """Chain ``i``'s text as far as the controller has taken it (all of it once finished):
        the text its last revealed answer was read from."""
        v = self._chain(i)
        c = self.chains[i]
        return c.text(len(c.steps) if v.state == _FINISHED else v.pos)

    @property
    def tokens(self) -> int:
        """Tokens charged so far (the replay rules)."""
        return sum(v.charged for v in self._c)

    @property
    def cost(self) -> float:
        return self.tokens + self.kappa_probe * self.n_probes

    @property
    def remaining_budget(self) -> float | None:
        """What the budget still allows (budget - cost), or None without a budget."""
        return None if self.budget is None else self.budget - self.cost

    @property
    def sequential_tokens(self) -> int:
        return max((v.charged for v in self._c), default=0)

    @property
    def answered(self) -> str | None:
        return self._answer

    def trace(self) -> list[Action]:
        return list(self._log)

    @property
    def generated_tokens(self) -> int:
        """Every chain token the model generated for this session, charged or not."""
        return self.chains.generated_tokens

    @property
    def speculative_tokens(self) -> int:
        """Chain tokens generated ahead of the controller and never charged."""
        return self.generated_tokens - self.tokens

    @property
    def probe_tokens(self) -> int:
        """Tokens of every probe request (final-answer probes and speculative ones included)."""
        return self.chains.probe_tokens

    # ----------------------------------------------------------------- compatibility surface
    def probe_new(self) -> tuple[str, int, bool]:
        i = self.branch()
        return self.probe(i), i, self._c[i].state == _FINISHED

    def probe_more(self, i: int) -> tuple[str, bool]:
        if self._acting(i, "advance").state == _FINISHED:
            return self.probe(i), True
        return self.step(i)

    def get_new_branch_final_answer(self) -> str:
        return self.read(1)[0]

    def get_seq_and_total_tokens(self) -> tuple[int, int]:
        return self.sequential_tokens, self.tokens

    # ----------------------------------------------------------------- lifetime
    def close(self) -> None:
        """Wait for requests still in flight (their tokens are counted), free the pool."""
        self.chains.drain()
        if self._own_pool:
            self._pool.shutdown(wait=True)

    def __enter__(self) -> LiveSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- internals
    def _speculation(self) -> Iterator[Key]:
        """What the controller is likely to ask for next, most likely first."""
        if not self.speculate or self._answer is not None:
            return
        chains = self.chains
        for i, v in enumerate(self._c):
            if v.state != _RUNNING:
                continue
            yield ("probe", i, v.pos - 1)  # its current answer
            k = v.pos  # its next step, then that step's probe (or the final answer)
            c = chains[i]
            if len(c.steps) > k and c.steps[k].finished:
                yield ("final", i)
            else:
                yield ("step", i, k)
                yield ("probe", i, k)
        first = len(self._c)
        for j in range(first, min(first + self.prefetch, self.n_available)):
            if self._opening == "read":
                yield ("final", j)
            elif self._opening == "branch":
                yield ("step", j, 0)
                yield ("probe", j, 0)

    def _chain(self, i: int, what: str = "inspect") -> _View:
        if not isinstance(i, int) and not hasattr(i, "__index__"):
            raise InvalidAction(f"chain index must be an integer, got {type(i).__name__}")
        if not 0 <= i < len(self._c):
            raise InvalidAction(
                f"cannot {what} chain {i}: it has not been opened ({len(self._c)} open)"
            )
        return self._c[i]

    def _acting(self, i: int, what: str) -> _View:
        if self._answer is not None:
            raise EpisodeOver(f"cannot {what} chain {i}: the episode has already answered")
        return self._chain(i, what)

    def _live(self, i: int, what: str, times: int = 1) -> _View:
        v = self._acting(i, what)
        if v.state:
            reason = "it was pruned" if v.state == _PRUNED else "it has finished"
            raise InvalidAction(f"cannot {what} chain {i}: {reason}")
        if type(times) is not int or times < 1:
            raise InvalidAction(f"cannot {what} chain {i} {times!r} times: give a count >= 1")
        return v

    def _check_budget(self, cost: float) -> None:
        if self.budget is not None and self.cost + cost > self.budget:
            self.truncated = True
            raise BudgetExceeded(
                f"action costing {cost:g} would take the episode to {self.cost + cost:g} "
                f"(budget {self.budget:g})"
            )
