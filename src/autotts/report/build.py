"""Building a report folder: the evaluation sections (frontiers, tables, episode map, setup),
and :func:`build_report`, which writes them and any further sections into ``index.html``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..data import Environment, apply_matching, content_hash
from ..evaluate import run_episode
from . import comparisons
from .episode_map import EpisodeGrid, episode_figure, episode_grid
from .frontier import frontier_figure
from .html import Section, esc, figure, links, table_html, write_index
from .provenance import Provenance
from .results import ReportData
from .style import controller_colours, save
from .tables import paper_table, results_csv, split_datasets, to_csv, to_latex, to_markdown

MAX_MAP_PANELS = 3


@dataclass(frozen=True)
class MapChoice:
    """Which episode the report's map shows (None: chosen by :func:`representative_question`)."""

    env: int = 0
    question: int | None = None
    replicate: int = 0
    controllers: tuple[str, ...] = ()  # labels; default: the first MAX_MAP_PANELS


def representative_question(env: Environment) -> int:
    """The question whose chains are right closest to half the time: where a controller's
    choices matter most (easy questions are solved by anything, hard ones by nothing)."""
    rates = [q.finals.count(q.gold) / q.n_chains for q in env.questions]
    return min(range(len(rates)), key=lambda i: (abs(rates[i] - 0.5), i))


def map_grids(data: ReportData, choice: MapChoice) -> list[tuple[str, EpisodeGrid]]:
    """The chosen episode under each chosen controller (at its map value), with the
    controller's label."""
    matched = apply_matching(data.envs[choice.env], data.match)
    question = representative_question(matched) if choice.question is None else choice.question
    labels = choice.controllers or tuple(c.label for c in data.controllers[:MAX_MAP_PANELS])
    grids = []
    for label in labels:
        rc = data.controller(label)
        value = rc.map_value()
        episode = run_episode(matched, rc.point(value), question, choice.replicate, data.settings)
        n_chains = matched.questions[question].n_chains
        order = data.protocol.orders(question, n_chains)[choice.replicate]
        grid = episode_grid(matched, episode, order, rc.point_label(value))
        grids.append((label, grid))
    return grids


def map_heading(env: Environment, grids: Sequence[EpisodeGrid]) -> str:
    g = grids[0]
    q = env.questions[g.question]
    rate = q.finals.count(q.gold) / q.n_chains
    return (
        f"{env.name}, question {g.question} (gold answer {g.gold}; {rate:.0%} of its "
        f"{q.n_chains} chains end right), replicate {g.replicate}"
    )


def _frontier_sections(
    data: ReportData, out: Path, colours: dict[str, str], splits: dict[str, str]
) -> list[Section]:
    sections = []
    texts = {
        "tokens": (
            "Accuracy vs tokens",
            "Average tokens generated per question (log scale) against accuracy. Each curve is "
            "one controller over its sweep, its markers growing along it (k = 1 … 64, "
            "β = 0 … 1); the bars are 95 % bootstrap intervals over questions; the dashed line "
            "is the majority vote over every chain of each question.",
        ),
        "sequential": (
            "Accuracy vs sequential tokens",
            "The same points against the longest chain's tokens per question: a latency proxy "
            "when chains run in parallel.",
        ),
    }
    for metric, (title, caption) in texts.items():
        stem = f"frontier_{metric}"
        paths = save(frontier_figure(data, metric, colours, splits), out / stem)
        sections.append(
            Section(f"frontier-{metric}", title, figure(stem, title, esc(caption)),
                    tuple(p.name for p in paths))
        )  # fmt: skip
    return sections


def _table_section(data: ReportData, out: Path, search: Sequence[str] | None) -> Section:
    table = paper_table(data, search)
    (out / "table.md").write_text(to_markdown(table), encoding="utf-8")
    (out / "table.csv").write_text(to_csv(table), encoding="utf-8")
    (out / "table.tex").write_text(to_latex(table), encoding="utf-8")
    files = ("table.md", "table.csv", "table.tex")
    body = table_html(table) + f'<p class="note">Also as {links(files)}.</p>'
    return Section("tables", "Tables", body, files)


def _comparison_section(data: ReportData, out: Path) -> Section | None:
    """Every controller against the first, at matched tokens and at matched accuracy."""
    found = comparisons.compare_all(data)
    if found is None:
        return None
    (out / "comparisons.md").write_text(comparisons.to_markdown(found), encoding="utf-8")
    (out / "comparisons.csv").write_text(comparisons.to_csv(found), encoding="utf-8")
    files = ("comparisons.md", "comparisons.csv")
    body = comparisons.to_html(found) + f'<p class="note">Also as {links(files)}.</p>'
    return Section("comparisons", f"Against {found.reference}", body, files)


def _map_section(
    data: ReportData, out: Path, colours: dict[str, str], choice: MapChoice, made: dict[str, Any]
) -> Section:
    labelled = map_grids(data, choice)
    grids = [g for _, g in labelled]
    env = apply_matching(data.envs[choice.env], data.match)
    heading = map_heading(env, grids)
    stem = "episode_map"
    by_point = {g.label: colours[label] for label, g in labelled}
    paths = save(episode_figure(grids, by_point, heading), out / stem)
    (out / "episode_map.json").write_text(
        json.dumps(
            {"autotts": made, "env": env.path or env.name, "maps": [g.to_json() for g in grids]},
            indent=1,
        )
    )
    rows = "".join(
        f"<tr><td>{esc(g.label)}</td><td>{esc(g.answer)}</td>"
        f"<td>{'right' if g.correct else 'wrong'}</td><td class='num'>{g.width}</td>"
        f"<td class='num'>{sum(r.probes for r in g.rows)}</td>"
        f"<td class='num'>{g.tokens:,}</td><td class='num'>{g.sequential_tokens:,}</td></tr>"
        for g in grids
    )
    body = (
        f"<p>{esc(heading)}. Rows are chains in the order the controller opened them, columns "
        "the intervals of each chain; a cell shows the answer the controller saw there (green "
        "right, red wrong, yellow ERR) or grey when it generated the interval without looking. "
        "The number after each chain is the tokens it cost; the episode's totals are under its "
        "map. Other episodes: "
        "<code>autotts episode</code>.</p>"
        + figure(stem, "episode map")
        + "<table><thead><tr><th>controller</th><th>answer</th><th></th><th>chains</th>"
        f"<th>probes</th><th>tokens</th><th>longest chain</th></tr></thead><tbody>{rows}</tbody>"
        f"</table><p class='note'>Cell counts per chain: {links(['episode_map.json'])}.</p>"
    )
    return Section(
        "episode-map", "Episode map", body, (*(p.name for p in paths), "episode_map.json")
    )


def _setup_section(
    data: ReportData, out: Path, splits: dict[str, str], made: dict[str, Any]
) -> Section:
    records = []
    for p in data.points:
        rc = data.controller(p.controller)
        records.append(
            {"label": p.controller, "point": rc.point_label(p.value), "sweep": rc.sweep,
             "value": p.value, **p.result.to_json(wall_clock=False)}
        )  # fmt: skip
    results = {"autotts": made, "results": records}
    (out / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    (out / "results.csv").write_text(results_csv(data), encoding="utf-8")
    proto = data.protocol
    budget = "none" if data.settings.budget is None else f"{data.settings.budget:g} tokens"
    env_rows = "".join(
        f"<tr><td>{esc(e.meta.model)}</td><td>{esc(e.meta.dataset)}</td>"
        f"<td>{esc(splits.get(e.meta.dataset, ''))}</td><td class='num'>{len(e)}</td>"
        f"<td class='num'>{data.ceilings[i]:.2f}</td><td><code>"
        f"{esc((e.meta.content_hash or content_hash(e))[:19])}</code></td>"
        f"<td>{esc(e.path or '')}</td></tr>"
        for i, e in enumerate(data.envs)
    )
    ctrl_rows = "".join(
        f"<tr><td>{esc(c.label)}</td><td><code>{esc(c.spec)}</code></td>"
        f"<td>{esc(' '.join(f'{k}={v}' for k, v in c.params.items()) or '–')}</td>"
        f"<td>{esc(c.sweep or '–')}</td>"
        f"<td>{esc(', '.join(_show(v) for v in c.values) or '–')}</td></tr>"
        for c in data.controllers
    )
    body = (
        f"<dl class='meta'><dt>protocol</dt><dd>{esc(proto.name)}, {proto.replicates} "
        f"replicates, seed {proto.seed}</dd><dt>answer matching</dt><dd>{esc(data.match)}</dd>"
        f"<dt>probe cost</dt><dd>{data.settings.kappa_probe:g} tokens</dd><dt>budget</dt><dd>"
        f"{budget}</dd></dl>"
        "<h3>Environments</h3><table><thead><tr><th>model</th><th>dataset</th><th>split</th>"
        "<th>questions</th><th>majority over all chains %</th><th>content hash</th><th>file</th>"
        f"</tr></thead><tbody>{env_rows}</tbody></table>"
        "<h3>Controllers</h3><table><thead><tr><th>label</th><th>spec</th><th>parameters</th>"
        f"<th>sweep</th><th>values</th></tr></thead><tbody>{ctrl_rows}</tbody></table>"
        f"<p class='note'>Every point: {links(['results.csv', 'results.json'])} "
        "(results.json holds each result's full spec).</p>"
    )
    return Section("setup", "Setup and data", body, ("results.csv", "results.json"))


def _show(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def evaluation_sections(
    data: ReportData,
    out_dir: Path,
    *,
    search: Sequence[str] | None = None,
    episode: MapChoice | None = None,
    with_map: bool = True,
    provenance: Provenance | None = None,
) -> list[Section]:
    """Write the evaluation figures and tables into ``out_dir``; return their sections: the
    frontiers, the table, every controller against the first (matched-token advantage and
    matched-accuracy token ratio, with paired intervals; none with one controller), the episode
    map (``episode``, default: a representative question of the first environment; none when
    ``with_map`` is false) and the setup. The JSON files
    record ``provenance`` (default: this process, now)."""
    made = (provenance or Provenance.now()).to_json()
    search_sets, held_out = split_datasets(data, search)
    splits = {d: "search" for d in search_sets} | {d: "held-out" for d in held_out}
    colours = controller_colours(data.controllers)
    sections = _frontier_sections(data, out_dir, colours, splits)
    sections.append(_table_section(data, out_dir, search))
    compared = _comparison_section(data, out_dir)
    if compared is not None:
        sections.append(compared)
    if with_map:
        sections.append(_map_section(data, out_dir, colours, episode or MapChoice(), made))
    sections.append(_setup_section(data, out_dir, splits, made))
    return sections


def build_report(
    out_dir: str | Path,
    sections: Sequence[Section],
    title: str = "autotts report",
    intro: str = "",
    provenance: Provenance | None = None,
) -> Path:
    """Write ``index.html`` for ``sections`` (already written into ``out_dir``), saying what
    made it (``provenance``, default: this process, now)."""
    made = (provenance or Provenance.now()).html()
    return write_index(Path(out_dir), title, sections, made + intro)


def report_files(sections: Sequence[Section]) -> list[str]:
    return ["index.html", *(f for s in sections for f in s.files)]


def describe(data: ReportData) -> str:
    """The report's one-paragraph introduction."""
    names = ", ".join(esc(c.label) for c in data.controllers)
    return (
        f"<p>{names} on {len(data.envs)} environment(s), {data.protocol.name} protocol, "
        f"{data.protocol.replicates} replicates per question.</p>"
    )
