"""`autotts check-controller` and `autotts discover` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from tests.discover.candidates import GOOD, HOSTILE_IMPORT, SHRINKING

from .conftest import Run


def _file(tmp_path: Path, name: str, code: str) -> Path:
    p = tmp_path / name
    p.write_text(code)
    return p


def test_check_controller_accepts_a_good_controller(run: Run, tmp_path: Path) -> None:
    r = run("check-controller", _file(tmp_path, "good.py", GOOD), "--replicates", "2")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("OK: ") and "good.py:Widen passes" in r.output


def test_check_controller_reports_a_budget_that_falls(run: Run, tmp_path: Path) -> None:
    r = run("check-controller", _file(tmp_path, "shrink.py", SHRINKING), "--replicates", "2")
    assert r.exit_code == 1
    assert "shrink.py: synthetic: tokens fall to" in r.output


def test_check_controller_lists_policy_violations_with_lines(run: Run, tmp_path: Path) -> None:
    r = run("check-controller", _file(tmp_path, "evil.py", HOSTILE_IMPORT), "--json")
    assert r.exit_code == 1
    report = json.loads(r.output)
    assert report["ok"] is False
    assert report["problems"][0].startswith("evil.py:1: ")


def test_check_controller_on_given_envs(run: Run, tmp_path: Path, tiny: Path) -> None:
    r = run(
        "check-controller",
        f"{_file(tmp_path, 'good.py', GOOD)}:Widen",
        "--env",
        tiny,
        "--replicates",
        "2",
        "--json",
    )
    report = json.loads(r.output)
    assert list(report["sweep"]) == ["tiny/hand"]
    # two chains only: every beta reads both, so the budget cannot grow
    assert r.exit_code == 1
    assert "tokens stay at" in report["problems"][0]
    assert "spans too little budget" in report["problems"][-1]


def test_check_controller_missing_file(run: Run) -> None:
    r = run("check-controller", "nope.py")
    assert r.exit_code == 2 and r.output.strip() == "autotts: error: nope.py: no such file"


def test_discover_refuses_bad_setups(run: Run, tmp_path: Path, tiny: Path) -> None:
    r = run("discover", "--search-env", tiny, "--run-dir", tmp_path / "r")
    assert r.exit_code == 2 and "give at least one --heldout-env" in r.output
    r = run("discover", "--search-env", tiny, "--heldout-env", tiny, "--run-dir", tmp_path / "r")
    assert r.exit_code == 2 and "in both the search and the held-out split" in r.output
    r = run(
        "discover",
        "--search-env",
        "missing.json",
        "--heldout-env",
        tiny,
        "--run-dir",
        tmp_path / "r",
    )
    assert r.exit_code == 2 and "--search-env 'missing.json': no such file" in r.output
    r = run("discover", "--run-dir", tmp_path / "none", "--resume")
    assert r.exit_code == 2 and "no discovery run to resume" in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_resume_refuses_changed_configuration(run: Run, tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    r = run("discover", "--run-dir", tmp_path / "r", "--resume", "--replicates", "5")
    assert r.exit_code == 2
    assert "--replicates cannot be changed when resuming" in r.output


def test_check_controller_rejects_a_nan_schedule(run: Run, tmp_path: Path) -> None:
    from tests.discover.candidates import NAN_SCHEDULE

    r = run("check-controller", _file(tmp_path, "nan.py", NAN_SCHEDULE), "--replicates", "2")
    assert r.exit_code == 1
    assert r.output.startswith("nan.py: invalid: ") and "nan" in r.output.lower()


def test_discover_refuses_bad_evolve_options(run: Run, tmp_path: Path, tiny: Path) -> None:
    base = ("discover", "--search-env", tiny, "--heldout-env", "other.json", "--run-dir")
    for option, value, message in (
        ("--budget-minutes", "0", "--budget-minutes"),
        ("--population", "1", "--population"),
    ):
        r = run(*base, tmp_path / option.strip("-"), option, value)
        assert r.exit_code == 2 and message in r.output, r.output
        assert r.output.startswith("autotts: error: ") and len(r.output.splitlines()) == 1
        assert not (tmp_path / option.strip("-") / "history.sqlite").exists()


def test_evolve_is_the_default_proposer(run: Run) -> None:
    r = run("discover", "--help")
    assert r.exit_code == 0
    assert "[default: evolve]" in " ".join(r.output.split())
