"""The generation side of a live session: the chains of one question as the model has written
them so far, and the requests in flight to write more.

Everything here runs on the caller's thread except the requests themselves, which run on a
thread pool: the state is only touched between requests, so it needs no locks. A piece of
work is named by a key:

* ``("step", i, k)``  step ``k`` of chain ``i`` (needs steps ``0..k-1``);
* ``("probe", i, k)`` the probe after step ``k`` (needs step ``k``, not the last);
* ``("final", i)``    the final answer (needs the finished chain).

:meth:`LiveChains.ensure` blocks until the given keys are done. While it waits it keeps up to
``concurrency`` requests in flight: first the requests the keys need (several chains at once for
a batch read), then, in the slots left but one, the *speculative* keys its ``speculation``
callback proposes (what the controller is likely to ask for next). The slot kept free means a
request the controller needs never waits for a speculative one. A request that fails (after
the client's retries) is remembered, and its error raised only if the controller needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from .sampler import Probe, Sampler, Step

Key = tuple[Any, ...]


class ChainData:
    """One chain as generated so far."""

    __slots__ = ("final", "probes", "steps", "tokens")

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.probes: dict[int, Probe] = {}  # the probe after step k
        self.final: Probe | None = None
        self.tokens: list[int] = [0]  # tokens[k] = tokens of steps 0..k-1

    @property
    def finished(self) -> bool:
        return bool(self.steps) and self.steps[-1].finished

    def text(self, upto: int) -> str:
        """The text of steps ``0..upto-1``."""
        return "".join(s.text for s in self.steps[:upto])


class LiveChains:
    """The chains of one question (created on first use, numbered 0..n-1)."""

    def __init__(
        self,
        sampler: Sampler,
        question: str,
        qid: str,
        *,
        concurrency: int,
        executor: ThreadPoolExecutor,
    ) -> None:
        self.sampler = sampler
        self.qid = qid
        self.prompt = sampler.prompt(question)
        self.concurrency = max(1, concurrency)
        self.speculation: Callable[[], Iterable[Key]] = lambda: ()
        self.generated_tokens = 0  # every step generated, used or not
        self.probe_tokens = 0  # every probe request (speculative ones included)
        self._chains: dict[int, ChainData] = {}
        self._pool = executor
        self._inflight: dict[Key, Future[Any]] = {}
        self._failed: dict[Key, Exception] = {}  # raised when (and only if) they are needed

    def __getitem__(self, i: int) -> ChainData:
        c = self._chains.get(i)
        if c is None:
            c = self._chains[i] = ChainData()
        return c

    # ----------------------------------------------------------------- keys
    def done(self, key: Key) -> bool:
        c = self[key[1]]
        if key[0] == "step":
            return len(c.steps) > key[2]
        if key[0] == "probe":
            return key[2] in c.probes
        return c.final is not None

    def next_request(self, key: Key) -> Key | None:
        """The request that must run next on the way to ``key`` (None: nothing can run now).
        Raises ``ValueError`` when ``key`` can never be reached (past the chain's end)."""
        if self.done(key):
            return None
        c = self[key[1]]
        n = len(c.steps)
        if key[0] == "final":
            return ("final", key[1]) if c.finished else ("step", key[1], n)
        k = key[2]
        if n <= k:
            if c.finished:
                raise ValueError(f"chain {key[1]} finished after {n} steps: no {key}")
            return ("step", key[1], n)
        if key[0] == "probe" and c.steps[k].finished:
            raise ValueError(f"chain {key[1]}: step {k} is its last, it has no probe")
        return key

    # ----------------------------------------------------------------- running
    def ensure(self, keys: Iterable[Key]) -> None:
        """Block until every key is done; errors of the requests it needs propagate."""
        wanted = [k for k in keys if not self.done(k)]
        while wanted:
            for key in wanted:
                request = self.next_request(key)
                if request in self._failed:
                    raise self._failed[request]
                if request is not None and len(self._inflight) < self.concurrency:
                    self._submit(request)
            self._speculate()
            assert self._inflight, "a wanted key with nothing to run"
            finished, _ = wait(list(self._inflight.values()), return_when=FIRST_COMPLETED)
            self._harvest(finished)
            wanted = [k for k in wanted if not self.done(k)]
        self._speculate()  # keep the model busy while the controller thinks

    def _speculate(self) -> None:
        spare = self.concurrency - 1
        if len(self._inflight) >= spare:
            return
        for key in self.speculation():
            try:
                request = self.next_request(key)
            except ValueError:
                continue
            if request is None or request in self._failed:
                continue
            self._submit(request)
            if len(self._inflight) >= spare:
                return

    def _submit(self, key: Key) -> None:
        if key in self._inflight:
            return
        kind, i = key[0], key[1]
        c = self[i]
        s = self.sampler
        fut: Future[Any]
        if kind == "step":
            k = key[2]
            fut = self._pool.submit(s.step, self.prompt, self.qid, i, k, c.steps[:k])
        elif kind == "probe":
            k = key[2]
            fut = self._pool.submit(s.probe, self.prompt, self.qid, i, k, c.steps[: k + 1])
        else:
            fut = self._pool.submit(s.final, self.prompt, self.qid, i, list(c.steps))
        self._inflight[key] = fut

    def _harvest(self, finished: Iterable[Future[Any]]) -> None:
        done = set(finished)
        keys = [k for k, f in self._inflight.items() if f in done]
        for key in keys:
            fut = self._inflight.pop(key)
            try:
                result = fut.result()
            except Exception as e:  # a speculative request's failure matters only if needed
                self._failed[key] = e
                continue
            c = self[key[1]]
            if key[0] == "step":
                assert key[2] == len(c.steps), "steps of a chain arrive in order"
                c.steps.append(result)
                c.tokens.append(c.tokens[-1] + result.tokens)
                self.generated_tokens += result.tokens
            elif key[0] == "probe":
                c.probes[key[2]] = result
                self.probe_tokens += result.tokens
            else:
                c.final = result
                self.probe_tokens += result.tokens

    def drain(self) -> None:
        """Wait for the requests still in flight (their tokens count as generated)."""
        while self._inflight:
            finished, _ = wait(list(self._inflight.values()), return_when=FIRST_COMPLETED)
            self._harvest(finished)
