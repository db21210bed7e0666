"""A benign candidate that uses much of what the policy allows (tests run it in the sandbox)."""

from __future__ import annotations

import bisect
import collections.abc
import functools
import heapq
import itertools
import math
import statistics
from collections import Counter, defaultdict, deque, namedtuple
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple, Protocol, TypeVar

import numpy as np
import numpy.linalg as la
from scipy import special, stats

from autotts.controllers import Controller, ControllerError, beta_confidence, leader, vote
from autotts.env import BudgetExceeded, InvalidAction, Session

T = TypeVar("T")
Pair = namedtuple("Pair", "answer count")


class Scored(NamedTuple):
    answer: str
    score: float


class HasScore(Protocol):
    score: float


@dataclass(order=True)
class Chain:
    depth: int
    index: int = field(compare=False)
    history: list[str] = field(default_factory=list, compare=False)

    @property
    def latest(self) -> str | None:
        return self.history[-1] if self.history else None


class Tally(Counter):
    def top(self) -> tuple[str | None, int, int]:
        return leader(dict(self.most_common()))


class Base(Controller):
    uses_beta = True

    def __init__(self, beta: float | None = None, **params: Any) -> None:
        super().__init__(beta, **params)
        self._cache: dict[str, float] = {}

    def _confidence(self, counts: dict[str, int]) -> float:
        _, a, b = leader(counts)
        key = f"{a}:{b}"
        if key not in self._cache:
            self._cache[key] = beta_confidence(a, b)
        return self._cache[key]


class KitchenSink(Base):
    """Opens a few chains, steps the shallowest, stops on confidence."""

    name = "kitchen_sink"
    limits: ClassVar[dict[str, int]] = {"width": 6}
    __slots__ = ()

    @classmethod
    def schedule(cls, beta: float) -> dict[str, Any]:
        width = int(np.clip(round(2 + 4 * beta), 2, cls.limits["width"]))
        q = float(stats.beta.ppf(0.5, 2, 2) + special.expit(0.0) - 1.0)  # 0.0
        return {"width": width, "threshold": round(0.8 + 0.1 * beta + q, 3), "mode": "depth"}

    @staticmethod
    def spread(xs: list[float]) -> float:
        return statistics.pstdev(xs) if len(xs) > 1 else 0.0

    def solve(self, session: Session) -> str | None:
        s = self.settings
        if not hasattr(session, "n_available") or type(session).__name__ != "Session":
            raise ControllerError("unexpected session")
        rng = np.random.default_rng(0)
        assert float(la.norm(np.ones(4))) == 2.0 and rng.random() < 1.0
        chains: list[Chain] = []
        heap: list[Chain] = []
        tally: Tally = Tally()
        seen: defaultdict[str, int] = defaultdict(int)
        recent: deque[str] = deque(maxlen=4)
        for _ in range(min(s["width"], session.n_available)):
            c = Chain(0, session.branch())
            c.history.append(session.probe(c.index))
            chains.append(c)
            heapq.heappush(heap, c)
        try:
            while heap:
                c = heapq.heappop(heap)
                if session.is_finished(c.index):
                    tally[c.history[-1]] += 1
                    continue
                answer, done = session.step(c.index)
                c.history.append(answer)
                c.depth += 1
                seen[answer] += 1
                recent.append(answer)
                if done:
                    tally[answer] += 1
                else:
                    heapq.heappush(heap, c)
                if sum(tally.values()) >= 2 and self._confidence(dict(tally)) > s["threshold"]:
                    break
        except (BudgetExceeded, InvalidAction):
            pass
        scored = sorted(Scored(a, n + 0.5 * seen[a]) for a, n in tally.items())
        best = max(scored, key=lambda p: p.score, default=None)
        pairs = [Pair(a, n) for a, n in itertools.islice(tally.most_common(), 3)]
        _ = bisect.bisect_left([p.count for p in reversed(pairs)], 1), math.log1p(len(pairs))
        _ = (
            functools.reduce(lambda x, y: x + y, [1, 2, 3]),
            isinstance(pairs, collections.abc.Sequence),
        )
        label = f"{len(chains)} chains, best {best.answer if best else None!s:>6}"
        label += " | {:.2f}".format(self.spread([p.score for p in scored]))  # noqa: UP032
        match best:
            case Scored(answer=a, score=x) if x > 0:
                return a if label else None
            case _:
                return vote(c.latest for c in chains if c.latest is not None)
