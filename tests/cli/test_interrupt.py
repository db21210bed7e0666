"""Ctrl-C is one rule for every command: exit 130 and one line saying what was kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from autotts.cli import Interrupted, cli, keep_on_interrupt
from autotts.data import synthesize, write_env

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _as_from_a_shell() -> None:
    """In the child before it runs: Ctrl-C as a terminal delivers it (default disposition,
    unblocked), whatever this test process inherited or set (a pytest worker may ignore it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _interrupted(
    args: list[str],
    cwd: Path,
    wait_s: float = 2.5,
    *,
    ready: Callable[[], bool] | None = None,
    launcher: Sequence[str] = ("-m", "autotts"),
) -> tuple[int, str]:
    """Start ``autotts ARGS`` as a process (``python LAUNCHER ARGS``), send it SIGINT once it
    is at work (after ``wait_s``, or as soon as ``ready()`` returns true), and return its exit
    code and stderr."""
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, *launcher, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_as_from_a_shell,
    )
    try:
        if ready is None:
            time.sleep(wait_s)
        else:
            assert ready(), "it never got to work"
        assert proc.poll() is None, f"it finished before it could be stopped: {proc.stderr}"
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, stderr


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.json"
    write_env(synthesize(n_questions=30, n_chains=64, seed=1), path)
    return path


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_during_evaluate_is_one_line_and_130(
    big: Path, tmp_path: Path, workers: str
) -> None:
    code, stderr = _interrupted(
        ["evaluate", "--env", str(big), "--controller", "cmc", "--betas", "0:1:0.01",
         "--replicates", "2000", "--workers", workers, "--json"],
        tmp_path,
    )  # fmt: skip
    assert code == 130, stderr
    assert stderr.strip().splitlines() == ["autotts: interrupted: nothing was written"]


def test_ctrl_c_during_report_is_one_line_and_130(big: Path, tmp_path: Path) -> None:
    code, stderr = _interrupted(
        ["report", "--env", str(big), "--controller", "cmc", "--betas", "0:1:0.01",
         "--replicates", "2000", "-o", str(tmp_path / "r"), "--json"],
        tmp_path,
    )  # fmt: skip
    assert code == 130, stderr
    assert stderr.strip().splitlines() == ["autotts: interrupted: nothing was written"]


def test_the_helper_says_what_was_kept() -> None:
    @cli.command("_sleepy_test_command")
    def sleepy() -> None:
        with keep_on_interrupt("2 answers were printed: run the same command to continue"):
            raise KeyboardInterrupt

    @cli.command("_plain_test_command")
    def plain() -> None:
        raise KeyboardInterrupt

    try:
        result = CliRunner().invoke(cli, ["_sleepy_test_command"], prog_name="autotts")
        assert result.exit_code == 130
        assert result.stderr == (
            "autotts: interrupted: 2 answers were printed: run the same command to continue\n"
        )
        result = CliRunner().invoke(cli, ["_plain_test_command"], prog_name="autotts")
        assert (result.exit_code, result.stderr) == (
            130,
            "autotts: interrupted: nothing was written\n",
        )
    finally:
        cli.commands.pop("_sleepy_test_command")
        cli.commands.pop("_plain_test_command")
    assert issubclass(Interrupted, click.ClickException) and Interrupted.exit_code == 130
