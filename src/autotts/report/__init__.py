"""Reports: frontier plots, paper-style tables, episode maps, one HTML page per folder.

A report is a list of :class:`Section` objects written into a folder and assembled by
:func:`build_report` into ``index.html``. :func:`evaluation_sections` gives the sections of an
evaluation (controllers × environments), :func:`discovery_sections` those of a discovery run
directory (progress per round, candidates, held-out comparison).
matplotlib is imported only when a figure is drawn.
"""

from .build import (
    MapChoice,
    build_report,
    describe,
    evaluation_sections,
    map_grids,
    map_heading,
    report_files,
    representative_question,
)
from .discovery import describe_run, discovery_sections
from .episode_map import ChainRow, EpisodeGrid, episode_figure, episode_grid
from .html import Section, esc, figure, write_index
from .provenance import Provenance
from .results import Point, ReportData, check_envs, episodes_needed, evaluate_report
from .run_report import write_run_report
from .specs import (
    DEFAULT_BETAS,
    DEFAULT_SWEEPS,
    ReportController,
    parse_controller,
    parse_controllers,
)
from .style import controller_colours, save_one
from .tables import PaperTable, paper_table, to_csv, to_latex, to_markdown

__all__ = [
    "DEFAULT_BETAS",
    "DEFAULT_SWEEPS",
    "ChainRow",
    "EpisodeGrid",
    "MapChoice",
    "PaperTable",
    "Point",
    "Provenance",
    "ReportController",
    "ReportData",
    "Section",
    "build_report",
    "check_envs",
    "controller_colours",
    "describe",
    "describe_run",
    "discovery_sections",
    "episode_figure",
    "episode_grid",
    "episodes_needed",
    "esc",
    "evaluate_report",
    "evaluation_sections",
    "figure",
    "map_grids",
    "map_heading",
    "paper_table",
    "parse_controller",
    "parse_controllers",
    "report_files",
    "representative_question",
    "save_one",
    "to_csv",
    "to_latex",
    "to_markdown",
    "write_index",
    "write_run_report",
]
