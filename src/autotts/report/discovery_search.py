"""The discovery report's section on the evolve search (:func:`autotts.discover.
load_evolve_search`): its figure, fitness by generation, the promotions and why, and the
archive; their numbers also as CSV files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..discover import EvolveSearch


# ---------------------------------------------------------------------- the report section
def _f(v: float | None) -> str:
    return "–" if v is None else f"{v:+.2f}"


def _csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    path.write_text(buf.getvalue(), encoding="utf-8")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int]) -> str:
    """Cells are trusted HTML (escape data before)."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='num'>{c}</td>" if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _candidate(candidate: str | None, score: float | None) -> str:
    from .html import esc

    if candidate is None:
        return "–"
    return f"<code>{esc(candidate)}</code> (score {_f(score)})"


def search_section(search: EvolveSearch, out: Path) -> Any:
    """The report section of the search: its figure, a table per generation, the promotions
    and the archive; their numbers also as CSV files."""
    from .discovery_plots import search_figure
    from .html import Section, esc, figure, links

    val = search.has_validation
    gen_rows = [
        [g.number, g.evaluated, g.failed, g.broken, g.best, g.median, g.best_key,
         g.best_validation, " ".join(g.promoted)]
        for g in search.generations
    ]  # fmt: skip
    _csv(out / "search_generations.csv", ["generation", "evaluated", "failed", "broke_contract",
         "best", "median", "best_genome", "best_validation", "promoted"], gen_rows)  # fmt: skip
    _csv(out / "search_promotions.csv", ["generation", "genome", "origin", "fitness",
         "best_before", "bar", "clears_bar", "validation", "candidate", "candidate_score"],
         [[p.generation, p.key, p.origin, p.value, p.previous, p.bar, p.clears, p.validation,
           p.candidate, p.score] for p in search.promotions])  # fmt: skip
    _csv(out / "search_archive.csv", ["width_bin", "depth_bin", "genome", "generation",
         "origin", "mechanisms", "fitness", "validation"],
         [[*(m.cell or ("", "")), m.key, m.generation, m.origin,
           " ".join(f"{k}={v}" for k, v in m.mechanisms), m.value, m.validation]
          for m in search.archive])  # fmt: skip
    files = ["search_generations.csv", "search_promotions.csv", "search_archive.csv"]
    paths = search_figure(search, out / "search_fitness")
    failed = sum(g.failed for g in search.generations)
    broken = sum(g.broken for g in search.generations)
    body = (
        f"<p>The evolve proposer bred {len(search.members)} genome(s) over "
        f"{len(search.generations)} generation(s) ({failed} refused or failed in the sandbox, "
        f"{broken} broke the β contract). <b>Fitness</b> is scored exactly at the run's full "
        "protocol by the search's interpreter, on the <i>breeding</i> fold of the search "
        "questions (two thirds); breeding ranks by it. <b>Validation</b> is the same on the other "
        "third, which breeding never sees; at the end of each round the best validation among "
        "the top genomes by fitness is promoted if it is a new record. Neither is a held-out "
        "result: a promoted genome becomes a candidate whose code is measured in the sandbox "
        "(its score against the baselines' frontier is in the candidate table).</p>"
    )
    caption = (
        "Every evaluated genome's breeding-fold fitness by generation; the best and median of "
        "each generation; the bar a genome had to reach to be promoted (the best validation "
        f"fitness promoted before + {search.margin:g}); ★ promoted."
    )
    body += figure("search_fitness", "search fitness by generation", esc(caption))
    header = ["generation", "evaluated", "failed", "broke contract", "best", "median",
              "best genome", *(["its validation"] if val else []), "promoted"]  # fmt: skip
    rows = [
        [str(g.number), str(g.evaluated), str(g.failed), str(g.broken), _f(g.best),
         _f(g.median), f"<code>{esc(g.best_key or '–')}</code>",
         *([_f(g.best_validation)] if val else []), str(len(g.promoted))]
        for g in search.generations
    ]  # fmt: skip
    body += "<h3>Fitness by generation</h3>" + _table(header, rows, {0, 1, 2, 3, 4, 5})
    body += "<h3>Promoted to the full sweep, and why</h3>" + _promotions_html(search, val)
    body += (
        "<h3>The archive</h3><p class='note'>The best genome of each cell (chains' worth of "
        "tokens × sequential depth in intervals, at β = 1, in powers of two) among those that "
        "kept the β contract; mechanisms are listed where they differ from the simplest "
        "option.</p>" + _archive_html(search, val)
    )
    body += f"<p class='note'>Also as {links(files)}.</p>"
    return Section("search", "The search", body, (*(p.name for p in paths), *files))


def _promotions_html(search: EvolveSearch, val: bool) -> str:
    from .html import esc

    rows = []
    for g in search.generations:
        mine = [p for p in search.promotions if p.generation == g.number]
        for p in mine:
            if p.bar is None:
                why = "the first promotion (no bar yet): the best validation of the shortlist"
            elif p.clears:
                why = f"beat the bar {p.bar:+.2f} (best promoted before {_f(p.previous)})"
            else:
                why = f"does not reach the bar {p.bar:+.2f}"
            key = f"<code>{esc(p.key)}</code>"
            rows.append([str(g.number), key, esc(p.origin), _f(p.value), esc(why),
                         *([_f(p.validation)] if val else []),
                         _candidate(p.candidate, p.score)])  # fmt: skip
        if not mine and search.round_ends and not search.closes_round(g.number):
            continue  # promotion is decided when a round closes
        if not mine:
            bar = search.bar_after(g.number)
            why = "nothing promoted" + (
                f": no genome of the shortlist reaches the bar {bar:+.2f}"
                if bar is not None
                else ""
            )
            rows.append([str(g.number), "–", "–", "–", esc(why), *(["–"] if val else []), "–"])
    header = ["generation", "genome", "origin", "fitness", "why",
              *(["validation"] if val else []), "candidate (full-sweep score)"]  # fmt: skip
    return _table(header, rows, {0, 3})


def _archive_html(search: EvolveSearch, val: bool) -> str:
    from .html import esc

    promoted = {p.key: p for p in search.promotions}
    rows = []
    for m in search.archive:
        mech = ", ".join(f"{k}={v}" for k, v in m.mechanisms) or "all the simplest options"
        p = promoted.get(m.key)
        rows.append(
            [m.cell_text, f"<code>{esc(m.key)}</code>", str(m.generation),
             esc(m.origin), esc(mech), _f(m.value), *([_f(m.validation)] if val else []),
             _candidate(p.candidate, p.score) if p else "–"]
        )  # fmt: skip
    header = ["cell (chains × depth)", "genome", "generation", "origin", "mechanisms", "fitness",
              *(["validation"] if val else []), "candidate"]  # fmt: skip
    return _table(header, rows, {2, 5})
