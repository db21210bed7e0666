"""Colours and matplotlib set-up shared by every figure.

matplotlib is imported only inside :func:`pyplot` (the CLI's start-up time is benchmarked), with
the Agg backend: figures are written to files, never shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Okabe-Ito (colour-blind safe); the built-in controllers keep the same colour in every report
BUILTIN_COLOURS = {
    "sc": "#0072B2",  # blue
    "asc": "#56B4E9",  # sky blue
    "esc": "#009E73",  # bluish green
    "parallel_probe": "#E69F00",  # orange
    "cmc": "#D55E00",  # vermillion
}
EXTRA_COLOURS = ("#CC79A7", "#000000", "#8C564B", "#7F7F7F", "#17BECF", "#BCBD22", "#9467BD")
CEILING_COLOUR = "#555555"

# episode-map cells
RIGHT, WRONG, ERR_CELL, UNREVEALED = "right", "wrong", "err", "unrevealed"
CELL_COLOURS = {
    RIGHT: "#009E73",
    WRONG: "#D55E00",
    ERR_CELL: "#F0E442",
    UNREVEALED: "#C8CCD2",
}


def controller_colours(controllers: Sequence[Any]) -> dict[str, str]:
    """A colour per controller label: a built-in's own colour for the first controller with that
    spec, the next unused extra colour for everything else (variants, file controllers)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    extras = iter(EXTRA_COLOURS)
    for rc in controllers:
        colour = BUILTIN_COLOURS.get(rc.spec)
        if colour is None or colour in used:
            colour = next((c for c in extras if c not in used), None) or _cycled(len(out))
        out[rc.label] = colour
        used.add(colour)
    return out


def _cycled(n: int) -> str:
    palette = (*BUILTIN_COLOURS.values(), *EXTRA_COLOURS)
    return palette[n % len(palette)]


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, with the house style."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.size": 10,
            "axes.titlesize": 11,
            "axes.labelsize": 10,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "grid.linewidth": 0.6,
            "legend.frameon": False,
            "savefig.dpi": 130,
            "svg.fonttype": "none",  # text stays text in SVGs (smaller, searchable)
            "svg.hashsalt": "autotts",  # deterministic ids: the same report gives the same SVG
        }
    )
    return plt


def save(fig: Any, path_stem: Path) -> list[Path]:
    """Write ``<stem>.png`` and ``<stem>.svg``; closes the figure."""
    plt = pyplot()
    paths = [path_stem.with_suffix(".png"), path_stem.with_suffix(".svg")]
    try:
        for p in paths:
            fig.savefig(p, bbox_inches="tight", metadata=_metadata(p))
    finally:
        plt.close(fig)
    return paths


def save_one(fig: Any, path: str | Path) -> Path:
    """Write one image in the format its suffix names (.png, .svg, .pdf); closes the figure."""
    plt = pyplot()
    path = Path(path)
    try:
        fig.savefig(path, bbox_inches="tight", metadata=_metadata(path))
    finally:
        plt.close(fig)
    return path


def _metadata(path: Path) -> dict[str, Any]:
    # no creation dates: rebuilding a report gives identical files
    suffix = path.suffix.lower()
    if suffix == ".svg":
        return {"Date": None}
    if suffix == ".pdf":
        return {"CreationDate": None}
    return {}
