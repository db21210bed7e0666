"""A short seeded search on small synthetic environments: it improves on its start, promotes
by the validation fold only, is reproducible from its seed, resumes from its state file, and
depends on the seed."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import pytest

from autotts.data import load_env, synthesize, write_env
from autotts.discover.baselines import baseline_points
from autotts.discover.evolve.scoring import FitnessSettings, prepare
from autotts.discover.evolve.search import MARGIN, SHORTLIST, Search
from autotts.discover.evolve.tables import breeding_questions, validation_questions
from autotts.discover.proposers.evolve import search_reference
from autotts.evaluate import EvalSettings, evaluate

SETTINGS = FitnessSettings(betas=(0.0, 0.25, 0.5, 0.75, 1.0), replicates=3)
SIZE, WORKERS, GENERATIONS = 6, 2, 3
SEED = 6


@pytest.fixture(scope="module")
def envs(tmp_path_factory) -> list[Any]:
    root = tmp_path_factory.mktemp("evolve-search")
    out = []
    for i in range(2):
        p = root / f"search{i}.json"
        write_env(synthesize(n_questions=9, n_chains=32, seed=100 + i, model=f"Search{i}"), p)
        out.append(load_env(p))
    return out


def baseline_sweeps(envs: list[Any], s: FitnessSettings) -> dict[str, dict[str, list]]:
    """What the loop hands the proposer: name -> env label -> records."""
    rs = EvalSettings(s.chain_orders, s.match, s.kappa_probe, s.budget)
    out: dict[str, dict[str, list]] = {}
    for name, pts in baseline_points(list(s.betas)).items():
        for label, spec in pts:
            for env, r in zip(envs, evaluate(envs, spec, [spec.beta], settings=rs), strict=True):
                rec = {"beta": spec.beta, "label": label, "result": r.to_json()}
                out.setdefault(name, {}).setdefault(env.meta.model, []).append(rec)
    return out


@pytest.fixture(scope="module")
def ref(envs):
    labels = [e.meta.model for e in envs]
    return search_reference(
        baseline_sweeps(envs, SETTINGS), labels, [len(e.questions) for e in envs]
    )


@pytest.fixture(scope="module")
def fenvs(envs):
    return prepare(envs, SETTINGS)


def new_search(fenvs: list[Any], seed: int, state: Path) -> Search:
    return Search(fenvs, SETTINGS, seed, size=SIZE, workers=WORKERS, state_path=state)


def run(search: Search, ref, rounds: int, per_round: int = 1) -> list[list[str]]:
    """``rounds`` rounds of ``per_round`` generations each; the keys each round promoted."""
    out = []
    for _ in range(rounds):
        for _ in range(per_round):
            search.step(ref)
        out.append([m.genome.key() for m in search.promote()])
    return out


def snapshot(search: Search) -> dict[str, Any]:
    return {
        "members": [
            (m.genome.key(), m.fit.to_json() if m.fit else None, m.reason, m.origin, m.generation)
            for m in search.members
        ],
        "promoted": search.promoted,
        "generations": search.generations,
    }


@pytest.fixture(scope="module")
def straight(fenvs, ref, tmp_path_factory) -> tuple[Search, list[list[str]]]:
    s = new_search(fenvs, SEED, tmp_path_factory.mktemp("straight") / "state.json")
    return s, run(s, ref, GENERATIONS)


def test_folds_split_every_question_once() -> None:
    for n in (3, 4, 10, 30):
        v, b = validation_questions(n), breeding_questions(n)
        assert sorted(v + b) == list(range(n)) and not set(v) & set(b)
    assert validation_questions(9) == (2, 5, 8)
    # too few questions to hold one back: both folds are the whole environment (never empty,
    # which made the validation fitness NaN)
    for n in (1, 2):
        assert validation_questions(n) == breeding_questions(n) == tuple(range(n))


def test_search_improves_and_promotes_on_validation(straight) -> None:
    s, returned = straight
    assert len(s.members) == SIZE * GENERATIONS and s.generations == GENERATIONS
    assert all(m.fit is not None for m in s.members)
    start = max(m.score for m in s.members if m.generation == 0)
    best = max(s.members, key=lambda m: m.score)
    assert best.score >= start
    assert returned == s.promoted and len(s.promoted) == GENERATIONS
    flat = [k for keys in s.promoted for k in keys]
    assert flat and len(flat) == len(set(flat)) and all(len(keys) <= 1 for keys in s.promoted)
    # each promotion is a validation record by MARGIN, taken from the breeding shortlist
    vals = [s.member(k).validation for k in flat]
    assert all(b >= a + MARGIN for a, b in itertools.pairwise(vals))
    for rnd, keys in enumerate(s.promoted):
        if not keys:
            continue
        m = s.member(keys[0])
        assert m.fit is not None and m.fit.contract_ok and m.generation <= rnd
        earlier = {k for ks in s.promoted[:rnd] for k in ks}
        pool = sorted(
            (
                x
                for x in s.members
                if x.generation <= rnd
                and x.fit
                and x.fit.contract_ok
                and x.genome.key() not in earlier
            ),
            key=lambda x: (-x.score, x.generation, x.genome.key()),
        )[:SHORTLIST]
        assert m in pool and m.validation == max(x.validation for x in pool)


def test_breeding_never_reads_the_validation_fold(fenvs, ref, tmp_path) -> None:
    """Change the validation fold's answers in the reference and the members' breeding
    fitness stays the same: only promotion can differ."""
    import dataclasses

    def lower(f):  # every baseline 20 points less accurate on the validation fold
        return dataclasses.replace(
            f,
            frontier=[(t, a - 20) for t, a in f.frontier],
            cmc=[(b, t, s, a - 20) for b, t, s, a in f.cmc],
        )

    worse = dataclasses.replace(ref, held=[lower(f) for f in ref.held])
    a = new_search(fenvs, SEED, tmp_path / "a.json")
    b = new_search(fenvs, SEED, tmp_path / "b.json")
    a.step(ref)
    b.step(worse)
    assert [m.score for m in a.members] == [m.score for m in b.members]
    assert [m.validation for m in a.members] != [m.validation for m in b.members]


def test_search_is_reproducible(straight, fenvs, ref, tmp_path) -> None:
    s, returned = straight
    again = new_search(fenvs, SEED, tmp_path / "state.json")
    assert run(again, ref, GENERATIONS) == returned
    assert snapshot(again) == snapshot(s)


def test_search_resumes_from_its_state(straight, fenvs, ref, tmp_path) -> None:
    s, returned = straight
    state = tmp_path / "state.json"
    first = new_search(fenvs, SEED, state)
    assert run(first, ref, 2) == returned[:2]
    saved = json.loads(state.read_text())
    assert len(saved["members"]) == 2 * SIZE and saved["promoted"] == returned[:2]
    resumed = new_search(fenvs, SEED, state)
    assert snapshot(resumed) == snapshot(first)
    assert run(resumed, ref, 1) == returned[2:]
    assert snapshot(resumed) == snapshot(s)


def test_a_different_seed_breeds_a_different_generation(straight, fenvs, ref, tmp_path) -> None:
    s, _ = straight
    other = new_search(fenvs, SEED + 1, tmp_path / "state.json")
    run(other, ref, 2)

    def generation(search: Search, g: int) -> list[str]:
        return [m.genome.key() for m in search.members if m.generation == g]

    assert set(generation(other, 1)) != set(generation(s, 1))
    assert all(math.isfinite(m.score) for m in other.members)
