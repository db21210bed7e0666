"""Without the replay data the suite says which checks it skipped, in its terminal summary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT


def _pytest(replay_dir: Path, *tests: str) -> str:
    env = {**os.environ, "AUTOTTS_REPLAY_DIR": str(replay_dir)}
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", *tests]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_summary_names_the_skipped_replay_checks(tmp_path: Path) -> None:
    out = _pytest(tmp_path, "tests/report/test_replay.py", "tests/evaluate/test_reference.py")
    [line] = [x for x in out.splitlines() if x.startswith("replay data not found")]
    assert line.startswith(f"replay data not found in {tmp_path}: skipped ")
    assert "(the exactness checks among them): tests/evaluate/test_reference.py (" in line
    assert line.endswith("tests/report/test_replay.py (1)")


def test_no_line_when_nothing_was_skipped(tmp_path: Path) -> None:
    out = _pytest(tmp_path, "tests/report/test_specs.py")
    assert "replay data not found" not in out
