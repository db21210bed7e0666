"""``check-controller``: the checks a candidate must pass, run on one file.

The static policy first (every violation, one line each), then — if the code is clean — the
beta contract, measured in the sandbox on the given environments: one knob, budget monotone in
beta, a meaningful budget range. The same functions judge candidates in the discovery loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .contract import contract_problems
from .measure import MeasureSettings
from .proposers import controller_class_name


@dataclass
class CheckReport:
    filename: str
    class_name: str | None
    problems: list[str] = field(default_factory=list)
    sweep: dict[str, list[tuple[float, float, float]]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.filename,
            "class_name": self.class_name,
            "ok": self.ok,
            "problems": self.problems,
            "sweep": {
                env: [{"beta": b, "accuracy": a, "avg_total_tokens": t} for b, a, t in pts]
                for env, pts in self.sweep.items()
            },
        }


def check_controller(
    source: str,
    filename: str,
    class_name: str | None,
    env_paths: Sequence[str],
    env_labels: Sequence[str],
    betas: Sequence[float],
    settings: MeasureSettings,
    *,
    timeout_s: float = 300.0,
    memory_mb: int = 4096,
) -> CheckReport:
    from ..sandbox import Limits, check_source
    from .measure import measure_candidate

    report = CheckReport(filename, class_name)
    report.problems = [str(v) for v in check_source(source, filename)]
    if report.problems:
        return report
    if class_name is None:
        try:
            class_name = report.class_name = controller_class_name(source)
        except ValueError as e:
            report.problems.append(f"{filename}: {e}")
            return report
    limits = Limits(timeout_s=timeout_s, memory_mb=memory_mb)
    sweeps: dict[str, list[tuple[float, float]]] = {}
    for path, label in zip(env_paths, env_labels, strict=True):
        out = measure_candidate(source, class_name, path, list(betas), settings, limits)
        if out.knob_problems:
            report.problems += [f"{filename}: {p}" for p in out.knob_problems]
            return report
        if out.status != "ok":
            report.problems.append(f"{filename}: {out.status}: {out.reason}")
            return report
        pts = [
            (r["beta"], r["result"]["accuracy"], r["result"]["avg_total_tokens"])
            for r in out.records
        ]
        report.sweep[label] = pts
        sweeps[label] = [(b, t) for b, _, t in pts]
        errors = sum(r["result"]["errors"] for r in out.records)
        if errors:
            first = next(ex for r in out.records for ex in r["result"]["error_examples"])
            report.problems.append(f"{filename}: {label}: {errors} episodes raised; first: {first}")
    report.problems += [f"{filename}: {p}" for p in contract_problems(sweeps)]
    return report
