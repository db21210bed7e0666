"""The discovery report's search section, from a synthetic ``evolve/state.json``: fitness by
generation, the archive, the promotions and why; and the plain statements of a run whose
selection does not beat the baselines."""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from autotts.discover import CandidateRow, DiscoverConfig, RunView, load_evolve_search
from autotts.discover.evolve.genome import Genome, mutate, seed_genomes
from autotts.discover.evolve.render import class_name
from autotts.discover.evolve.search import MARGIN, Fitness, Member
from autotts.discover.evolve_state import SearchMember
from autotts.report import build_report, discovery_sections, report_files

from .test_report import check_image


def genomes(n: int) -> list[Genome]:
    """n distinct genomes: the seeds, then mutants of the CMC seed."""
    rng = random.Random(5)
    out = list(seed_genomes())
    while len(out) < n:
        g = mutate(out[0], rng, 0.6)
        if g.key() not in {x.key() for x in out}:
            out.append(g)
    return out[:n]


def fit(value: float, width: float = 6.0, depth: float = 20.0, **extra: Any) -> dict[str, Any]:
    """A fit record as the search writes it, with keys the tests must not rely on."""
    return {"value": value, "contract_ok": True, "width": width, "depth": depth,
            "vs_cmc": 0.0, "peak_gap": 0.0, "someday": "a new key", **extra}  # fmt: skip


G = genomes(9)
# (genome, fit, origin, generation)
MEMBERS: list[tuple[Genome, dict[str, Any] | None, str, int]] = [
    (G[0], fit(3.0, 6.0, 20.0, validation=2.0), "seed", 0),  # cell (2, 4)
    (G[1], fit(1.0, 6.5, 21.0), "seed", 0),  # same cell, worse: not in the archive
    (G[2], fit(2.0, 40.0, 3.0), "seed", 0),  # cell (5, 1)
    (G[3], None, "seed", 0),  # the sandbox refused it
    (G[4], fit(3.2, 2.0, 70.0, validation=2.6), f"mutant of {G[0].key()}", 1),  # cell (1, 6)
    (G[5], fit(-5.0, 6.0, 20.0) | {"contract_ok": False}, "tpe", 1),  # broke the contract
    (G[6], fit(0.5, 6.0, 20.0), "tpe", 1),
    (G[7], fit(3.1, 100.0, 1.0), f"child of {G[0].key()} x {G[4].key()}", 2),  # cell (6, 0)
    (G[8], fit(-1.0, 3.0, 9.0), "random", 2),  # cell (1, 3)
]
PROMOTED = [[G[0].key()], [G[4].key()], []]


def state(tmp: Path) -> Path:
    run = tmp / "run"
    (run / "evolve").mkdir(parents=True)
    members = [
        {"genome": g.to_json(), "fit": f, "reason": "" if f else "timeout: slow", "origin": o,
         "generation": n}
        for g, f, o, n in MEMBERS
    ]  # fmt: skip
    (run / "evolve" / "state.json").write_text(
        json.dumps({"members": members, "promoted": PROMOTED})
    )
    return run


def candidate(cid: str, g: Genome, score: float) -> CandidateRow:
    return CandidateRow(cid, 1, int(cid[1]), 0, class_name(g), "code", "h", [], "evolve", "",
                        None, None, 0, 0, 0.0, "ok", "", score)  # fmt: skip


CONFIG = DiscoverConfig(search_envs=["s.json"], heldout_envs=["h.json"], betas=[0.0, 1.0])


def view(candidates: list[CandidateRow], summary: dict[str, Any] | None = None) -> RunView:
    return RunView(CONFIG, candidates, [], {}, {}, summary)


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_the_search_section_tells_the_search(tmp_path: Path) -> None:
    run = state(tmp_path)
    cands = [candidate("r0c0", G[0], 0.4), candidate("r1c0", G[4], 0.9)]
    out = tmp_path / "report"
    sections = discovery_sections(view(cands), out, run)
    assert [s.id for s in sections][:2] == ["progress", "search"]
    html = build_report(out, sections).read_text()
    for name in report_files(sections):
        if name.endswith((".png", ".svg")):
            check_image(out / name)
    gens = rows(out / "search_generations.csv")
    assert [(r["evaluated"], r["failed"], r["broke_contract"]) for r in gens] == [
        ("3", "1", "0"), ("3", "0", "1"), ("2", "0", "0"),
    ]  # fmt: skip
    assert [(float(r["best"]), float(r["median"])) for r in gens] == [
        (3.0, 2.0), (3.2, 0.5), (3.1, 1.05),
    ]  # fmt: skip
    assert [r["best_genome"] for r in gens] == [G[0].key(), G[4].key(), G[7].key()]
    promos = rows(out / "search_promotions.csv")
    assert [(r["genome"], r["candidate"], r["clears_bar"]) for r in promos] == [
        (G[0].key(), "r0c0", "True"),
        (G[4].key(), "r1c0", "True"),
    ]
    assert promos[0]["bar"] == "" and float(promos[1]["bar"]) == pytest.approx(3.0 + MARGIN)
    assert promos[0]["origin"] == "seed (like cmc)"
    assert "beat the bar +3.05 (best promoted before +3.00)" in html
    assert "nothing promoted: no genome of the shortlist reaches the bar +3.25" in html
    assert "its validation" in html and "+2.60" in html  # validation, as it is present
    archive = rows(out / "search_archive.csv")
    assert [r["genome"] for r in archive] == [G[4].key(), G[7].key(), G[0].key(),
                                              G[2].key(), G[8].key()]  # fmt: skip
    assert [(r["width_bin"], r["depth_bin"]) for r in archive] == [
        ("1", "6"), ("6", "0"), ("2", "4"), ("5", "1"), ("1", "3"),
    ]  # fmt: skip
    assert "2–3 × 64+" in html and "64+ × 1" in html
    assert "widen=trend" in archive[0]["mechanisms"] and "err=" not in archive[0]["mechanisms"]
    assert "r1c0</code> (score +0.90)" in html


def test_rounds_promote_by_validation(tmp_path: Path) -> None:
    """A state with rounds (two generations, then one): promotions sit at a round's last
    generation and their bar is the validation fitness promoted before."""
    from autotts.discover import load_evolve_search

    run = state(tmp_path)
    path = run / "evolve" / "state.json"
    d = json.loads(path.read_text())
    d.update(promoted=[[G[0].key()], [G[4].key()]], round_ends=[2, 3], generations=3)
    path.write_text(json.dumps(d))
    search = load_evolve_search(path)
    assert search is not None and search.round_ends == (2, 3)
    assert [(p.generation, p.key, p.value, p.bar) for p in search.promotions] == [
        (1, G[0].key(), 2.0, None),
        (2, G[4].key(), 2.6, pytest.approx(2.0 + MARGIN)),
    ]
    assert [search.closes_round(g) for g in range(3)] == [False, True, True]


def test_the_archive_cells_are_the_searchs() -> None:
    """The report bins genomes as Member.cell does (a change there shows here)."""
    required = {f.name for f in fields(Fitness)}
    for width, depth in [(0.5, 0.3), (1.0, 1.0), (3.9, 4.0), (6.0, 20.0), (63.9, 64.0), (999, 9)]:
        values: dict[str, Any] = {k: 0.0 for k in required} | {"contract_ok": True}
        member = Member(G[0], Fitness(**(values | {"width": width, "depth": depth})), "", "", 0)
        mine = SearchMember(G[0].key(), 0, "", 0.0, True, None, width, depth, "", (), "")
        assert mine.cell == member.cell(), (width, depth)


def test_a_run_without_an_evolve_state_keeps_todays_page(tmp_path: Path) -> None:
    out = tmp_path / "report"
    sections = discovery_sections(view([]), out, tmp_path)
    assert "search" not in [s.id for s in sections]
    assert not list(out.glob("search*"))
    (tmp_path / "evolve").mkdir()
    (tmp_path / "evolve" / "state.json").write_text("{not json")
    assert load_evolve_search(tmp_path / "evolve" / "state.json") is None
    assert "search" not in [s.id for s in discovery_sections(view([]), out, tmp_path)]


def test_a_state_without_archive_axes_or_validation_still_reports(tmp_path: Path) -> None:
    run = state(tmp_path)
    path = run / "evolve" / "state.json"
    d = json.loads(path.read_text())
    for m in d["members"]:
        if m["fit"]:
            m["fit"] = {"value": m["fit"]["value"], "contract_ok": m["fit"]["contract_ok"]}
    path.write_text(json.dumps(d))
    search = load_evolve_search(path)
    assert search is not None and not search.archive and not search.has_validation
    html = build_report(tmp_path / "r", discovery_sections(view([]), tmp_path / "r", run))
    text = html.read_text()
    assert "Fitness by generation" in text and "its validation" not in text


def _summary(below: list[dict[str, Any]]) -> dict[str, Any]:
    row = {"point": "b=1", "beta": 1.0, "accuracy": 40.0, "accuracy_ci95": [30.0, 50.0],
           "avg_total_tokens": 5e3, "avg_sequential_tokens": 1e3, "errors": 0}  # fmt: skip
    base = row | {"accuracy": 45.8}
    return {
        "config": CONFIG.to_json(),
        "selected": {
            "id": "r0c0",
            "score": 0.0,
            "spec": "candidates/r0c0/controller.py:C",
            "code_path": "candidates/r0c0/controller.py",
        },
        "stopped": None,
        "heldout": {"selected": {"h": [row]}, "cmc": {"h": [base]}},
        "heldout_advantage": {"cmc": {"h": -5.8, "mean": -5.8}},
        "heldout_below": below,
        "beats_baselines": False,
        "best_baseline": "cmc",
        "best_baseline_advantage": 0.7,
        "selection_is_seed": "cmc",
        "search_advantage": {"value": 0.0, "ci95": [-1.06, 0.0]},
    }


def test_the_page_says_when_nothing_beat_the_baselines(tmp_path: Path) -> None:
    below = [{"baseline": "cmc", "by": 5.8, "per_env": {"h": -5.8}}]
    cands = [candidate("r0c0", G[0], 0.0)]
    html = build_report(tmp_path, discovery_sections(view(cands, _summary(below)), tmp_path))
    text = html.read_text()
    assert "<b>Nothing beat the baselines on the search split</b>: best is <b>cmc</b>" in text
    assert "(search score +0.00, 95 % CI -1.06 to +0.00)" in text
    assert "it is the evolve proposer's cmc seed genome, unchanged" in text
    assert "Selected: <b>r0c0</b>" not in text
    assert "<b>Below cmc on held-out by 5.80 points</b>" in text
    quiet = build_report(
        tmp_path / "q", discovery_sections(view(cands, _summary([])), tmp_path / "q")
    )
    assert "Below cmc" not in quiet.read_text()
    failed = _summary([]) | {"heldout_error": "timeout: slow"}
    failed["heldout"] = {"cmc": failed["heldout"]["cmc"]}
    page = build_report(tmp_path / "f", discovery_sections(view(cands, failed), tmp_path / "f"))
    assert "<b>The selection's held-out evaluation failed</b> (timeout: slow)" in page.read_text()
