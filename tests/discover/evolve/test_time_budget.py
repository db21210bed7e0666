"""A time-budget run stores its budget as such (no round limit), can be extended on resume by
rounds or by minutes, and its report says how many rounds it ran in how many minutes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from autotts.cli import cli
from autotts.discover import DiscoverConfig, discover, load_run
from autotts.discover.history import History
from autotts.report import write_run_report

from .test_evolve_loop import config


def _stored(run_dir: Path) -> dict:
    """The configuration as stored in the history."""
    with History.open(run_dir) as h:
        latest = h.latest_run()
    assert latest is not None
    return latest[1]


def run_cli(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="autotts")


def test_a_time_budget_run_has_no_round_limit_and_resume_extends_it(tmp_path: Path, splits) -> None:
    run_dir = tmp_path / "run"
    first = discover(run_dir, config(splits, rounds=None, budget_minutes=1e-6), workers=2)
    assert first["rounds_completed"] == 1 and "time budget" in first["stopped"]
    assert first["config"]["rounds"] is None and first["config"]["budget_minutes"] == 1e-6
    out = tmp_path / "report"
    index, _ = write_run_report(load_run(run_dir), run_dir, out)
    html = index.read_text()
    assert "1 round(s) in " in html and " minutes (time budget: 1e-06 minutes)" in html
    assert "planned" not in html

    with pytest.raises(ValueError, match="less than the run's 1e-06: a resumed run can only"):
        discover(run_dir, None, resume=True, budget_minutes=1e-7)
    # rounds on a time-budget run: the rounds become the limit
    resumed = discover(run_dir, None, resume=True, rounds=2, workers=2)
    assert resumed["rounds_completed"] == 2 and resumed["stopped"] is None
    assert resumed["config"]["rounds"] == 2 and resumed["config"]["budget_minutes"] is None
    with pytest.raises(ValueError, match="--rounds 1 is fewer than the run's 2"):
        discover(run_dir, None, resume=True, rounds=1)


def test_resume_gives_a_time_budget_more_minutes(tmp_path: Path, splits) -> None:
    run_dir = tmp_path / "run"
    first = discover(run_dir, config(splits, rounds=2, budget_minutes=1e-6), workers=2)
    assert first["rounds_completed"] == 1
    resumed = discover(run_dir, None, resume=True, budget_minutes=60, workers=2)
    assert resumed["rounds_completed"] == 2  # then the round limit ends it
    assert resumed["config"]["budget_minutes"] == 60 and resumed["config"]["rounds"] == 2


def test_runs_stored_before_read_their_round_limit_as_none() -> None:
    cfg = DiscoverConfig.from_json(
        {"search_envs": ["s"], "heldout_envs": ["h"], "rounds": 100_000, "budget_minutes": 30}
    )
    assert cfg.rounds is None and cfg.budget_minutes == 30
    with pytest.raises(ValueError, match="give --rounds or --budget-minutes"):
        DiscoverConfig(["s"], ["h"], rounds=None)


def test_the_cli_stores_the_time_budget_and_extends_it(tmp_path: Path, splits) -> None:
    search, heldout = splits
    run_dir = tmp_path / "run"
    args = ["discover", "--search-env", *search, "--heldout-env", *heldout, "--run-dir", run_dir]
    small = ["--population", "4", "--candidates-per-round", "1", "--betas", "0,1"]
    r = run_cli(*args, *small, "--replicates", "2", "--budget-minutes", "0.000001", "--json")
    assert r.exit_code == 0, r.output
    assert _stored(run_dir)["rounds"] is None
    r = run_cli("discover", "--run-dir", run_dir, "--resume", "--budget-minutes", "0.0000001")
    assert r.exit_code == 2 and "can only get more time" in r.output
    assert len(r.output.splitlines()) == 1
    r = run_cli("discover", "--run-dir", run_dir, "--resume", "--rounds", "2", "--json")
    assert r.exit_code == 0, r.output
    assert _stored(run_dir)["rounds"] == 2
