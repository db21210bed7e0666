"""The numbers behind a report: every controller at every sweep value on every environment,
evaluated by :func:`autotts.evaluate.evaluate`, plus each environment's ceiling."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..controllers import ControllerSpec
from ..data import Environment, apply_matching
from ..evaluate import EvalResult, EvalSettings, Protocol, env_stats, evaluate
from .specs import ReportController


@dataclass(frozen=True)
class Point:
    """One controller at one sweep value on one environment."""

    controller: str  # its label
    value: Any  # the sweep value (None for a single-point controller)
    env: int  # index into ReportData.envs
    result: EvalResult


@dataclass(frozen=True)
class ReportData:
    """Everything a report draws; ``points`` in controller, then environment, then sweep order."""

    envs: tuple[Environment, ...]
    controllers: tuple[ReportController, ...]
    points: tuple[Point, ...]
    ceilings: tuple[float, ...]  # per env: accuracy (%) of the majority over all its chains
    settings: EvalSettings = field(default_factory=EvalSettings)

    @property
    def protocol(self) -> Protocol:
        return self.settings.protocol

    @property
    def match(self) -> str:
        return self.settings.match

    def curve(self, label: str, env: int) -> list[Point]:
        """A controller's points on one environment, in sweep order."""
        return [p for p in self.points if p.controller == label and p.env == env]

    def at(self, label: str, value: Any, env: int) -> EvalResult | None:
        for p in self.points:
            if p.controller == label and p.env == env and p.value == value:
                return p.result
        return None

    def controller(self, label: str) -> ReportController:
        return next(c for c in self.controllers if c.label == label)

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(e.meta.model for e in self.envs))

    @property
    def datasets(self) -> list[str]:
        return list(dict.fromkeys(e.meta.dataset for e in self.envs))

    def env_index(self, model: str, dataset: str) -> int | None:
        for i, e in enumerate(self.envs):
            if (e.meta.model, e.meta.dataset) == (model, dataset):
                return i
        return None


def check_envs(envs: Sequence[Environment]) -> None:
    """Tables and panels are keyed by model × dataset: two files with the same pair are refused."""
    if not envs:
        raise ValueError("no environments to report on")
    seen: dict[tuple[str, str], str] = {}
    for e in envs:
        key = (e.meta.model, e.meta.dataset)
        where = e.path or e.name
        if key in seen:
            raise ValueError(
                f"{seen[key]} and {where} are both {e.name}: a report needs one environment per "
                "model and dataset"
            )
        seen[key] = where


def ceiling(env: Environment, match: str = "exact") -> float:
    """Accuracy (%) of the majority vote over all of each question's chains."""
    return env_stats(apply_matching(env, match), replicates=1).majority_at_k["all"]


def episodes_needed(
    envs: Sequence[Environment], controllers: Sequence[ReportController], protocol: Protocol
) -> int:
    """How many episodes :func:`evaluate_report` plays (for a progress bar)."""
    per_point = sum(len(e) for e in envs) * protocol.replicates
    return per_point * sum(len(c.sweep_values()) for c in controllers)


def evaluate_report(
    envs: Sequence[Environment],
    controllers: Sequence[ReportController],
    *,
    settings: EvalSettings | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> ReportData:
    """Evaluate every controller at every sweep value on every environment under ``settings``
    (default :class:`~autotts.evaluate.EvalSettings`)."""
    check_envs(envs)
    settings = settings or EvalSettings()
    options: dict[str, Any] = dict(settings=settings, workers=workers)
    points: list[Point] = []
    for rc in controllers:
        values = rc.sweep_values()
        if rc.sweep == "beta":  # one call: the evaluator sweeps betas itself
            results = evaluate(
                envs, ControllerSpec(rc.spec, dict(rc.params)), list(values), progress=progress,
                **options,
            )  # fmt: skip
            by_env = [results[i * len(values) : (i + 1) * len(values)] for i in range(len(envs))]
        else:
            per_value = [evaluate(envs, rc.point(v), progress=progress, **options) for v in values]
            by_env = [[rs[i] for rs in per_value] for i in range(len(envs))]
        for ei, env_results in enumerate(by_env):
            for value, result in zip(values, env_results, strict=True):
                points.append(Point(rc.label, value, ei, result))
    return ReportData(
        envs=tuple(envs),
        controllers=tuple(controllers),
        points=tuple(points),
        ceilings=tuple(ceiling(e, settings.match) for e in envs),
        settings=settings,
    )
