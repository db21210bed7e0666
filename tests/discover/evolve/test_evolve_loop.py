"""The evolve proposer inside the discovery loop: no LLM, deterministic, resumable, and its
candidates go through the same sandbox, contract, history and held-out judgement."""

from __future__ import annotations

import json
from pathlib import Path

from autotts.discover import DiscoverConfig, discover
from autotts.discover.evolve.genome import seed_genomes

from ..conftest import run_dir_files


def config(splits, rounds: int | None = 2, **kw) -> DiscoverConfig:
    search, heldout = splits
    return DiscoverConfig(
        search_envs=search,
        heldout_envs=heldout,
        proposer="evolve",
        proposer_options={"population": 4, "generations": 2},
        rounds=rounds,
        candidates_per_round=1,
        betas=[0.0, 0.5, 1.0],
        replicates=4,
        seed=3,
        trace_replicates=1,
        timeout_s=60.0,
        **kw,
    )


def _candidates(summary: dict) -> list[tuple]:
    return [(c["id"], c["code_hash"], c["status"], c["score"]) for c in summary["candidates"]]


def test_evolve_runs_the_loop_and_resumes_to_the_same_result(tmp_path: Path, splits) -> None:
    straight = discover(tmp_path / "a", config(splits, rounds=2), workers=2)
    cands = straight["candidates"]
    assert cands and all(c["proposer"] == "evolve" for c in cands)
    assert any(c["status"] == "ok" for c in cands)
    assert straight["selected"] is not None and straight["spent_usd"] == 0
    assert straight["rounds_completed"] == 2
    code = (tmp_path / "a" / straight["selected"]["code_path"]).read_text()
    assert "GENOME = {" in code and "class Evolved" in code
    state = json.loads((tmp_path / "a" / "evolve" / "state.json").read_text())
    assert len(state["promoted"]) == 2 and state["generations"] == state["round_ends"][-1] == 4
    n_seeds = len(seed_genomes())  # generation 0 is the seeds and, if it has room, more
    assert len(state["members"]) == 3 * 4 + max(4, n_seeds)
    assert "candidates/r0c0/controller.py" in run_dir_files(tmp_path / "a")

    # one round, then resume with a second: the same candidates and the same selection
    discover(tmp_path / "b", config(splits, rounds=1), workers=2)
    resumed = discover(tmp_path / "b", None, resume=True, rounds=2, workers=2)
    assert _candidates(resumed) == _candidates(straight)
    assert resumed["selected"] == straight["selected"]


def test_time_budget_stops_starting_rounds(tmp_path: Path, splits) -> None:
    summary = discover(tmp_path / "run", config(splits, rounds=50, budget_minutes=1e-6), workers=2)
    assert summary["rounds_completed"] == 1
    assert "time budget" in summary["stopped"]
    assert summary["selected"] is not None  # still selects and judges what it has
