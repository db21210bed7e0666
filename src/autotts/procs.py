"""Child processes that do not outlive their parent, and the forked worker map built on that.

Worker pools and sandboxes are separate processes; if the process that started them is killed
(SIGKILL, or SIGTERM without cleanup), they would otherwise live on: forked pool workers wait
forever on a queue whose writers include themselves, and a sandbox runs until its CPU limit.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar


def die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when the thread that started it dies
    (``prctl(PR_SET_PDEATHSIG)``), and exit now if ``parent`` is already gone. Elsewhere it
    only does the latter."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


T = TypeVar("T")
R = TypeVar("R")


def max_workers() -> int:
    """The most worker processes (or sandboxes) one run may start: 4 per CPU core. More would
    only thrash; many more forks until the machine runs out of memory."""
    return 4 * (os.cpu_count() or 1)


def check_workers(workers: int) -> int:
    """``workers`` if it lies in 1 .. :func:`max_workers`, else a ValueError naming the bound."""
    if isinstance(workers, bool) or not isinstance(workers, int):
        raise ValueError(f"workers must be an integer, got {workers!r}")
    if not 1 <= workers <= max_workers():
        raise ValueError(
            f"workers must be between 1 and {max_workers()} (4 per CPU core), got {workers:,}"
        )
    return workers


def fork_map(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    workers: int,
    on_done: Callable[[int, R], None],
) -> None:
    """Call ``fn`` on every task, in forked worker processes when ``workers > 1`` (and the
    platform forks): workers inherit this process's memory, so module globals set before the
    call (environments, controller classes loaded from files) need no pickling. ``on_done(task
    index, result)`` runs here as each task ends. Workers die with this process; on an
    exception (Ctrl-C, SIGTERM turned into one) they are killed at once, not after the queue."""
    serial = workers <= 1 or len(tasks) <= 1
    if not serial:
        import multiprocessing  # only here: one-worker runs (and sandboxes) never import it

        serial = "fork" not in multiprocessing.get_all_start_methods()
    if serial:
        for n, t in enumerate(tasks):
            on_done(n, fn(t))
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    )
    try:
        futures = {pool.submit(fn, t): n for n, t in enumerate(tasks)}
        for f in as_completed(futures):
            on_done(futures[f], f.result())
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        for child in multiprocessing.active_children():
            child.kill()
        raise
    pool.shutdown()


# ------------------------------------------------------------------ one interface, two pools
class Pool(Protocol):
    """Workers elsewhere (a Ray cluster, :class:`autotts.cluster.RayPool`)."""

    @property
    def slots(self) -> int: ...

    def map(
        self,
        fn: Callable[[Any, Any], Any],
        shared: Any,
        tasks: Sequence[Any],
        on_done: Callable[[int, Any], None],
    ) -> None: ...


Workers = int | Pool  # local worker processes (or sandboxes) at once, or a cluster


def slots(workers: Workers) -> int:
    """How many units run at once."""
    return workers if isinstance(workers, int) else workers.slots


_SHARED: Any = None


def _call_shared(job: tuple[Callable[[Any, Any], Any], Any]) -> Any:
    fn, task = job
    return fn(_SHARED, task)


def run_map(
    fn: Callable[[Any, T], R],
    shared: Any,
    tasks: Sequence[T],
    workers: Workers,
    on_done: Callable[[int, R], None],
) -> None:
    """``fn(shared, task)`` for every task, ``on_done(index, result)`` as each ends: in forked
    workers (which inherit ``shared``) or on a cluster (where it travels once per node).
    ``fn`` must be a module-level function."""
    global _SHARED
    if not isinstance(workers, int):
        workers.map(fn, shared, tasks, on_done)
        return
    if workers <= 1:  # serial, and maybe inside a worker of an outer map: no global at all
        for n, t in enumerate(tasks):
            on_done(n, fn(shared, t))
        return
    outer, _SHARED = _SHARED, shared
    try:
        fork_map(_call_shared, [(fn, t) for t in tasks], workers, on_done)
    finally:
        _SHARED = outer


def thread_map(
    fn: Callable[[Any, T], R],
    shared: Any,
    tasks: Sequence[T],
    workers: Workers,
    on_done: Callable[[int, R], None],
) -> None:
    """As :func:`run_map` for work that is itself a child process (a sandbox): locally,
    ``workers`` threads in this process, each waiting on its child."""
    if not isinstance(workers, int):
        workers.map(fn, shared, tasks, on_done)
        return
    from concurrent.futures import ThreadPoolExecutor, as_completed

    pool = ThreadPoolExecutor(max(1, min(workers, len(tasks))))
    try:
        futures = {pool.submit(fn, shared, t): n for n, t in enumerate(tasks)}
        for f in as_completed(futures):
            on_done(futures[f], f.result())
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


__all__ = [
    "Pool",
    "Workers",
    "check_workers",
    "die_with_parent",
    "fork_map",
    "max_workers",
    "run_map",
    "slots",
    "thread_map",
]
