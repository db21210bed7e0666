"""Running the controllers of chat requests on worker threads, all sharing one upstream limit.

Two thread pools, both made once:

* the **upstream pool** (``concurrency`` workers) runs every request to the model server, for
  every chat request (it is the executor of every ``solve_live``). A worker makes one request
  at a time, so the upstream never has more than ``concurrency`` requests of this server in
  flight; queued work is served first come, first served.
* the **controller pool** (``max_active`` workers) runs the controllers themselves, which
  mostly wait for the upstream pool. A chat request beyond ``max_active`` waits for a free
  worker before its controller starts (and sends nothing upstream meanwhile): a few questions
  at a time keep the upstream full and finish early, where sharing it among every request at
  once makes them all finish late (:func:`default_max_active`).

Each question may have at most ``LiveOptions.concurrency`` of its requests queued or running
on the upstream pool, one of which is always kept for what its controller needs next (the
session's speculation uses the others): one question's speculation can fill at most that many
places in the queue, so every question waits at most behind the others' share.

Cancellation: each chat request runs with a :class:`Cancel`. Once it is set (the client went
away, or the server is stopping), the request's :class:`MeteredClient` refuses every new
upstream request with :class:`Cancelled`; requests already running finish (one interval each
at most) and are counted, and the run ends as soon as its controller needs anything new.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from statistics import fmean
from typing import Any, cast

from ..controllers import ControllerSpec
from ..live import (
    ClientStats,
    Completion,
    LiveError,
    LiveOptions,
    LiveResult,
    LiveSession,
    ModelClient,
    QuestionItem,
    Sampler,
    SamplingSettings,
    solve_live,
)

log = logging.getLogger("autotts.serve")
STOPPING = "the server is shutting down"
DISCONNECTED = "the client disconnected"


class Cancelled(LiveError):
    """The chat request was cancelled: no new upstream request is made for it."""


class Cancel:
    """Why a chat request must stop (``None``: it goes on), its own or its engine's. Plain
    attributes, so a signal handler may set one."""

    __slots__ = ("_reason", "parent")

    def __init__(self, parent: Cancel | None = None) -> None:
        self._reason: str | None = None
        self.parent = parent

    def set(self, reason: str) -> None:
        if self._reason is None:
            self._reason = reason

    @property
    def reason(self) -> str | None:
        if self._reason is not None:
            return self._reason
        return self.parent.reason if self.parent is not None else None


class MeteredClient:
    """The shared :class:`ModelClient` as one chat request uses it: it counts the request's own
    completions and their tokens (the shared client's stats mix every request's), and makes no
    new request (completion or tokenizer) once the request is cancelled. It is what the
    request's ``Sampler`` calls."""

    def __init__(self, client: ModelClient, cancel: Cancel) -> None:
        self.client = client
        self.cancel = cancel
        self.stats = ClientStats()  # requests made, tokens the upstream reported
        self._lock = threading.Lock()

    def complete(self, prompt: str | Sequence[int], **kw: Any) -> Completion:
        self._check()
        with self._lock:
            self.stats.requests += 1
        out = self.client.complete(prompt, **kw)
        with self._lock:
            self.stats.completion_tokens += out.tokens
            self.stats.prompt_tokens += out.prompt_tokens
        return out

    def tokenize(self, **kw: Any) -> list[int]:
        self._check()
        return self.client.tokenize(**kw)

    def detokenize(self, tokens: Sequence[int]) -> str:
        self._check()
        return self.client.detokenize(tokens)

    def _check(self) -> None:
        reason = self.cancel.reason
        if reason is not None:
            raise Cancelled(reason)


@dataclass(frozen=True)
class Job:
    """One chat request's question and what to run on it."""

    question: str
    qid: str
    spec: ControllerSpec
    options: LiveOptions


@dataclass(frozen=True)
class Outcome:
    """How a chat request ended. ``status``: ``ok``, ``upstream_error``, ``controller_error``,
    ``cancelled`` or ``internal_error`` (``error`` says what, in one line). The token counts
    are what the upstream reported for this request's requests, whatever the status."""

    status: str
    error: str | None
    seconds: float
    upstream_requests: int
    prompt_tokens: int
    completion_tokens: int  # chain steps (speculative ones included) + probes
    result: LiveResult | None = None
    chain_text: str | None = None  # the text of the chain that gave the answer
    chains_opened: int = 0
    full_tokens_estimated: float = 0.0  # see estimate_full_tokens

    @property
    def saved_tokens_estimated(self) -> float:
        """Tokens not generated compared with the full budget (never negative)."""
        return max(0.0, self.full_tokens_estimated - self.completion_tokens)


def estimate_full_tokens(session: LiveSession, options: LiveOptions) -> float:
    """What the controller's full budget would have cost: the budget when one is set; else
    ``n_chains`` times the mean length of the opened chains that finished (self-consistency
    over every chain); when none finished, times the mean tokens generated so far of the
    opened chains (a lower bound); 0 when none was opened."""
    if options.budget is not None:
        return options.budget
    opened = range(session.n_open)
    finished = [session.chain_tokens(i) for i in opened if session.is_finished(i)]
    lengths = finished or [session.chains[i].tokens[-1] for i in opened]
    return options.n_chains * fmean(lengths) if lengths else 0.0


def winning_chain_text(session: LiveSession, answer: str) -> str | None:
    """The text of an opened chain whose last revealed answer is ``answer``: a finished one
    first, then the one taken furthest, then the first opened; None when no chain gave it."""
    best: tuple[bool, int] | None = None
    chosen = None
    for i in range(session.n_open):
        if session.last_revealed(i) != answer:
            continue
        key = (session.is_finished(i), session.chain_tokens(i))
        if best is None or key > best:
            best, chosen = key, i
    return None if chosen is None else session.chain_text(chosen)


def default_max_active(concurrency: int, request_concurrency: int) -> int:
    """Questions solved at once by default: four times as many as it takes to fill the
    upstream limit with each question's share, so it stays full while later requests wait
    their turn (sharing it among every request at once makes them all finish late)."""
    return 4 * -(-concurrency // max(1, request_concurrency))


class Engine:
    """See the module docstring. ``submit`` runs a job; ``stop`` cancels every job (new ones
    included); ``close`` waits for the pools. ``on_outcome`` sees every job's outcome (the
    metrics), so it is counted once ``wait_idle`` returns."""

    def __init__(
        self,
        client: ModelClient,
        settings: SamplingSettings,
        *,
        concurrency: int,
        max_active: int,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> None:
        self.client = client
        self.on_outcome = on_outcome  # called on the worker thread, before the job is done
        self.settings = settings
        self.concurrency = concurrency
        self.max_active = max_active
        self.stopping = Cancel()  # the parent of every job's Cancel
        self._upstream = ThreadPoolExecutor(concurrency, thread_name_prefix="serve-upstream")
        self._controllers = ThreadPoolExecutor(max_active, thread_name_prefix="serve-controller")
        self._active = 0
        self._idle = threading.Condition()

    def cancel_token(self) -> Cancel:
        """A new job's Cancel (set by ``stop`` too)."""
        return Cancel(self.stopping)

    def submit(self, job: Job, cancel: Cancel) -> Future[Outcome]:
        with self._idle:
            self._active += 1
        fut = self._controllers.submit(self._run, job, cancel)
        fut.add_done_callback(self._done)
        return fut

    def stop(self, reason: str = STOPPING) -> None:
        """Cancel every job, running, queued or still to come (signal-safe)."""
        self.stopping.set(reason)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job is queued or running; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout)

    def close(self) -> None:
        self.stop()
        self._controllers.shutdown(wait=True)
        self._upstream.shutdown(wait=True)

    def _done(self, _: Future[Outcome]) -> None:
        with self._idle:
            self._active -= 1
            self._idle.notify_all()

    def _run(self, job: Job, cancel: Cancel) -> Outcome:
        start = time.monotonic()
        meter = MeteredClient(self.client, cancel)
        # duck-typed: a Sampler calls complete(), tokenize(), detokenize(); solve_live reads stats
        sampler = Sampler(cast(ModelClient, meter), self.settings)
        seen: list[LiveSession] = []
        result: LiveResult | None = None
        try:
            if cancel.reason is not None:
                raise Cancelled(cancel.reason)
            item = QuestionItem(job.qid, job.question, None)
            result = solve_live(
                sampler, item, job.spec, job.options, executor=self._upstream, observe=seen.append
            )
            status, error = ("controller_error", result.error) if result.error else ("ok", None)
        except Cancelled:
            status, error = "cancelled", cancel.reason
        except LiveError as e:
            status, error = "upstream_error", _one_line(str(e))
        except Exception as e:  # a bug: logged here, one line for the client
            log.exception("autotts serve: the run of question %s failed", job.qid)
            status, error = "internal_error", _one_line(f"{type(e).__name__}: {e}")
        if cancel.reason is not None and status == "ok":
            status, error = "cancelled", cancel.reason  # nobody is waiting for the answer
        stats = meter.stats
        extra: dict[str, Any] = {}
        if seen:
            session = seen[0]
            extra["chains_opened"] = session.n_open
            extra["full_tokens_estimated"] = estimate_full_tokens(session, job.options)
            if result is not None and result.answer:
                extra["chain_text"] = winning_chain_text(session, result.answer)
        outcome = Outcome(
            status,
            error,
            time.monotonic() - start,
            stats.requests,
            stats.prompt_tokens,
            stats.completion_tokens,
            result,
            **extra,
        )
        if self.on_outcome is not None:
            self.on_outcome(outcome)
        return outcome


def _one_line(text: str) -> str:
    return " ".join(text.split())
