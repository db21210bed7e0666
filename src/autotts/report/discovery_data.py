"""The numbers of a discovery report, read from a :class:`autotts.discover.RunView`: each
candidate's search-split point at the run's highest beta, the baselines' reference points, the
best score so far by round, and the held-out comparison of ``summary.json``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..discover import ranked
from .tables import Cell, PaperTable, Row

if TYPE_CHECKING:
    from ..discover import RunView

BASELINE_ORDER = ("sc", "asc", "esc", "parallel_probe", "cmc")
SELECTED = "selected"  # the selection's key in summary.json's sweeps


@dataclass(frozen=True)
class CandidatePoint:
    """A measured candidate on the search split at ``beta`` (means over the search
    environments), with its search score."""

    id: str
    round: int
    status: str
    beta: float
    accuracy: float
    tokens: float
    score: float | None


@dataclass(frozen=True)
class ReferencePoint:
    """A baseline at its highest budget (sc k=64, cmc at the highest beta), on the search
    split (means over its environments)."""

    name: str
    label: str  # e.g. "sc k=64"
    beta: float | None
    accuracy: float
    tokens: float


@dataclass(frozen=True)
class Progress:
    beta: float  # the run's highest beta
    n_envs: int
    rounds: tuple[int, ...]  # the rounds that have candidates, in order
    candidates: tuple[CandidatePoint, ...]
    references: tuple[ReferencePoint, ...]
    scores: tuple[tuple[str, int, str, float], ...]  # (id, round, status, score), scored ones
    best: tuple[tuple[int, str, float], ...]  # (round, id, score): best ok candidate so far
    chosen: str | None  # the selection (finished run) or the best so far
    finished: bool


def chosen_id(view: RunView) -> str | None:
    """The selected candidate of a finished run; the best so far of an unfinished one."""
    if view.summary is not None:
        return (view.summary.get("selected") or {}).get("id")
    best = ranked(view.candidates)
    return best[0].id if best else None


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _at_top(records: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The record at the highest budget: the highest beta, else the last point of the sweep
    (baseline sweeps are listed from the cheapest setting up)."""
    with_beta = [r for r in records if r.get("beta") is not None]
    return max(with_beta, key=lambda r: r["beta"]) if with_beta else records[-1]


def point_name(controller: str, point: str | None) -> str:
    """``("sc", "k=64")`` -> ``sc k=64``; ``("cmc", "b=0.5")`` -> ``cmc β=0.5``; a
    ``default`` point is the controller's name alone."""
    if not point or point == "default":
        return controller
    if point.startswith("b="):
        point = "β=" + point[2:]
    return f"{controller} {point}"


def progress(view: RunView) -> Progress:
    cfg = view.config
    top = max(cfg.betas)
    envs = view.search_labels
    by_id = {c.id: c for c in view.candidates}
    points = []
    for cid, sweep in view.search.items():
        c = by_id[cid]
        if c.status == "error":  # every episode raised: its accuracy means nothing
            continue
        recs = [_at_top(sweep[e]) for e in envs]
        points.append(
            CandidatePoint(
                cid, c.round, c.status, top, _mean([r["result"]["accuracy"] for r in recs]),
                _mean([r["result"]["avg_total_tokens"] for r in recs]), c.score,
            )
        )  # fmt: skip
    refs = []
    names = [n for n in BASELINE_ORDER if n in view.search_baselines]
    names += sorted(set(view.search_baselines) - set(names))
    for name in names:
        sweep = view.search_baselines[name]
        recs = [_at_top(sweep[e]) for e in envs if sweep.get(e)]
        if not recs:
            continue
        refs.append(
            ReferencePoint(
                name, point_name(name, recs[0].get("label")), recs[0].get("beta"),
                _mean([r["result"]["accuracy"] for r in recs]),
                _mean([r["result"]["avg_total_tokens"] for r in recs]),
            )
        )  # fmt: skip
    rounds = tuple(sorted({c.round for c in view.candidates}))
    best = []
    for rnd in rounds:
        so_far = ranked([c for c in view.candidates if c.round <= rnd])
        if so_far:
            best.append((rnd, so_far[0].id, float(so_far[0].score or 0.0)))
    scores = tuple(
        (c.id, c.round, c.status, float(c.score)) for c in view.candidates if c.score is not None
    )
    points.sort(key=lambda p: (p.round, p.id))
    return Progress(
        top, len(envs), rounds, tuple(points), tuple(refs), scores, tuple(best),
        chosen_id(view), view.summary is not None,
    )  # fmt: skip


@dataclass(frozen=True)
class HeldoutData:
    """``summary.json``'s held-out part: per controller (``selected`` and each baseline),
    environment label → its points in sweep order, as stored."""

    envs: tuple[str, ...]
    sweeps: dict[str, dict[str, list[dict[str, Any]]]]  # controller -> env -> rows
    selected: str | None  # the selected candidate's id
    advantage: dict[str, dict[str, float | None]]  # baseline -> env | "mean" -> points
    replicates: int
    table: PaperTable

    def name(self, controller: str) -> str:
        return display_name(controller, self.selected)

    def long_rows(self) -> tuple[list[str], list[list[Any]]]:
        """heldout.csv: one row per (environment, controller, point), numbers as stored."""
        header = [
            "env", "controller", "point", "beta", "accuracy", "ci95_lo", "ci95_hi",
            "avg_total_tokens", "avg_sequential_tokens", "errors",
        ]  # fmt: skip
        rows = []
        for env in self.envs:
            for controller, per_env in self.sweeps.items():
                for r in per_env.get(env, ()):
                    ci = r.get("accuracy_ci95") or ["", ""]
                    rows.append(
                        [env, self.name(controller), r["point"],
                         "" if r["beta"] is None else r["beta"], r["accuracy"], ci[0], ci[1],
                         r["avg_total_tokens"], r["avg_sequential_tokens"], r["errors"]]
                    )  # fmt: skip
        return header, rows


def heldout_data(summary: Mapping[str, Any]) -> HeldoutData:
    held: Mapping[str, Mapping[str, list[dict[str, Any]]]] = summary.get("heldout") or {}
    order = [SELECTED] if SELECTED in held else []
    order += [n for n in BASELINE_ORDER if n in held]
    order += sorted(set(held) - set(order))
    cfg = summary.get("config") or {}
    stored = list(dict.fromkeys(e for sweep in held.values() for e in sweep))
    labels = [e for e in cfg.get("heldout_labels") or () if e in stored]
    envs = tuple(labels + [e for e in stored if e not in labels])
    selected = (summary.get("selected") or {}).get("id")
    sweeps = {name: dict(held[name]) for name in order}
    advantage = dict(summary.get("heldout_advantage") or {})
    replicates = int(cfg.get("replicates") or 0)
    table = _table(envs, sweeps, selected, replicates)
    return HeldoutData(envs, sweeps, selected, advantage, replicates, table)


def display_name(controller: str, selected: str | None) -> str:
    """How the report names a controller of summary.json: the selection by its candidate id."""
    return (selected or SELECTED) if controller == SELECTED else controller


def _table(
    envs: tuple[str, ...],
    sweeps: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]],
    selected: str | None,
    replicates: int,
) -> PaperTable:
    """The held-out points in the papers' layout: a row per controller point, a column group
    per environment (and their mean)."""
    keys: list[tuple[str, str, Any]] = []  # (controller, point, beta) in order
    for controller, per_env in sweeps.items():
        for env in envs:
            for r in per_env.get(env, ()):
                if (controller, r["point"], r["beta"]) not in keys:
                    keys.append((controller, r["point"], r["beta"]))
    rows = []
    for controller, point, beta in keys:
        cells: list[Cell | None] = []
        for env in envs:
            found = [x for x in sweeps[controller].get(env, ()) if x["point"] == point]
            if not found:
                cells.append(None)
                continue
            r = found[0]
            ci = tuple(r["accuracy_ci95"]) if r.get("accuracy_ci95") else None
            cells.append(Cell(r["accuracy"], r["avg_total_tokens"], r["avg_sequential_tokens"], ci))
        if len(envs) > 1:
            present = [c for c in cells if c is not None]
            cells.append(
                Cell(*(sum(getattr(c, k) for c in present) / len(present)
                       for k in ("accuracy", "tokens", "sequential")))
                if len(present) == len(envs) else None
            )  # fmt: skip
        name = display_name(controller, selected)
        rows.append(Row("held-out split", name, point_name(name, point), beta, tuple(cells)))
    groups = list(envs) + (["mean"] if len(envs) > 1 else [])
    caption = (
        "Accuracy (%) and average tokens per question on the held-out split, "
        f"{replicates} replicates. Best accuracy of each column in bold."
    )
    return PaperTable(tuple(groups), tuple(rows), caption)
