"""The evolve search of a discovery run, read back from ``RUN_DIR/evolve/state.json`` for
reports: fitness by generation, the MAP-Elites archive (the best genome per cell) and what each
round promoted to the loop's full sweep, and why.

The state is read defensively: of a member's ``fit`` only ``value`` (the breeding-fold fitness)
and ``contract_ok`` are relied on; ``validation`` (fitness on the validation fold), ``width``
and ``depth`` (the archive's axes) are shown when present. A promotion is explained by the rule
of :meth:`autotts.discover.evolve.search.Search.promote` (at the end of a round, a new record
of validation fitness by at least ``MARGIN`` over every genome promoted before; states written
before the validation fold: of search fitness, every generation a round); one that does not
clear that bar is said to, not explained away.
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
    from .history import CandidateRow

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

    @property
    def cell_text(self) -> str:
        """The cell as the ranges it stands for: ``2–3 × 64+`` (chains × depth)."""
        c = self.cell
        return "–" if c is None else f"{bin_text(c[0])} × {bin_text(c[1])}"


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
    round_ends: tuple[int, ...] = ()  # generations done when each round closed

    def closes_round(self, generation: int) -> bool:
        """Whether a round's promotion was decided after ``generation``."""
        return generation + 1 in self.round_ends

    def bar_after(self, generation: int) -> float | None:
        """The bar a genome had to reach to be promoted in ``generation``."""
        done = [
            p.value for p in self.promotions if p.generation < generation and p.value is not None
        ]
        return max(done) + self.margin if done else None


def _margin() -> float:
    from .evolve.search import MARGIN

    return MARGIN


def _number(d: Mapping[str, Any], key: str) -> float | None:
    v = d.get(key)
    return float(v) if isinstance(v, int | float) and math.isfinite(v) else None


def _genome_facts(genome: Mapping[str, Any]) -> tuple[str, tuple[tuple[str, str], ...], str]:
    """(key, mechanisms that are not the simplest option, class name) of a stored genome."""
    from .evolve.genome import MECHANISMS, Genome
    from .evolve.render import class_name

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
    from .evolve.genome import seed_genomes
    from .selection import SEED_NAMES

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


def load_evolve_search(
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
    ends = [int(n) for n in d.get("round_ends") or () if isinstance(n, int)]
    if len(ends) != len(promoted):  # an older state: every generation was a round
        ends = list(range(1, len(promoted) + 1))
    n_gen = max([ends[-1] if ends else 0] + [m.generation + 1 for m in members])
    at = {end - 1: keys for end, keys in zip(ends, promoted, strict=True)}
    generations = [
        _generation(g, [m for m in members if m.generation == g], at.get(g, []))
        for g in range(n_gen)
    ]
    validated = "round_ends" in d  # promotion ranks by the validation fold
    promotions = []
    previous: float | None = None
    for end, keys in zip(ends, promoted, strict=True):
        g = end - 1
        for key in keys:
            found = first.get(key)
            value = (found.validation if validated else found.value) if found else None
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
        tuple(ends),
    )
