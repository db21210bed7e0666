"""A short seeded search on small synthetic environments: it improves on its start, is
reproducible from its seed, resumes from its state file, and depends on the seed."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from autotts.data import synthesize, write_env
from autotts.discover.evolve.search import MARGIN, CheapSettings, Search
from autotts.discover.proposers.evolve import reference

SETTINGS = CheapSettings(replicates=2, betas=(0.0, 0.5, 1.0))
SIZE, WORKERS, PROMOTE, GENERATIONS = 6, 2, 2, 3
# With these environments the starting CMC-shaped genome is hard to beat in three generations
# of six: with the catalogue's four newer options (which changed every seed's draws), of seeds
# 0-16 only 0 and 9 improve on it, by under 0.01, and 13 by 0.41. Seed 13 improves by more than
# the promotion margin, so the promotion checks bite too.
SEED = 13


@pytest.fixture(scope="module")
def envs(tmp_path_factory) -> list[str]:
    root = tmp_path_factory.mktemp("evolve-search")
    paths = []
    for i in range(2):
        p = root / f"search{i}.json"
        write_env(synthesize(n_questions=6, n_chains=32, seed=100 + i, model=f"Search{i}"), p)
        paths.append(str(p))
    return paths


@pytest.fixture(scope="module")
def ref(envs):
    return reference(envs, SETTINGS, workers=1)


def new_search(envs: list[str], seed: int, state: Path) -> Search:
    return Search(envs, SETTINGS, seed, size=SIZE, workers=WORKERS, state_path=state)


def run(search: Search, ref, generations: int) -> list[list[str]]:
    """Step ``generations`` times; the keys each step returned."""
    return [[m.genome.key() for m in search.step(ref, PROMOTE)] for _ in range(generations)]


def snapshot(search: Search) -> dict[str, Any]:
    return {
        "members": [
            (
                m.genome.key(),
                m.fit.to_json() if m.fit else None,
                m.reason,
                m.origin,
                m.generation,
            )
            for m in search.members
        ],
        "promoted": search.promoted,
    }


@pytest.fixture(scope="module")
def straight(envs, ref, tmp_path_factory) -> tuple[Search, list[list[str]]]:
    """Three generations without interruption."""
    s = new_search(envs, SEED, tmp_path_factory.mktemp("straight") / "state.json")
    return s, run(s, ref, GENERATIONS)


def test_search_improves_on_its_start(straight) -> None:
    s, returned = straight
    assert len(s.members) == SIZE * GENERATIONS
    assert [m.generation for m in s.members] == [g for g in range(GENERATIONS) for _ in range(SIZE)]
    assert all(m.fit is not None for m in s.members), [m.reason for m in s.members if not m.fit]
    start = max(m.score for m in s.members if m.generation == 0)
    best = max(s.members, key=lambda m: m.score)
    assert best.score > start, (best.score, start)
    assert best.generation > 0 and best.origin != "seed"
    # promotions: what step() returned; distinct, monotone members, best first
    assert returned == s.promoted and len(s.promoted) == GENERATIONS
    flat = [k for keys in s.promoted for k in keys]
    assert len(flat) == len(set(flat)) and all(len(keys) <= PROMOTE for keys in s.promoted)
    for g, keys in enumerate(s.promoted):
        chosen = [s.member(k) for k in keys]
        assert all(m.fit and m.fit.contract_ok and m.generation <= g for m in chosen)
        assert [m.score for m in chosen] == sorted((m.score for m in chosen), reverse=True)
    monotone = [m for m in s.members if m.fit and m.fit.contract_ok and m.generation == 0]
    assert s.promoted[0][0] == max(monotone, key=lambda m: m.score).genome.key()
    # promotions are records, each by at least MARGIN; the last is within MARGIN of the best
    scores = [s.member(k).score for k in flat]
    assert all(b >= a + MARGIN for a, b in itertools.pairwise(scores))
    assert best.fit.contract_ok and scores[-1] > best.score - MARGIN
    # every member is distinct
    assert len({m.genome.key() for m in s.members}) == len(s.members)


def test_archive_keeps_the_best_monotone_member_per_cell(straight) -> None:
    s, _ = straight
    cells = s.archive()
    assert cells
    for cell, elite in cells.items():
        assert elite.fit is not None and elite.fit.contract_ok and elite.cell() == cell
        rivals = [m for m in s.members if m.fit and m.fit.contract_ok and m.cell() == cell]
        assert elite.score == max(m.score for m in rivals)


def test_search_is_reproducible(straight, envs, ref, tmp_path) -> None:
    s, returned = straight
    again = new_search(envs, SEED, tmp_path / "state.json")
    assert run(again, ref, GENERATIONS) == returned
    assert snapshot(again) == snapshot(s)


def test_search_resumes_from_its_state(straight, envs, ref, tmp_path) -> None:
    s, returned = straight
    state = tmp_path / "state.json"
    first = new_search(envs, SEED, state)
    head = run(first, ref, 2)
    assert head == returned[:2]
    saved = json.loads(state.read_text())
    assert len(saved["members"]) == 2 * SIZE and saved["promoted"] == returned[:2]
    resumed = new_search(envs, SEED, state)
    assert snapshot(resumed) == snapshot(first)
    assert run(resumed, ref, 1) == returned[2:]
    assert snapshot(resumed) == snapshot(s)
    assert json.loads(state.read_text())["promoted"] == s.promoted


def test_a_different_seed_breeds_a_different_generation(straight, envs, ref, tmp_path) -> None:
    s, _ = straight
    other = new_search(envs, SEED + 1, tmp_path / "state.json")
    run(other, ref, 2)

    def generation(search: Search, g: int) -> list[str]:
        return [m.genome.key() for m in search.members if m.generation == g]

    assert generation(other, 1) != generation(s, 1)
    assert set(generation(other, 1)) != set(generation(s, 1))
