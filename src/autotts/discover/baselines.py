"""The reference frontier: built-in baselines measured on the discovery splits.

Baselines are trusted code, so they run in this process (or forked workers), one unit per
(baseline point, environment); the loop caches each unit in the history like any evaluation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from ..controllers import ControllerSpec
from ..data import Environment
from ..procs import die_with_parent
from .measure import MeasureSettings, measure

SC_KS = (4, 8, 16, 32, 64)


def baseline_points(betas: Sequence[float]) -> dict[str, list[tuple[str, ControllerSpec]]]:
    """name -> [(point label, spec)]: sc swept over k, asc/esc/parallel_probe at their
    published settings, cmc over the run's betas."""
    return {
        "sc": [(f"k={k}", ControllerSpec("sc", {"k": k})) for k in SC_KS],
        "asc": [("default", ControllerSpec("asc"))],
        "esc": [("default", ControllerSpec("esc"))],
        "parallel_probe": [("default", ControllerSpec("parallel_probe"))],
        "cmc": [(f"b={b:g}", ControllerSpec("cmc", beta=b)) for b in betas],
    }


_ENVS: Sequence[Environment] = ()


def _unit(task: tuple[int, ControllerSpec, MeasureSettings]) -> dict[str, Any]:
    ei, spec, settings = task
    return measure([_ENVS[ei]], spec, [spec.beta], settings)[0]


def run_units(
    envs: Sequence[Environment],
    units: Sequence[tuple[int, ControllerSpec]],
    settings: MeasureSettings,
    workers: int,
    on_done: Callable[[int, dict[str, Any]], None],
) -> None:
    """Measure (env index, spec) units, calling ``on_done(unit index, record)`` as each ends."""
    global _ENVS
    _ENVS = envs
    tasks = [(ei, spec, settings) for ei, spec in units]
    if workers <= 1 or len(tasks) <= 1:
        for n, t in enumerate(tasks):
            on_done(n, _unit(t))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=die_with_parent, initargs=(os.getpid(),)
    )
    try:
        futures = {pool.submit(_unit, t): n for n, t in enumerate(tasks)}
        for f in as_completed(futures):
            on_done(futures[f], f.result())
    except BaseException:  # Ctrl-C or SIGTERM: stop now, not after the remaining units
        pool.shutdown(wait=False, cancel_futures=True)
        for child in multiprocessing.active_children():
            child.kill()
        raise
    pool.shutdown()
