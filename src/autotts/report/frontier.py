"""Frontier plots: accuracy against average tokens per question (log x), one panel per
environment (models as rows, datasets as columns), each controller a curve over its sweep with
a 95 % CI band, and the environment's ceiling (majority over all chains) as a dashed line."""

from __future__ import annotations

import math
from typing import Any

from .results import ReportData
from .style import CEILING_COLOUR, pyplot

METRICS = {
    "tokens": ("avg_total_tokens", "average tokens per question (log scale)"),
    "sequential": ("avg_sequential_tokens", "average sequential tokens (longest chain, log scale)"),
}


def _short(x: float, _pos: Any = None) -> str:
    if x >= 1e6:
        return f"{x / 1e6:g}M"
    if x >= 1e3:
        return f"{x / 1e3:g}k"
    return f"{x:g}"


def nice_ticks(lo: float, hi: float) -> list[float]:
    """Tick values in [lo, hi] from the 1-2-5 series (1-2-3-5 when that gives fewer than three):
    labelled ticks even when the axis spans less than a decade."""
    if lo <= 0 or hi <= lo:
        return []
    for mantissas in ((1, 2, 5), (1, 2, 3, 5), (1, 1.5, 2, 3, 4, 5, 6, 8)):
        ticks = [
            m * 10.0**e
            for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
            for m in mantissas
            if lo <= m * 10.0**e <= hi
        ]
        if len(ticks) >= 3:
            return ticks
    return ticks


def _panel(ax: Any, data: ReportData, env: int, metric: str, colours: dict[str, str]) -> None:
    from matplotlib.ticker import FuncFormatter, NullFormatter

    attr = METRICS[metric][0]
    xs_all: list[float] = []
    for rc in data.controllers:
        curve = data.curve(rc.label, env)
        if not curve:
            continue
        colour = colours[rc.label]
        xs = [getattr(p.result, attr) for p in curve]
        ys = [p.result.accuracy for p in curve]
        below = [y - p.result.accuracy_ci95[0] for y, p in zip(ys, curve, strict=True)]
        above = [p.result.accuracy_ci95[1] - y for y, p in zip(ys, curve, strict=True)]
        xs_all += xs
        # the CI as thin bars: bands of several controllers overlap into a blur
        ax.errorbar(
            xs, ys, yerr=[below, above], fmt="none", ecolor=colour, elinewidth=1.0, alpha=0.35,
            capsize=0, zorder=2,
        )  # fmt: skip
        ax.plot(xs, ys, "-", color=colour, lw=1.8, zorder=3)
        # markers grow along the sweep (k=1 smallest, k=64 largest) so its direction shows
        n = len(xs)
        sizes = [45.0] if n == 1 else [14 + 46 * i / (n - 1) for i in range(n)]
        ax.scatter(xs, ys, s=sizes, color=colour, zorder=4, edgecolors="white", linewidths=0.6)
    ax.axhline(data.ceilings[env], color=CEILING_COLOUR, ls="--", lw=1.1, zorder=1)
    ax.set_xscale("log")
    if xs_all:
        lo_x, hi_x = min(xs_all), max(xs_all)
        pad = max(math.log10(hi_x / lo_x) * 0.06, 0.04) if lo_x > 0 else 0.1
        lo_x, hi_x = lo_x / 10**pad, hi_x * 10**pad
        ax.set_xlim(lo_x, hi_x)
        ax.set_xticks(nice_ticks(lo_x, hi_x))
    ax.xaxis.set_major_formatter(FuncFormatter(_short))
    ax.xaxis.set_minor_formatter(NullFormatter())


def frontier_figure(
    data: ReportData,
    metric: str,
    colours: dict[str, str],
    splits: dict[str, str] | None = None,
) -> Any:
    """The figure for ``metric`` ("tokens" or "sequential"); ``splits`` maps a dataset to
    "search"/"held-out" for the panel titles."""
    from matplotlib.lines import Line2D

    plt = pyplot()
    models, datasets = data.models, data.datasets
    nrows, ncols = len(models), len(datasets)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.6 * ncols + 0.4, 3.2 * nrows + 1.0), squeeze=False,
        layout="constrained",
    )  # fmt: skip
    xlabel = METRICS[metric][1]
    for r, model in enumerate(models):
        for c, dataset in enumerate(datasets):
            ax = axes[r][c]
            env = data.env_index(model, dataset)
            if env is None:
                ax.set_visible(False)
                continue
            _panel(ax, data, env, metric, colours)
            split = f" ({splits[dataset]})" if splits and dataset in splits else ""
            ax.set_title(f"{model} · {dataset}{split}")
            ax.set_ylabel("accuracy (%)")
            if r == nrows - 1 or data.env_index(models[r + 1], dataset) is None:
                ax.set_xlabel(xlabel)
    handles = [
        Line2D([], [], color=colours[rc.label], marker="o", lw=1.6, label=_legend_label(rc))
        for rc in data.controllers
    ]
    handles.append(
        Line2D([], [], color=CEILING_COLOUR, ls="--", lw=1.1, label="majority over all chains")
    )
    title = "Accuracy vs tokens" if metric == "tokens" else "Accuracy vs sequential tokens"
    # the title heads the legend (a suptitle and an outside legend would collide)
    legend = fig.legend(
        handles=handles,
        loc="outside upper center",
        ncol=min(len(handles), 4),
        fontsize=9.5,
        title=f"{title} — {data.protocol.replicates} replicates · bars: 95% CI over questions · "
        "markers grow along each sweep",
        title_fontsize=12,
    )
    legend.get_title().set_fontweight("bold")
    return fig


def _legend_label(rc: Any) -> str:
    if rc.sweep is None:
        return rc.label
    values = rc.values
    shown = [f"{v:g}" if isinstance(v, float) else str(v) for v in (values[0], values[-1])]
    name = "β" if rc.sweep == "beta" else rc.sweep
    return f"{rc.label} ({name} {shown[0]}…{shown[1]})"
