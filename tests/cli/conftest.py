from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from autotts.cli import cli
from autotts.data import write_env
from tests.builders import make_env

Run = Callable[..., Result]


@pytest.fixture
def run() -> Run:
    """Invoke ``autotts ARGS...`` in-process; ``env=`` sets environment variables."""

    def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(cli, [str(a) for a in args], env=env, prog_name="autotts")

    return invoke


def tiny_env_file(path: Path) -> Path:
    """Two questions, two chains each, every chain order gives the same result under sc k=2:
    question 0 reads 100 + 300 tokens and votes the gold "A"; question 1 reads 1000 + 2000
    tokens and votes "B", not the gold "C"."""
    env = make_env(
        [
            ([(["A"], 100, "A"), (["A"], 300, "A")], "A"),
            ([(["B", "B"], 1000, "B"), (["B", "B", "B", "B"], 2000, "B")], "C"),
        ]
    )
    write_env(env, path)
    return path


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return tiny_env_file(tmp_path / "tiny.json")


def one_error_line(result: Result) -> str:
    """Asserts the command failed the CLI way (exit 2, one line, no traceback)."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("autotts: error: ")
    return lines[0]
