"""A damaged or read-only history.sqlite is one error line naming the file and what is wrong,
exit 2, and the file is left exactly as it was."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from autotts.discover import DiscoverConfig
from autotts.discover import history as history_module
from autotts.discover.history import History

from .conftest import Run, one_error_line, tiny_env_file


def _run_dir(tmp_path: Path) -> Path:
    """A run directory whose history holds a started run."""
    envs = [str(tiny_env_file(tmp_path / f"{n}.json")) for n in ("s", "h")]
    run_dir = tmp_path / "run"
    with History.open(run_dir) as h:
        run = h.create_run(DiscoverConfig(envs[:1], envs[1:]).to_json())
        for rnd in range(40):  # some pages, so that a cut lands inside the data
            h.start_round(run, rnd)
    for extra in ("history.sqlite-wal", "history.sqlite-shm"):
        (run_dir / extra).unlink(missing_ok=True)
    return run_dir


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_history_is_one_error_line(run: Run, tmp_path: Path, damage: str) -> None:
    run_dir = _run_dir(tmp_path)
    db = run_dir / "history.sqlite"
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"not sqlite " * 100)
    before = db.read_bytes()
    for args in (
        ["--resume"],
        ["--search-env", tmp_path / "s.json", "--heldout-env", tmp_path / "h.json"],
    ):
        line = one_error_line(run("discover", "--run-dir", run_dir, *args))
        assert line.startswith(f"autotts: error: {db}: is damaged (truncated, or not an SQLite")
        assert "it was left as it is" in line
        assert db.read_bytes() == before


def _read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Open every history read-only, as SQLite does for a file this user cannot write (root
    can write any file, so chmod alone does not show it when the tests run as root)."""
    real = sqlite3.connect

    def connect(path: str, **kw: Any) -> sqlite3.Connection:
        return real(f"file:{path}?mode=ro", uri=True, **kw)

    monkeypatch.setattr(history_module.sqlite3, "connect", connect)


def test_a_read_only_history_is_one_error_line(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = _run_dir(tmp_path)
    db = run_dir / "history.sqlite"
    before = db.read_bytes()
    _read_only(monkeypatch)
    line = one_error_line(run("discover", "--run-dir", run_dir, "--resume"))
    assert line.startswith(f"autotts: error: {db}: is read-only: a discovery run must write")
    assert db.read_bytes() == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files")
def test_a_chmod_read_only_history_is_one_error_line(run: Run, tmp_path: Path) -> None:
    run_dir = _run_dir(tmp_path)
    db = run_dir / "history.sqlite"
    db.chmod(0o444)
    line = one_error_line(run("discover", "--run-dir", run_dir, "--resume"))
    assert f"{db}: is read-only" in line
