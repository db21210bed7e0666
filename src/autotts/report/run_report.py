"""The report of a discovery run directory, written in one call (``autotts report --run`` and
the end of ``autotts discover``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .build import build_report, report_files
from .discovery import describe_run, discovery_sections
from .provenance import Provenance

if TYPE_CHECKING:
    from ..discover import RunView


def write_run_report(
    view: RunView,
    run_dir: Path,
    out: Path,
    title: str | None = None,
    provenance: Provenance | None = None,
) -> tuple[Path, list[str]]:
    """Write the report of the run ``view`` (read from ``run_dir`` by
    :func:`autotts.discover.load_run`; nothing is evaluated) into ``out``; returns the path of
    ``index.html`` and the files written. The page records ``provenance`` (default: now)."""
    sections = discovery_sections(view, out, run_dir)
    name = run_dir.resolve().name
    title = title or f"autotts discovery run {name}"
    index = build_report(out, sections, title, describe_run(view, run_dir), provenance)
    return index, report_files(sections)
