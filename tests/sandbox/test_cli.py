"""``autotts evaluate --sandbox``: the same output as without it for benign controllers; every
rejection is one error line with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from autotts.cli import cli
from autotts.data import write_env
from tests.cli.conftest import one_error_line
from tests.controllers.synthetic import synthetic_env

from .conftest import ROOT, candidate


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="autotts")


def records(result: Result) -> list[dict[str, Any]]:
    out = [json.loads(line) for line in result.stdout.splitlines()]
    for r in out:
        assert "seconds" not in r  # --json carries no wall clock
    return out


@pytest.fixture(scope="module")
def envs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("cli")
    for seed in (1, 2):
        write_env(synthetic_env(seed, n_questions=6, n_chains=16), d / f"env{seed}.json")
    return [d / "env1.json", d / "env2.json"]


@pytest.mark.parametrize(
    ("spec", "extra"),
    [
        ("examples/quorum.py:Quorum", ["--beta", "0:1:0.5"]),
        ("examples/quorum.py:Quorum", []),  # a beta controller's default beta
        ("examples/original_method.py:OptimalController", ["--beta", "0.5"]),
    ],
)
def test_sandbox_gives_the_same_json(spec: str, extra: list[str], envs: list[Path]) -> None:
    path = ROOT / spec
    args: list[str | Path] = [
        "evaluate", "--env", *envs, "--controller", path, *extra, "--replicates", "5",
    ]  # fmt: skip
    plain = run(*args, "--json")
    sandboxed = run(*args, "--json", "--sandbox", "--workers", "2", "--timeout", "60")
    assert plain.exit_code == 0 and sandboxed.exit_code == 0, sandboxed.output
    assert records(sandboxed) == records(plain) and records(plain)
    assert sandboxed.stderr == plain.stderr == ""


def test_sandbox_table_matches(envs: list[Path]) -> None:
    args: list[str | Path] = ["evaluate", "--env", envs[0], "--controller"]
    args.append(ROOT / "examples/quorum.py:Quorum")
    plain, sandboxed = run(*args), run(*args, "--sandbox")
    assert sandboxed.exit_code == 0, sandboxed.output

    def rows(text: str) -> list[list[str]]:  # the table without the timing column
        return [line.split()[:-1] for line in text.splitlines() if "tiny" in line]

    assert rows(sandboxed.stdout) == rows(plain.stdout) and rows(plain.stdout)


def test_episode_errors_are_warnings_as_without_sandbox(envs: list[Path], tmp_path: Path) -> None:
    path = tmp_path / "fails.py"
    path.write_text(candidate("return session.probe(99)"))
    for flags in ([], ["--sandbox"]):
        result = run("evaluate", "--env", envs[0], "--controller", f"{path}:C", *flags)
        assert result.exit_code == 2
        assert result.stderr.splitlines()[-1].startswith("autotts: error: every one of the")


@pytest.mark.parametrize(
    ("body", "options", "expected"),
    [
        ("return session._finals[0]", [], "autotts: error: {path}:10: access to '._finals'"),
        ("while True:\n    pass", ["--timeout", "1"], "autotts: error: timed out after 1 s"),
        (
            "hoard = []\nwhile True:\n    hoard.append(bytearray(10**7))",
            ["--memory-mb", "300"],
            "autotts: error: ran out of memory in solve()",
        ),
    ],
)
def test_rejections_are_one_error_line(
    body: str, options: list[str], expected: str, envs: list[Path], tmp_path: Path
) -> None:
    path = tmp_path / "hostile.py"
    path.write_text(candidate(body))
    result = run("evaluate", "--env", envs[0], "--controller", f"{path}:C", "--sandbox", *options)
    assert one_error_line(result).startswith(expected.format(path=path))


def test_bad_sandbox_usage(envs: list[Path], tmp_path: Path) -> None:
    line = one_error_line(run("evaluate", "--env", envs[0], "--controller", "cmc", "--sandbox"))
    assert (
        line == "autotts: error: --sandbox runs controllers from files (FILE.py:CLASS), not 'cmc'"
    )
    line = one_error_line(
        run("evaluate", "--env", envs[0], "--controller", "cmc", "--timeout", "3")
    )
    assert (
        line
        == "autotts: error: --timeout, --memory-mb and --episode-timeout apply to --sandbox runs"
    )
    missing = tmp_path / "missing.py"
    line = one_error_line(
        run("evaluate", "--env", envs[0], "--controller", f"{missing}:C", "--sandbox")
    )
    assert line == f"autotts: error: controller file not found: {missing}"
    path = tmp_path / "fixed.py"
    path.write_text(
        "from autotts.controllers import Controller\n\nclass Fixed(Controller):\n"
        "    defaults = {'k': 2}\n\n    def solve(self, session):\n        return None\n"
    )
    line = one_error_line(
        run("evaluate", "--env", envs[0], "--controller", f"{path}:Fixed", "--beta", "0.5",
            "--sandbox")
    )  # fmt: skip
    assert "takes no beta (it is a fixed baseline with parameters k=2)" in line
