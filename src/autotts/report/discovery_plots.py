"""The figures of a discovery report: progress per round (search split), the evolve search's
fitness by generation and the held-out frontier. Baselines keep the colours they have in every
report; rounds are shades of one hue (later rounds darker) that no baseline uses; the selected
candidate has the colour a file controller gets in an evaluation report."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .discovery_data import SELECTED, HeldoutData, Progress
from .frontier import _short, nice_ticks
from .style import BUILTIN_COLOURS, CEILING_COLOUR, EXTRA_COLOURS, controller_colours, pyplot, save

if TYPE_CHECKING:
    from ..discover import EvolveSearch

SELECTED_COLOUR = EXTRA_COLOURS[0]  # what controller_colours gives the first file controller
BEST_COLOUR = "#222222"
MAX_POINT_LABELS = 16  # candidates labelled with their id up to this many points
MAX_BEST_LABELS = 6  # improvements of the best score named when points are not
MAX_ROUND_ENTRIES = 10  # rounds listed in the legend; more get a colour bar


def round_colours(rounds: Sequence[int]) -> dict[int, Any]:
    """A shade of purple per round, light to dark."""
    from matplotlib import colormaps

    cmap = colormaps["Purples"]
    n = len(rounds)
    return {r: cmap(0.45 + 0.5 * (i / (n - 1) if n > 1 else 1.0)) for i, r in enumerate(rounds)}


def _log_x(ax: Any, xs: Sequence[float]) -> None:
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ax.set_xscale("log")
    xs = [x for x in xs if x > 0]
    if xs:
        lo, hi = min(xs), max(xs)
        pad = max(math.log10(hi / lo) * 0.08, 0.05)
        lo, hi = lo / 10**pad, hi * 10**pad
        ax.set_xlim(lo, hi)
        ax.set_xticks(nice_ticks(lo, hi))
    ax.xaxis.set_major_formatter(FuncFormatter(_short))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _scatter_candidates(ax: Any, prog: Progress, colours: dict[int, Any]) -> None:
    for p in prog.candidates:
        filled = p.status == "ok"
        c = colours[p.round]
        ax.scatter(
            [p.tokens], [p.accuracy], s=52, zorder=4, linewidths=1.6,
            color=c if filled else "white", edgecolors="white" if filled else c,
        )  # fmt: skip
        if p.id == prog.chosen:
            ax.scatter([p.tokens], [p.accuracy], s=230, facecolors="none", zorder=5,
                       edgecolors=SELECTED_COLOUR, linewidths=2.2)  # fmt: skip
    for r in prog.references:
        colour = BUILTIN_COLOURS.get(r.name, CEILING_COLOUR)
        ax.scatter([r.tokens], [r.accuracy], marker="D", s=64, color=colour, zorder=3,
                   edgecolors="white", linewidths=0.8)  # fmt: skip


# where a point's label may go, in points from the marker, tried in order
OFFSETS = ((8, 0, "left", "center"), (0, 9, "center", "bottom"), (0, -9, "center", "top"),
           (-8, 0, "right", "center"), (8, 9, "left", "bottom"), (8, -9, "left", "top"),
           (-8, 9, "right", "bottom"), (-8, -9, "right", "top"))  # fmt: skip


def place_labels(
    ax: Any,
    labels: Sequence[tuple[str, float, float, dict[str, Any]]],
    lines: Sequence[tuple[float, float, float, float]] = (),
) -> None:
    """Write each label beside its point at the first offset where it overlaps no marker, no
    line segment ``(x0, y0, x1, y1)``, no label already placed and stays inside the axes (else
    at the first offset). Call once the axes' limits are final and the figure laid out."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    pad = 6 * fig.dpi / 72  # a marker's half width, in pixels
    taken = []
    for _, x, y, _ in labels:
        px, py = ax.transData.transform((x, y))
        taken.append((px - pad, py - pad, px + pad, py + pad))
    for x0, y0, x1, y1 in lines:
        (ax0, ay0), (ax1, ay1) = ax.transData.transform([(x0, y0), (x1, y1)])
        taken.append((min(ax0, ax1) - 2, min(ay0, ay1) - 2, max(ax0, ax1) + 2, max(ay0, ay1) + 2))
    for text, x, y, style in labels:
        for n, (dx, dy, ha, va) in enumerate(OFFSETS):
            t = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha,
                            va=va, zorder=6, **style)  # fmt: skip
            b = t.get_window_extent(renderer)
            ours = (b.x0, b.y0, b.x1, b.y1)
            inside = box.x0 <= b.x0 and b.x1 <= box.x1 and box.y0 <= b.y0 and b.y1 <= box.y1
            clear = not any(_overlap(ours, other) for other in taken)
            if (inside and clear) or n == len(OFFSETS) - 1:
                if not (inside and clear):  # nowhere free: the first choice, overlapping
                    t.remove()
                    dx, dy, ha, va = OFFSETS[0]
                    t = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points",
                                    ha=ha, va=va, zorder=6, **style)  # fmt: skip
                    b = t.get_window_extent(renderer)
                taken.append((b.x0, b.y0, b.x1, b.y1))
                break
            t.remove()


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _point_labels(prog: Progress) -> list[tuple[str, float, float, dict[str, Any]]]:
    """Baselines in their colour, bold; candidates in grey, when there are few enough."""
    out = [
        (r.label, r.tokens, r.accuracy,
         {"fontsize": 8.5, "fontweight": "bold",
          "color": BUILTIN_COLOURS.get(r.name, CEILING_COLOUR)})
        for r in prog.references
    ]  # fmt: skip
    if len(prog.candidates) <= MAX_POINT_LABELS:
        out += _joint([(p.id, p.tokens, p.accuracy) for p in prog.candidates])
    return out


def _joint(points: Sequence[tuple[str, float, float]]) -> list[tuple[str, float, float, Any]]:
    """One label per position: candidates with the same code land on the same point."""
    at: dict[tuple[float, float], list[str]] = {}
    for cid, x, y in points:
        at.setdefault((x, y), []).append(cid)
    style = {"fontsize": 8, "color": "#444444"}
    return [(", ".join(ids), x, y, style) for (x, y), ids in at.items()]


Segment = tuple[float, float, float, float]


def _scores(
    ax: Any, prog: Progress, colours: dict[int, Any]
) -> tuple[list[tuple[Any, ...]], list[Segment]]:
    """Draw the score panel; returns the labels to place (every point's id when there are few,
    else the candidates where the best score changed) and the lines they should avoid."""
    points: list[tuple[str, float, float]] = []
    per_round: dict[int, list[tuple[str, str, float]]] = {}
    for cid, rnd, status, score in prog.scores:
        per_round.setdefault(rnd, []).append((cid, status, score))
    for rnd, items in per_round.items():
        for k, (cid, status, score) in enumerate(items):
            x = rnd + 0.12 * (k - (len(items) - 1) / 2)  # side by side within a round
            filled = status == "ok"
            c = colours[rnd]
            ax.scatter(
                [x], [score], s=52, zorder=4, linewidths=1.6, color=c if filled else "white",
                edgecolors="white" if filled else c,
            )  # fmt: skip
            if cid == prog.chosen:
                ax.scatter([x], [score], s=230, facecolors="none", edgecolors=SELECTED_COLOUR,
                           linewidths=2.2, zorder=5)  # fmt: skip
            points.append((cid, x, score))
    labels = _joint(points) if len(points) <= MAX_POINT_LABELS else []
    lo, hi = prog.rounds[0] - 0.5, prog.rounds[-1] + 0.5
    segments: list[Segment] = [(lo, 0.0, hi, 0.0)]
    if prog.best:
        xs = [float(r) for r, _, _ in prog.best] + [prog.rounds[-1] + 0.4]
        ys = [s for _, _, s in prog.best]
        ys.append(ys[-1])
        ax.step(xs, ys, where="post", color=BEST_COLOUR, lw=1.6, zorder=3)
        for i in range(len(xs) - 1):
            segments += [(xs[i], ys[i], xs[i + 1], ys[i]), (xs[i + 1], ys[i], xs[i + 1], ys[i + 1])]
        if len(points) > MAX_POINT_LABELS:  # too many to name: the latest improvements
            changes = [b for n, b in enumerate(prog.best) if n == 0 or b[1] != prog.best[n - 1][1]]
            style = {"fontsize": 8, "color": BEST_COLOUR}
            labels += [(cid, rnd, score, style) for rnd, cid, score in changes[-MAX_BEST_LABELS:]]
    ax.axhline(0, color=CEILING_COLOUR, ls="--", lw=1.1, zorder=1)
    ax.set_xticks(list(prog.rounds))
    ax.set_xlim(lo, hi)
    ax.set_xlabel("round")
    ax.set_ylabel("search score (accuracy points\nvs the baselines' frontier)")
    ax.set_title("Search score by round")
    return labels, segments


def progress_figure(prog: Progress, stem: Path) -> list[Path]:
    """Write ``<stem>.png`` and ``.svg``: the search split at the highest beta (left) and the
    search score by round (right)."""
    from matplotlib.lines import Line2D

    plt = pyplot()
    fig, (ax, ax2) = plt.subplots(
        1, 2, figsize=(12.5, 4.9), width_ratios=[1.5, 1], layout="constrained"
    )
    colours = round_colours(prog.rounds)
    _scatter_candidates(ax, prog, colours)
    _log_x(ax, [p.tokens for p in prog.candidates] + [r.tokens for r in prog.references])
    ax.set_xlabel("average tokens per question (log scale)")
    ax.set_ylabel("accuracy (%)")
    where = f"mean of {prog.n_envs} environments" if prog.n_envs > 1 else "search split"
    ax.set_title(f"Search split at β = {prog.beta:g} ({where})")
    ax.margins(y=0.12)
    score_labels, segments = _scores(ax2, prog, colours) if prog.rounds else ([], [])
    ax2.set_visible(bool(prog.rounds))

    def dot(colour: Any, label: str, face: Any = None, **kw: Any) -> Line2D:
        return Line2D([], [], ls="", marker=kw.pop("marker", "o"), markersize=kw.pop("ms", 7),
                      color=colour, markerfacecolor=face or colour, label=label, **kw)  # fmt: skip

    handles = []
    if len(prog.rounds) <= MAX_ROUND_ENTRIES:
        handles += [dot(colours[r], f"round {r}") for r in prog.rounds]
    else:
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import BoundaryNorm, ListedColormap

        cmap = ListedColormap([colours[r] for r in prog.rounds])
        norm = BoundaryNorm([*range(len(prog.rounds) + 1)], cmap.N)
        bar = fig.colorbar(ScalarMappable(norm, cmap), ax=ax2, label="round", pad=0.02)
        bar.set_ticks([i + 0.5 for i in range(len(prog.rounds))], labels=map(str, prog.rounds))
    grey = colours[prog.rounds[-1]] if prog.rounds else CEILING_COLOUR
    handles += [
        dot(grey, "breaks the β contract", face="white", markeredgewidth=1.6),
        dot(SELECTED_COLOUR, "selected" if prog.finished else "best so far", face="none",
            ms=13, markeredgewidth=2.2),
        dot(CEILING_COLOUR, "baseline at its highest budget", marker="D", ms=6),
        Line2D([], [], color=BEST_COLOUR, lw=1.6, label="best score so far (passed checks)"),
        Line2D([], [], color=CEILING_COLOUR, ls="--", lw=1.1, label="0 = the baselines' frontier"),
    ]  # fmt: skip
    n = len(prog.candidates)
    legend = fig.legend(
        handles=handles, loc="outside upper center", ncol=min(len(handles), 5), fontsize=9.5,
        title=f"Discovery progress — {n} measured candidate(s) over {len(prog.rounds)} round(s)",
        title_fontsize=12,
    )  # fmt: skip
    legend.get_title().set_fontweight("bold")
    fig.canvas.draw()  # lay the figure out: labels are placed in its final pixels
    place_labels(ax, _point_labels(prog))
    place_labels(ax2, score_labels, segments)
    return save(fig, stem)


def _fitness_floor(search: EvolveSearch) -> float | None:
    """The lowest fitness drawn to scale: a failed genome far below the rest (the contract
    penalty, say) would squash every generation's best into one line; those are drawn as ▼
    at the floor. None when nothing is that far below."""
    values = sorted(m.value for m in search.members if m.value is not None)
    marks = [g.best for g in search.generations if g.best is not None]
    marks += [g.median for g in search.generations if g.median is not None]
    if not values or not marks:
        return None
    top, low = max(marks), min(marks)
    floor = low - max(1.0, top - low)
    return floor if values[0] < floor else None


def search_figure(search: EvolveSearch, stem: Path) -> list[Path]:
    """Write ``<stem>.png`` and ``.svg``: every evaluated genome's search fitness by
    generation (hollow: broke the β contract), the best and median of each generation, the
    bar a genome had to reach to be promoted, and the promoted genomes (★)."""
    from matplotlib.lines import Line2D

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9.5, 4.6), layout="constrained")
    gens = [g.number for g in search.generations]
    promoted = {p.key for p in search.promotions}  # starred where it was bred
    floor = _fitness_floor(search)
    clipped = 0
    for g in search.generations:
        ms = [m for m in search.members if m.generation == g.number and m.value is not None]
        for k, m in enumerate(ms):
            x = g.number + 0.5 * ((k + 0.5) / len(ms) - 0.5)  # spread within the generation
            value = m.value if m.value is not None else 0.0
            low = floor is not None and value < floor
            y = floor if floor is not None and low else value
            clipped += low
            ax.scatter([x], [y], s=30 if low else 26, zorder=3, linewidths=1.1,
                       marker="v" if low else "o", edgecolors="#888888",
                       color="#bbbbbb" if m.contract_ok else "white")  # fmt: skip
            if m.key in promoted:
                ax.scatter([x], [y], marker="*", s=190, color=SELECTED_COLOUR, zorder=5,
                           edgecolors="white", linewidths=0.6)  # fmt: skip
    best = [(g.number, g.best) for g in search.generations if g.best is not None]
    median = [(g.number, g.median) for g in search.generations if g.median is not None]
    if best:
        ax.plot(*zip(*best, strict=True), "-o", color=BEST_COLOUR, lw=1.8, ms=4, zorder=4)
    if median:
        ax.plot(*zip(*median, strict=True), "--", color=BEST_COLOUR, lw=1.2, zorder=4)
    bars = [(g, search.bar_after(g)) for g in gens]
    shown = [(g, b) for g, b in bars if b is not None]
    if shown:
        xs = [g - 0.4 for g, _ in shown] + [shown[-1][0] + 0.4]
        ys = [b for _, b in shown] + [shown[-1][1]]
        ax.step(xs, ys, where="post", color=SELECTED_COLOUR, ls=":", lw=1.6, zorder=2)
    if len(gens) <= 30:
        ax.set_xticks(gens)
    else:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(nbins=12, integer=True))
    ax.set_xlim(min(gens, default=0) - 0.6, max(gens, default=0) + 0.6)
    if floor is not None:
        ax.set_ylim(bottom=floor - 0.03 * (ax.get_ylim()[1] - floor))
    rounds = bool(search.round_ends)
    ax.set_xlabel("generation" if rounds else "generation (one per discovery round)")
    ax.set_ylabel("fitness (breeding fold)" if rounds else "search fitness (search split)")
    handles = [
        Line2D([], [], ls="", marker="o", color="#888888", markerfacecolor="#bbbbbb",
               label="a genome"),
        Line2D([], [], ls="", marker="o", color="#888888", markerfacecolor="white",
               label="broke the β contract"),
        Line2D([], [], color=BEST_COLOUR, marker="o", ms=4, lw=1.8, label="best of the generation"),
        Line2D([], [], color=BEST_COLOUR, ls="--", lw=1.2, label="median of the generation"),
        Line2D([], [], color=SELECTED_COLOUR, ls=":", lw=1.6,
               label=f"promotion bar ({'validation: ' if rounds else ''}best promoted before "
               f"+ {search.margin:g})"),
        Line2D([], [], ls="", marker="*", ms=12, color=SELECTED_COLOUR, label="promoted"),
    ]  # fmt: skip
    if clipped:
        low_label = f"{clipped} lower, off the axis"
        handles.append(Line2D([], [], ls="", marker="v", color="#888888",
                              markerfacecolor="#bbbbbb", label=low_label))  # fmt: skip
    legend = fig.legend(
        handles=handles, loc="outside upper center", ncol=3, fontsize=9,
        title=f"Evolve search — {len(search.members)} genome(s) over {len(gens)} generation(s)",
        title_fontsize=12,
    )  # fmt: skip
    legend.get_title().set_fontweight("bold")
    return save(fig, stem)


@dataclass(frozen=True)
class _Named:
    label: str
    spec: str


def heldout_colours(data: HeldoutData) -> dict[str, str]:
    """Baselines in their own colours, the selection in a file controller's."""
    named = [_Named(data.name(c), "candidate" if c == SELECTED else c) for c in data.sweeps]
    return controller_colours(named)


def _curve(ax: Any, rows: Sequence[dict[str, Any]], colour: str, emphasis: bool) -> list[float]:
    xs = [r["avg_total_tokens"] for r in rows]
    ys = [r["accuracy"] for r in rows]
    cis = [r.get("accuracy_ci95") or [y, y] for r, y in zip(rows, ys, strict=True)]
    below = [y - ci[0] for y, ci in zip(ys, cis, strict=True)]
    above = [ci[1] - y for y, ci in zip(ys, cis, strict=True)]
    z = 6 if emphasis else 3
    ax.errorbar(xs, ys, yerr=[below, above], fmt="none", ecolor=colour, elinewidth=1.0,
                alpha=0.35 if emphasis else 0.25, capsize=0, zorder=z - 1)  # fmt: skip
    ax.plot(xs, ys, "-", color=colour, lw=2.6 if emphasis else 1.6, zorder=z)
    n = len(xs)
    sizes = [45.0] if n == 1 else [14 + 46 * i / (n - 1) for i in range(n)]
    ax.scatter(xs, ys, s=sizes, color=colour, zorder=z + 1, edgecolors="white", linewidths=0.6)
    return xs


def _legend_label(data: HeldoutData, controller: str) -> str:
    rows = next(iter(data.sweeps[controller].values()), [])
    name = data.name(controller)
    if controller == SELECTED:
        name += ", selected"
    if len(rows) < 2:
        return name
    first, last = rows[0]["point"], rows[-1]["point"]
    key = first.split("=")[0]
    key = "β" if key == "b" else key
    return f"{name} ({key} {first.split('=', 1)[-1]}…{last.split('=', 1)[-1]})"


def heldout_figure(data: HeldoutData, stem: Path) -> list[Path]:
    """Write ``<stem>.png`` and ``.svg``: one panel per held-out environment, the selection
    and every baseline as curves over their sweeps."""
    from matplotlib.lines import Line2D

    plt = pyplot()
    n = len(data.envs)
    ncols = n if n <= 3 else math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.8 * ncols + 0.4, 3.4 * nrows + 1.1), squeeze=False,
        layout="constrained",
    )  # fmt: skip
    colours = heldout_colours(data)
    # baselines first, the selection last (on top)
    order = [c for c in data.sweeps if c != SELECTED] + [c for c in data.sweeps if c == SELECTED]
    for i, env in enumerate(data.envs):
        ax = axes[i // ncols][i % ncols]
        xs: list[float] = []
        for c in order:
            rows = data.sweeps[c].get(env)
            if rows:
                xs += _curve(ax, rows, colours[data.name(c)], c == SELECTED)
        _log_x(ax, xs)
        ax.set_title(f"{env} (held-out)")
        ax.set_ylabel("accuracy (%)")
        if i + ncols >= n:
            ax.set_xlabel("average tokens per question (log scale)")
    for j in range(n, nrows * ncols):
        axes[j // ncols][j % ncols].set_visible(False)
    handles = [
        Line2D([], [], color=colours[data.name(c)], marker="o", lw=2.6 if c == SELECTED else 1.6,
               label=_legend_label(data, c))
        for c in (order[-1:] + order[:-1] if SELECTED in data.sweeps else order)
    ]  # fmt: skip
    title = "Held-out comparison"
    if data.selected:
        title += f": {data.selected} vs the baselines"
    legend = fig.legend(
        handles=handles, loc="outside upper center", ncol=min(len(handles), 3), fontsize=9.5,
        title=f"{title}\n{data.replicates} replicates · bars: 95% CI over questions · "
        "markers grow along each sweep",
        title_fontsize=12,
    )  # fmt: skip
    legend.get_title().set_fontweight("bold")
    legend.get_title().set_multialignment("center")
    return save(fig, stem)
