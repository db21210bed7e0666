"""The evolve search of a discovery run, read from ``RUN_DIR/evolve/state.json``: fitness by
generation, the MAP-Elites archive (the best genome per cell) and what each generation
promoted to the loop's full sweep, and why.

The state is read defensively: of a member's ``fit`` only ``value`` (the search fitness) and
``contract_ok`` are relied on; ``validation`` (fitness on a validation fold), ``width`` and
``depth`` (the archive's axes) are shown when present. A promotion is explained by the rule of
:meth:`autotts.discover.evolve.search.Search.step` (a new record by at least ``MARGIN`` over
every genome promoted before); one that does not clear that bar by its search fitness is said
to, not explained away.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..discover import CandidateRow

MAX_BIN = 6  # the archive's last bin on each axis: 2**6 = 64 and more


@dataclass(frozen=True)
class SearchMember:
    """One evaluated genome, as the state records it."""

    key: str
    generation: int
    origin: str  # "seed (like cmc)", "tpe", "mutant of KEY", "child of KEY x KEY", ...
    value: float | None  # search fitness; None when the sandbox refused or failed it
    contract_ok: bool
    validation: float | None
    width: float | None  # chains' worth of tokens at beta 1
    depth: float | None  # sequential depth at beta 1, in intervals
    reason: str
    mechanisms: tuple[tuple[str, str], ...]  # the choices that are not the simplest option
    class_name: str

    @property
    def cell(self) -> tuple[int, int] | None:
        """The archive cell, as :meth:`autotts.discover.evolve.search.Member.cell`."""
        if self.width is None or self.depth is None:
            return None
        return _bin(self.width), _bin(self.depth)


def _bin(x: float) -> int:
    return min(MAX_BIN, max(0, int(math.log2(max(x, 1.0)))))


def bin_text(b: int) -> str:
    """The range a bin stands for: ``8–15``, or ``64+`` for the last."""
    lo = 2**b
    return f"{lo}+" if b >= MAX_BIN else (f"{lo}" if b == 0 else f"{lo}–{2 ** (b + 1) - 1}")


@dataclass(frozen=True)
class Generation:
    number: int
    evaluated: int  # members with a fitness
    failed: int  # refused or failed in the sandbox
    broken: int  # evaluated, but broke the beta contract
    best: float | None
    median: float | None
    best_key: str | None
    best_validation: float | None
    promoted: tuple[str, ...]


@dataclass(frozen=True)
class Promotion:
    generation: int
    key: str
    value: float | None
    previous: float | None  # the best fitness promoted before (None: nothing was)
    bar: float | None  # what it had to reach: previous + margin
    clears: bool  # its search fitness reaches the bar
    validation: float | None
    origin: str
    candidate: str | None  # the loop's candidate id for its code
    score: float | None  # that candidate's full-sweep search score


@dataclass(frozen=True)
class EvolveSearch:
    members: tuple[SearchMember, ...]
    generations: tuple[Generation, ...]
    archive: tuple[SearchMember, ...]  # the elites, best first
    promotions: tuple[Promotion, ...]
    margin: float
    has_validation: bool

    def bar_after(self, generation: int) -> float | None:
        """The bar a genome had to reach to be promoted in ``generation``."""
        done = [
            p.value for p in self.promotions if p.generation < generation and p.value is not None
        ]
        return max(done) + self.margin if done else None


def _margin() -> float:
    from ..discover.evolve.search import MARGIN

    return MARGIN


def _number(d: Mapping[str, Any], key: str) -> float | None:
    v = d.get(key)
    return float(v) if isinstance(v, int | float) and math.isfinite(v) else None


def _genome_facts(genome: Mapping[str, Any]) -> tuple[str, tuple[tuple[str, str], ...], str]:
    """(key, mechanisms that are not the simplest option, class name) of a stored genome."""
    from ..discover.evolve.genome import MECHANISMS, Genome
    from ..discover.evolve.render import class_name

    choices = dict(genome.get("choices") or {})
    plain = tuple(
        (m, str(o))
        for m, o in sorted(choices.items())
        if m not in MECHANISMS or o != MECHANISMS[m][0]
    )
    try:
        g = Genome.from_json(dict(genome))
        return g.key(), plain, class_name(g)
    except (ValueError, TypeError, KeyError):  # a genome this version cannot rebuild
        key = hashlib.sha256(json.dumps(genome, sort_keys=True).encode()).hexdigest()[:12]
        return key, plain, f"Evolved{key[:8].upper()}"


def _seed_names() -> dict[str, str]:
    """Seed genome key → the baseline it is shaped like."""
    from ..discover.evolve.genome import seed_genomes
    from ..discover.selection import SEED_NAMES

    return {g.key(): name for g, name in zip(seed_genomes(), SEED_NAMES, strict=False)}


def _member(d: Mapping[str, Any], seeds: Mapping[str, str]) -> SearchMember:
    fit = d.get("fit") if isinstance(d.get("fit"), dict) else None
    key, plain, cls = _genome_facts(d.get("genome") or {})
    origin = str(d.get("origin") or "")
    if origin == "seed" and key in seeds:
        origin = f"seed (like {seeds[key]})"
    value = _number(fit, "value") if fit else None
    return SearchMember(
        key,
        int(d.get("generation") or 0),
        origin,
        value,
        bool(fit.get("contract_ok", True)) if fit else False,
        _number(fit, "validation") if fit else None,
        _number(fit, "width") if fit else None,
        _number(fit, "depth") if fit else None,
        str(d.get("reason") or ""),
        plain,
        cls,
    )


def _generation(n: int, members: Sequence[SearchMember], promoted: Sequence[str]) -> Generation:
    scored = [m for m in members if m.value is not None]
    values = [m.value for m in scored if m.value is not None]
    best = max(scored, key=_value) if scored else None
    return Generation(
        n,
        len(scored),
        len(members) - len(scored),
        sum(1 for m in scored if not m.contract_ok),
        best.value if best else None,
        statistics.median(values) if values else None,
        best.key if best else None,
        best.validation if best else None,
        tuple(promoted),
    )


def _value(m: SearchMember) -> float:
    return -math.inf if m.value is None else m.value


def _archive(members: Sequence[SearchMember]) -> list[SearchMember]:
    """The best member per cell (ties to the earlier), as ``Search.archive``; best first."""
    cells: dict[tuple[int, int], SearchMember] = {}
    for m in members:
        if m.value is None or not m.contract_ok or m.cell is None:
            continue
        c = m.cell
        if c not in cells or m.value > _value(cells[c]):
            cells[c] = m
    return sorted(cells.values(), key=lambda m: (-_value(m), m.key))


def load_search(
    path: Path, candidates: Sequence[CandidateRow] = (), margin: float | None = None
) -> EvolveSearch | None:
    """The search recorded in ``path`` (``RUN_DIR/evolve/state.json``), its promotions tied
    to the loop's ``candidates`` by class name; None when there is no such file or it is
    not a search state."""
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(d, dict) or not isinstance(d.get("members"), list):
        return None
    seeds = _seed_names()
    members = [_member(m, seeds) for m in d["members"] if isinstance(m, dict)]
    promoted = [list(keys) for keys in d.get("promoted") or () if isinstance(keys, list)]
    margin = _margin() if margin is None else margin
    first: dict[str, SearchMember] = {}
    for m in members:
        first.setdefault(m.key, m)
    by_class = {c.class_name: c for c in candidates}
    n_gen = max([len(promoted)] + [m.generation + 1 for m in members])
    generations = [
        _generation(
            g,
            [m for m in members if m.generation == g],
            promoted[g] if g < len(promoted) else [],
        )
        for g in range(n_gen)
    ]
    promotions = []
    previous: float | None = None
    for g, keys in enumerate(promoted):
        for key in keys:
            found = first.get(key)
            value = found.value if found else None
            bar = None if previous is None else round(previous + margin, 4)
            cand = by_class.get(found.class_name) if found else None
            promotions.append(
                Promotion(
                    g, key, value, previous, bar,
                    value is not None and (bar is None or value >= bar - 1e-9),
                    found.validation if found else None,
                    found.origin if found else "",
                    cand.id if cand else None, cand.score if cand else None,
                )
            )  # fmt: skip
            if value is not None:
                previous = value if previous is None else max(previous, value)
    return EvolveSearch(
        tuple(members),
        tuple(generations),
        tuple(_archive(members)),
        tuple(promotions),
        margin,
        any(m.validation is not None for m in members),
    )


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


def _candidate(p: Promotion) -> str:
    from .html import esc

    if p.candidate is None:
        return "–"
    return f"<code>{esc(p.candidate)}</code> (score {_f(p.score)})"


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
        f"{broken} broke the β contract). <b>Fitness</b> is the search's cheap estimate on the "
        "search split (a few betas and replicates) that it ranks genomes by — not a held-out "
        "result; a promoted genome becomes a candidate whose full sweep is scored separately "
        "(its score is in the candidate table and can differ).</p>"
    )
    caption = (
        "Every evaluated genome's search fitness by generation; the best and median of each "
        "generation; the bar a genome had to reach to be promoted (the best fitness promoted "
        f"before + {search.margin:g}); ★ promoted."
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
                why = "the first promotion (no bar yet): the best fitness so far"
            elif p.clears:
                why = f"beat the bar {p.bar:+.2f} (best promoted before {_f(p.previous)})"
            else:
                why = f"does not reach the bar {p.bar:+.2f} by its search fitness"
            key = f"<code>{esc(p.key)}</code>"
            rows.append([str(g.number), key, esc(p.origin), _f(p.value), esc(why),
                         *([_f(p.validation)] if val else []), _candidate(p)])  # fmt: skip
        if not mine:
            bar = search.bar_after(g.number)
            why = "nothing promoted" + (
                f": its best, {_f(g.best)}, is below the bar {bar:+.2f}" if bar is not None else ""
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
        w, d = m.cell or (0, 0)
        mech = ", ".join(f"{k}={v}" for k, v in m.mechanisms) or "all the simplest options"
        p = promoted.get(m.key)
        rows.append(
            [f"{bin_text(w)} × {bin_text(d)}", f"<code>{esc(m.key)}</code>", str(m.generation),
             esc(m.origin), esc(mech), _f(m.value), *([_f(m.validation)] if val else []),
             _candidate(p) if p else "–"]
        )  # fmt: skip
    header = ["cell (chains × depth)", "genome", "generation", "origin", "mechanisms", "fitness",
              *(["validation"] if val else []), "candidate"]  # fmt: skip
    return _table(header, rows, {2, 5})
