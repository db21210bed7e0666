"""The reference frontier: built-in baselines measured on the discovery splits.

Baselines are trusted code, so they run in this process (or forked workers), one unit per
(baseline point, environment); the loop caches each unit in the history like any evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..controllers import ControllerSpec
from ..data import Environment
from ..procs import fork_map
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
    try:
        fork_map(_unit, [(ei, spec, settings) for ei, spec in units], workers, on_done)
    finally:
        _ENVS = ()
