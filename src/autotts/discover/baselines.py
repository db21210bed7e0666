"""The reference frontier: built-in baselines measured on the discovery splits.

Every baseline is swept over its own budget knob, so the joint frontier (the envelope of all
their points, :func:`autotts.discover.digest.baseline_frontier`) is as strong as the baselines
can be at each token count: sc over k, asc over its confidence threshold, esc over its window,
parallel_probe at its published setting, cmc over the run's betas.

Baselines are trusted code, so they run in this process (or forked workers), one unit per
(baseline point, environment); the loop caches each unit in the history like any evaluation,
keyed by the point's controller and parameters (so a new point is a new unit).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..controllers import ControllerSpec
from ..data import Environment
from ..procs import Workers, run_map
from .measure import MeasureSettings, measure

SC_KS = (4, 8, 16, 32, 64)
ASC_THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995)
ESC_WINDOWS = (2, 3, 4, 5, 6, 8, 10, 12, 16)


def baseline_points(betas: Sequence[float]) -> dict[str, list[tuple[str, ControllerSpec]]]:
    """name -> [(point label, spec)]: sc swept over k (:data:`SC_KS`), asc over its threshold
    (:data:`ASC_THRESHOLDS`), esc over its window (:data:`ESC_WINDOWS`), parallel_probe at its
    published setting, cmc over the run's betas."""
    return {
        "sc": [(f"k={k}", ControllerSpec("sc", {"k": k})) for k in SC_KS],
        "asc": [
            (f"threshold={t:g}", ControllerSpec("asc", {"threshold": t})) for t in ASC_THRESHOLDS
        ],
        "esc": [(f"window={w}", ControllerSpec("esc", {"window": w})) for w in ESC_WINDOWS],
        "parallel_probe": [("default", ControllerSpec("parallel_probe"))],
        "cmc": [(f"b={b:g}", ControllerSpec("cmc", beta=b)) for b in betas],
    }


def _unit(
    envs: Sequence[Environment], task: tuple[int, ControllerSpec, MeasureSettings]
) -> dict[str, Any]:
    ei, spec, settings = task
    return measure([envs[ei]], spec, [spec.beta], settings)[0]


def run_units(
    envs: Sequence[Environment],
    units: Sequence[tuple[int, ControllerSpec]],
    settings: MeasureSettings,
    workers: Workers,
    on_done: Callable[[int, dict[str, Any]], None],
) -> None:
    """Measure (env index, spec) units, calling ``on_done(unit index, record)`` as each ends."""
    run_map(_unit, envs, [(ei, spec, settings) for ei, spec in units], workers, on_done)
