"""Episode maps: what a controller did on one question under one replicate, as a picture.

Chains are rows (in the order the controller opened them), intervals are columns: column ``m``
of a chain is its ``m``-th generated segment (BRANCH is the first; each CONTINUE adds one; the
segment after the last probe point is the chain's tail up to its end). A cell is coloured by
the answer revealed there (right / wrong / ERR), or grey when the controller generated it
without looking. Chains read whole (READ) fill every segment and reveal only the final one.
Markers: × pruned, ● finished (its end reached), ▶ still running when the controller stopped.

The grid is rebuilt from the session's action log and the environment's chains alone.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..data import ERR, Environment
from ..evaluate import Episode
from .style import CELL_COLOURS, ERR_CELL, RIGHT, UNREVEALED, WRONG, pyplot

FINISHED, PRUNED, STOPPED = "finished", "pruned", "stopped"
STOP_COLOUR = "#0072B2"
MAX_PER_ROW = 3


@dataclass(frozen=True)
class ChainRow:
    index: int  # opening order
    source: int  # the chain's index in the environment's released order
    cells: tuple[str, ...]  # per generated segment: right | wrong | err | unrevealed
    answers: tuple[str | None, ...]  # the answer revealed at each segment (None: not looked at)
    end: str  # finished | pruned | stopped
    tokens: int  # tokens charged to the chain
    probes: int  # PROBE actions on it
    read_whole: bool


@dataclass(frozen=True)
class EpisodeGrid:
    label: str  # the controller as the report names it
    question: int
    replicate: int
    gold: str
    answer: str | None
    correct: bool
    error: str | None
    truncated: bool
    rows: tuple[ChainRow, ...]
    tokens: int
    cost: float
    sequential_tokens: int
    interval: int  # tokens per interval (the width of a column)

    def counts(self) -> dict[str, int]:
        """Cells by kind, over all chains."""
        out = {RIGHT: 0, WRONG: 0, ERR_CELL: 0, UNREVEALED: 0}
        for row in self.rows:
            for cell in row.cells:
                out[cell] += 1
        return out

    @property
    def width(self) -> int:
        return len(self.rows)

    @property
    def depth(self) -> int:
        return max((len(r.cells) for r in self.rows), default=0)

    def to_json(self) -> dict[str, Any]:
        counts = self.counts()
        return {
            "controller": self.label,
            "question": self.question,
            "replicate": self.replicate,
            "gold": self.gold,
            "answer": self.answer,
            "correct": self.correct,
            "error": self.error,
            "truncated": self.truncated,
            "chains": self.width,
            "depth": self.depth,
            "cells": {**counts, "revealed": counts[RIGHT] + counts[WRONG] + counts[ERR_CELL]},
            "ends": {e: sum(r.end == e for r in self.rows) for e in (FINISHED, PRUNED, STOPPED)},
            "probes": sum(r.probes for r in self.rows),
            "tokens": self.tokens,
            "cost": self.cost,
            "sequential_tokens": self.sequential_tokens,
            "per_chain": [
                {"chain": r.index, "source": r.source, "segments": len(r.cells),
                 "revealed": sum(c != UNREVEALED for c in r.cells), "probes": r.probes,
                 "tokens": r.tokens, "end": r.end}
                for r in self.rows
            ],
        }  # fmt: skip


def episode_grid(
    env: Environment, episode: Episode, order: Sequence[int], label: str
) -> EpisodeGrid:
    """The grid of ``episode``, played on ``env`` (answers matched as the episode saw them)
    with the chains in ``order`` (``protocol.orders(question, n_chains)[replicate]``)."""
    q = env.questions[episode.question]
    gold = q.gold

    def kind(answer: str) -> str:
        return ERR_CELL if answer == ERR else RIGHT if answer == gold else WRONG

    cells: list[list[str]] = []
    answers: list[list[str | None]] = []
    pos: list[int] = []  # probe points passed
    done: list[bool] = []
    pruned: list[bool] = []
    tokens: list[int] = []
    probes: list[int] = []
    reads: list[bool] = []
    for action in episode.session.trace():
        i = action.chain
        if action.kind in ("BRANCH", "READ"):
            p = q.probes[order[i]]
            whole = action.kind == "READ"
            n = len(p) + 1 if whole and p else 1
            cells.append([UNREVEALED] * n)
            answers.append([None] * n)
            pos.append(len(p) if whole else min(1, len(p)))
            done.append(whole or not p)
            pruned.append(False)
            tokens.append(action.tokens)
            probes.append(0)
            reads.append(whole)
            if whole:
                final = q.finals[order[i]]
                cells[i][-1], answers[i][-1] = kind(final), final
        elif action.kind == "CONTINUE":
            p = q.probes[order[i]]
            if pos[i] < len(p):
                pos[i] += 1
            else:
                done[i] = True
            cells[i].append(UNREVEALED)
            answers[i].append(None)
            tokens[i] += action.tokens
        elif action.kind == "PROBE":
            answer = q.finals[order[i]] if done[i] else q.probes[order[i]][pos[i] - 1]
            cells[i][-1], answers[i][-1] = kind(answer), answer
            probes[i] += 1
        elif action.kind == "PRUNE":
            pruned[i] = True
    rows = tuple(
        ChainRow(
            index=i,
            source=order[i],
            cells=tuple(cells[i]),
            answers=tuple(answers[i]),
            end=PRUNED if pruned[i] else FINISHED if done[i] else STOPPED,
            tokens=tokens[i],
            probes=probes[i],
            read_whole=reads[i],
        )
        for i in range(len(cells))
    )
    s = episode.session
    return EpisodeGrid(
        label=label,
        question=episode.question,
        replicate=episode.replicate,
        gold=gold,
        answer=episode.answer,
        correct=episode.correct,
        error=episode.error,
        truncated=episode.truncated,
        rows=rows,
        tokens=s.tokens,
        cost=s.cost,
        sequential_tokens=s.sequential_tokens,
        interval=env.interval,
    )


def _k(tokens: float) -> str:
    return f"{tokens / 1000:.1f}k" if tokens >= 1000 else f"{tokens:.0f}"


def _verdict(g: EpisodeGrid) -> str:
    answer = g.answer if g.answer not in (None, "") else "none"
    if g.error:
        return f"error ({g.error[:40]})"
    return f"answer {answer} {'✓ right' if g.correct else '✗ wrong'}"


def _totals(g: EpisodeGrid) -> str:
    """The episode's totals, for the margin under its map."""
    ends = {e: sum(r.end == e for r in g.rows) for e in (FINISHED, PRUNED, STOPPED)}
    reads = sum(r.read_whole for r in g.rows)
    probes = sum(r.probes for r in g.rows)
    looks = f"{reads} read whole" if reads == g.width else f"{probes} probes"
    if 0 < reads < g.width:
        looks += f", {reads} read whole"
    return (
        f"{g.width} chains: {ends[FINISHED]} finished, {ends[PRUNED]} pruned, "
        f"{ends[STOPPED]} running at the stop\n"
        f"{looks} · {_k(g.tokens)} tokens · longest chain {_k(g.sequential_tokens)}"
    )


def _draw(ax: Any, g: EpisodeGrid, n_rows: int, n_cols: int, font: float, colour: str) -> None:
    from matplotlib.colors import to_rgb
    from matplotlib.transforms import offset_copy

    image = [[(1.0, 1.0, 1.0)] * n_cols for _ in range(n_rows)]
    for r, row in enumerate(g.rows):
        for c, cell in enumerate(row.cells):
            image[r][c] = to_rgb(CELL_COLOURS[cell])
    ax.imshow(image, aspect="auto", interpolation="nearest", extent=(0, n_cols, n_rows, 0))
    if n_rows <= 96:  # thin gaps keep neighbouring chains apart
        ax.hlines(range(1, g.width), 0, n_cols, color="white", lw=0.5)
    # markers and numbers sit a few points after each chain's end, whatever the scale
    marker_at = offset_copy(ax.transData, fig=ax.figure, x=5, units="points")
    text_at = offset_copy(ax.transData, fig=ax.figure, x=10, units="points")
    for r, row in enumerate(g.rows):
        x, y = len(row.cells), r + 0.5
        if row.end == PRUNED:
            ax.plot(x, y, marker="x", color="black", ms=4.5, mew=1.3, ls="", transform=marker_at)
        elif row.end == FINISHED:
            ax.plot(x, y, marker="o", color="black", ms=3.4, ls="", transform=marker_at)
        else:
            ax.plot(x, y, marker=">", color=STOP_COLOUR, ms=4.5, ls="", transform=marker_at)
        if font:  # the chain's tokens, in the margin after its end
            ax.text(
                x, y, _k(row.tokens), va="center", fontsize=font, color="#444444",
                transform=text_at,
            )  # fmt: skip
    ax.set_xlim(0, n_cols * 1.15 + 3)
    ax.set_ylim(n_rows, 0)
    ax.set_xlabel(f"depth: intervals of {g.interval} tokens\n\n{_totals(g)}", linespacing=1.4)
    ax.set_ylabel("width: chains, in opening order")
    ax.grid(False)
    ax.set_title(
        f"{g.label}: {_verdict(g)}", fontsize=10.5, color=colour, loc="left", fontweight="bold"
    )


def episode_figure(
    grids: Sequence[EpisodeGrid], colours: dict[str, str] | None = None, heading: str = ""
) -> Any:
    """The grids side by side (three per row) on the same scales, so width and depth compare at
    a glance."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    plt = pyplot()
    n = len(grids)
    ncols = 2 if n == 4 else min(n, MAX_PER_ROW)
    nrows = -(-n // ncols)
    n_rows = max(1, max(g.width for g in grids))
    n_cols = max(1, max(g.depth for g in grids))
    panel_height = min(12.0, max(2.6, 0.115 * n_rows + 1.3))
    row_points = 72 * panel_height * 0.8 / n_rows  # a chain's row height, in points
    font = min(7.5, row_points * 0.8) if row_points >= 5 else 0.0
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.4 * ncols, panel_height * nrows + 1.4), squeeze=False,
        layout="constrained",
    )  # fmt: skip
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.set_visible(False)
            continue
        g = grids[k]
        _draw(ax, g, n_rows, n_cols, font, (colours or {}).get(g.label, "black"))
    legend = [
        Patch(color=CELL_COLOURS[RIGHT], label="right answer revealed"),
        Patch(color=CELL_COLOURS[WRONG], label="wrong answer revealed"),
        Patch(color=CELL_COLOURS[ERR_CELL], label="ERR (no answer yet)"),
        Patch(color=CELL_COLOURS[UNREVEALED], label="generated, not looked at"),
        Line2D([], [], marker="x", color="black", ls="", mew=1.3, label="pruned"),
        Line2D([], [], marker="o", color="black", ls="", ms=4, label="finished"),
        Line2D([], [], marker=">", color=STOP_COLOUR, ls="", label="running at the stop"),
    ]
    fig.legend(
        handles=legend, loc="outside lower center", ncol=4 if ncols == 1 else 7, fontsize=8.5
    )
    if heading:
        note = "\nthe number after each chain: the tokens it cost" if font else ""
        fig.suptitle(textwrap.fill(heading, 55 * ncols) + note, fontsize=11)
    return fig
