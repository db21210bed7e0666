"""Comparing two controllers on the same environments and the same chain orders.

Both controllers are swept with one protocol (so every episode of A has a twin of B on the same
chain order) and compared per environment by the *matched-token advantage of B over A*
(:func:`advantage`) and the *matched-accuracy token ratio of B to A* (:func:`token_ratio`),
each with a paired bootstrap interval over questions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..controllers import ControllerSpec, uses_beta
from ..data import Environment
from .frontier import Point, matched_accuracy, matched_advantage, matched_count, reached_count
from .protocol import Protocol
from .settings import DEFAULT_BETAS, SETTINGS_FIELDS, EvalSettings
from .sweep import EvalResult, evaluate, settings_from

if TYPE_CHECKING:
    import numpy as np

RESAMPLES = 1000


@dataclass(frozen=True)
class Side:
    """One controller's sweep on one environment (or the mean over environments)."""

    tokens: tuple[float, float]  # lowest and highest average tokens per question
    peak: float  # best accuracy of the sweep, percent
    top: float  # accuracy at the highest beta (a fixed controller's only point), percent


@dataclass(frozen=True)
class EnvComparison:
    """A and B on one environment. ``basis`` says whose points the advantage averaged: ``"a"``
    (A's points within B's range, the definition) or ``"b"`` (the mirror fallback of
    :func:`advantage`). ``ratio`` is :func:`token_ratio` over ``ratio_points`` of A's points."""

    env: str
    model: str
    dataset: str
    a: Side
    b: Side
    advantage: float | None  # B − A, points of accuracy
    ci95: tuple[float, float] | None
    points_used: int
    basis: str | None
    a_results: tuple[EvalResult, ...]
    b_results: tuple[EvalResult, ...]
    ratio: float | None = None  # B's tokens / A's at A's accuracies
    ratio_ci95: tuple[float, float] | None = None
    ratio_points: int = 0


@dataclass(frozen=True)
class Overall:
    """Means over environments: the advantage's arithmetic mean and the ratio's geometric mean,
    each over the environments where it is defined."""

    a: Side
    b: Side
    advantage: float | None
    ci95: tuple[float, float] | None
    envs_used: int
    envs: int
    ratio: float | None = None
    ratio_ci95: tuple[float, float] | None = None
    ratio_envs_used: int = 0


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare`: per-environment rows and the overall row."""

    a: str  # labels, e.g. "cmc" or "sc k=16"
    b: str
    rows: tuple[EnvComparison, ...]
    overall: Overall
    resamples: int
    seed: int

    def to_json(self) -> dict[str, Any]:
        """One JSON-ready document: settings, per-environment rows with the raw points of both
        sweeps (EvalResult records without per-question accuracies), and the overall row."""
        first = self.rows[0].a_results[0]
        return {
            "a": _side_spec(self.a, first),
            "b": _side_spec(self.b, self.rows[0].b_results[0]),
            **{k: getattr(first, k) for k in SETTINGS_FIELDS},
            "bootstrap": {"resamples": self.resamples, "seed": self.seed, "level": 0.95},
            "envs": [_row_json(r) for r in self.rows],
            "overall": {
                "a": _side_json(self.overall.a),
                "b": _side_json(self.overall.b),
                **_advantage_json(self.overall.advantage, self.overall.ci95),
                "envs_used": self.overall.envs_used,
                **_ratio_json(self.overall.ratio, self.overall.ratio_ci95),
                "ratio_envs_used": self.overall.ratio_envs_used,
                "envs": self.overall.envs,
            },
        }


def _side_spec(label: str, r: EvalResult) -> dict[str, Any]:
    return {"label": label, "controller": r.controller, "params": r.params}


def _side_json(s: Side, results: Sequence[EvalResult] | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {"tokens": list(s.tokens), "peak_accuracy": s.peak}
    d["accuracy_at_max_beta"] = s.top
    if results is not None:
        d["points"] = [
            {k: v for k, v in r.to_json(wall_clock=False).items() if k != "per_question_accuracy"}
            for r in results
        ]
    return d


def _advantage_json(value: float | None, ci: tuple[float, float] | None) -> dict[str, Any]:
    return {"advantage": value, "advantage_ci95": list(ci) if ci is not None else None}


def _ratio_json(value: float | None, ci: tuple[float, float] | None) -> dict[str, Any]:
    return {"token_ratio": value, "token_ratio_ci95": list(ci) if ci is not None else None}


def _row_json(r: EnvComparison) -> dict[str, Any]:
    return {
        "env": r.env,
        "model": r.model,
        "dataset": r.dataset,
        "a": _side_json(r.a, r.a_results),
        "b": _side_json(r.b, r.b_results),
        **_advantage_json(r.advantage, r.ci95),
        "points_used": r.points_used,
        "basis": r.basis,
        **_ratio_json(r.ratio, r.ratio_ci95),
        "ratio_points": r.ratio_points,
    }


def spec_label(spec: ControllerSpec) -> str:
    """``sc`` or ``sc k=16``: the spec and its parameters."""
    return spec.spec + "".join(f" {k}={v}" for k, v in spec.params.items())


def _label(r: EvalResult) -> str:
    return spec_label(ControllerSpec(r.controller, r.params))


def side_betas(takes_beta: bool | None, betas: Sequence[float] | None) -> list[float | None]:
    """The betas one side is swept at: ``betas`` (default :data:`DEFAULT_BETAS`) for a beta
    controller, no beta for a fixed baseline (one point, whatever ``betas``), and for an
    original-style class (``takes_beta`` None) ``betas`` only if given, as ``evaluate`` does."""
    if takes_beta is True:
        return list(betas if betas else DEFAULT_BETAS)
    if takes_beta is None and betas:
        return list(betas)
    return [None]


def points(results: Sequence[EvalResult]) -> list[Point]:
    """(average tokens, accuracy) of each result."""
    return [(r.avg_total_tokens, r.accuracy) for r in results]


def summarize(results: Sequence[EvalResult]) -> Side:
    """Token range, peak accuracy and accuracy at the highest beta of one sweep."""
    tokens = [r.avg_total_tokens for r in results]
    top = max(results, key=lambda r: -math.inf if r.beta is None else r.beta)
    return Side((min(tokens), max(tokens)), max(r.accuracy for r in results), top.accuracy)


def advantage(a: Sequence[Point], b: Sequence[Point]) -> tuple[float | None, int, str | None]:
    """(B − A, points averaged, basis). The definition is ``matched_advantage(b, a)`` (B the
    candidate, A the reference: A's points within B's range, basis ``"a"``). When none of A's
    points lies within B's range — B a single point (a fixed baseline such as ``sc``), say —
    the mirror fallback ``-matched_advantage(a, b)`` (A the candidate: B's points within A's
    range, basis ``"b"``). ``(None, 0, None)`` when neither covers a point of the other."""
    value = matched_advantage(b, a)
    if value is not None:
        return value, matched_count(b, a), "a"
    mirrored = matched_advantage(a, b)
    if mirrored is not None:
        return -mirrored, matched_count(a, b), "b"
    return None, 0, None


def token_ratio(a: Sequence[Point], b: Sequence[Point]) -> tuple[float | None, int]:
    """(ratio, points averaged): ``matched_accuracy(b, a)``, the tokens B needs to reach A's
    accuracies over A's tokens (geometric mean over the points of A that B reaches; below 1 B
    is cheaper), and how many of A's points B reaches. ``(None, 0)`` when B reaches none."""
    return matched_accuracy(b, a), reached_count(b, a)


def _resampled(
    a: Sequence[EvalResult], b: Sequence[EvalResult], resamples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The advantage and the token ratio under ``resamples`` paired bootstrap draws of the
    questions (NaN in a draw where one is undefined): each draw resamples question indices with
    replacement and recomputes every point's accuracy of both sweeps from the same indices;
    tokens stay at their measured averages."""
    import numpy as np

    pa = np.array([r.per_question_accuracy for r in a], dtype=float)
    pb = np.array([r.per_question_accuracy for r in b], dtype=float)
    n = pa.shape[1]
    if n == 0 or pb.shape[1] != n:
        raise ValueError("A and B must have per-question accuracies on the same questions")
    weights = np.zeros((resamples, n))  # draw k: how often each question was drawn, over n
    np.add.at(weights, (np.arange(resamples)[:, None], rng.integers(0, n, (resamples, n))), 1 / n)
    acc_a, acc_b = 100 * pa @ weights.T, 100 * pb @ weights.T  # (points, resamples)
    ta, tb = [r.avg_total_tokens for r in a], [r.avg_total_tokens for r in b]
    adv, ratio = np.empty(resamples), np.empty(resamples)
    for k in range(resamples):
        pts_a = list(zip(ta, acc_a[:, k].tolist(), strict=True))
        pts_b = list(zip(tb, acc_b[:, k].tolist(), strict=True))
        value, _, _ = advantage(pts_a, pts_b)
        adv[k] = math.nan if value is None else value
        r = matched_accuracy(pts_b, pts_a)
        ratio[k] = math.nan if r is None else r
    return adv, ratio


def _ci(samples: np.ndarray) -> tuple[float, float] | None:
    """The 2.5 and 97.5 percentiles over the draws where the value is defined; None if none is.
    (The advantage is defined in every draw or none, since it depends on tokens only; the
    ratio can be undefined in a draw where B no longer reaches any of A's accuracies.)"""
    import numpy as np

    defined = samples[~np.isnan(samples)]
    if defined.size == 0:
        return None
    lo, hi = np.percentile(defined, [2.5, 97.5])
    return float(lo), float(hi)


@dataclass(frozen=True)
class _Draws:
    advantage: np.ndarray | None  # None when the estimate is undefined
    ratio: np.ndarray | None


def _compare_env(
    a: Sequence[EvalResult], b: Sequence[EvalResult], resamples: int, seed: int, index: int
) -> tuple[EnvComparison, _Draws]:
    """One environment's row and its bootstrap draws. Draws are seeded by (seed, environment
    index): environments resample independently."""
    import numpy as np

    value, used, basis = advantage(points(a), points(b))
    ratio, reached = token_ratio(points(a), points(b))
    draws = _Draws(None, None)
    if value is not None or ratio is not None:
        adv_s, ratio_s = _resampled(a, b, resamples, np.random.default_rng([seed % 2**64, index]))
        draws = _Draws(adv_s if value is not None else None, ratio_s if ratio is not None else None)
    first = a[0]
    row = EnvComparison(
        first.env, first.model, first.dataset, summarize(a), summarize(b), value,
        _ci(draws.advantage) if draws.advantage is not None else None, used, basis, tuple(a),
        tuple(b), ratio, _ci(draws.ratio) if draws.ratio is not None else None, reached,
    )  # fmt: skip
    return row, draws


def _mean_side(sides: Sequence[Side]) -> Side:
    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    return Side(
        (mean([s.tokens[0] for s in sides]), mean([s.tokens[1] for s in sides])),
        mean([s.peak for s in sides]),
        mean([s.top for s in sides]),
    )


def _split(results: Sequence[EvalResult], n_envs: int) -> list[list[EvalResult]]:
    """Env-major results (as ``evaluate`` orders them) cut into one list per environment."""
    size, extra = divmod(len(results), n_envs) if n_envs > 0 else (0, 1)
    if size == 0 or extra:
        raise ValueError(f"{len(results)} results do not split into {n_envs} environments")
    return [list(results[i : i + size]) for i in range(0, len(results), size)]


def compare_results(
    results_a: Sequence[EvalResult],
    results_b: Sequence[EvalResult],
    n_envs: int,
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> Comparison:
    """Compare two sweeps already evaluated on the same ``n_envs`` environments, env-major as
    ``evaluate`` returns them, under one protocol (so paired): per-environment rows and the
    overall row, whose advantage is the mean over the environments where it is defined and
    whose interval averages the environments' bootstrap draws; the token ratio likewise, as a
    geometric mean (a draw where some environment's ratio is undefined is left out of the
    overall interval)."""
    import numpy as np

    by_a, by_b = _split(results_a, n_envs), _split(results_b, n_envs)
    if [g[0].env for g in by_a] != [g[0].env for g in by_b]:
        raise ValueError("A and B must be evaluated on the same environments, in the same order")
    pairs = enumerate(zip(by_a, by_b, strict=True))
    drawn = [_compare_env(a, b, resamples, seed, i) for i, (a, b) in pairs]
    rows = [row for row, _ in drawn]
    used = [
        (r.advantage, d.advantage)
        for r, d in drawn
        if r.advantage is not None and d.advantage is not None
    ]
    logs = [
        (math.log(r.ratio), np.log(d.ratio))
        for r, d in drawn
        if r.ratio is not None and d.ratio is not None
    ]
    overall = Overall(
        _mean_side([r.a for r in rows]),
        _mean_side([r.b for r in rows]),
        sum(v for v, _ in used) / len(used) if used else None,
        _ci(np.mean([s for _, s in used], axis=0)) if used else None,
        len(used),
        len(rows),
        math.exp(sum(v for v, _ in logs) / len(logs)) if logs else None,
        _ci(np.exp(np.mean([s for _, s in logs], axis=0))) if logs else None,
        len(logs),
    )
    label_a, label_b = _label(results_a[0]), _label(results_b[0])
    return Comparison(label_a, label_b, tuple(rows), overall, resamples, seed)


def compare(
    envs: Sequence[Environment],
    spec_a: ControllerSpec,
    spec_b: ControllerSpec,
    betas: Sequence[float] | None = None,
    *,
    settings: EvalSettings | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    resamples: int = RESAMPLES,
    protocol: Protocol | None = None,
    match: str | None = None,
    kappa_probe: float | None = None,
    budget: float | None = None,
) -> Comparison:
    """Sweep A and B on ``envs`` with the same protocol (hence the same chain orders) and compare
    them: per environment, the matched-token advantage of B over A (:func:`advantage`), the
    matched-accuracy token ratio of B to A (:func:`token_ratio`), each side's token range, peak
    accuracy and accuracy at the highest beta, and paired bootstrap 95 % intervals of the
    advantage and the ratio over questions (``resamples`` draws seeded by the protocol's
    seed). Each side is swept at :func:`side_betas`. The interval is an approximation: it
    resamples accuracies and keeps each point's tokens at their measured averages.
    ``settings`` is as for :func:`~autotts.evaluate.evaluate` (so are the older keywords)."""
    rs = settings_from(settings, protocol, match, kappa_probe, budget)
    options: dict[str, Any] = dict(settings=rs, workers=workers, progress=progress)
    a, b = (
        evaluate(envs, spec, side_betas(uses_beta(spec.spec), betas), **options)
        for spec in (spec_a, spec_b)
    )
    return compare_results(a, b, len(envs), resamples=resamples, seed=rs.seed)
