"""The options every command shares: repeats add up or are refused, one vocabulary with one
default per name, environment variables that split lists, and bounds on nonsense numbers."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from autotts.cli import cli
from autotts.cli.options import (
    DEFAULT_CHAINS,
    MATCH_CHOICES,
    MAX_REPLICATES,
    PROTOCOL_CHOICES,
    SANDBOX_MEMORY_MB,
    SANDBOX_TIMEOUT_S,
    Command,
)
from autotts.data import MATCH_MODES
from autotts.discover.config import SANDBOX_MEMORY_MB as DISCOVER_MEMORY_MB
from autotts.discover.config import SANDBOX_TIMEOUT_S as DISCOVER_TIMEOUT_S
from autotts.evaluate import DEFAULT_BETAS, PROTOCOLS
from autotts.evaluate import MAX_REPLICATES as LIBRARY_MAX_REPLICATES
from autotts.procs import max_workers

from .conftest import Run, one_error_line


def records(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def _commands(group: click.Group = cli, prefix: str = "") -> dict[str, click.Command]:
    out: dict[str, click.Command] = {}
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            out.update(_commands(cmd, f"{prefix}{name} "))
        else:
            out[f"{prefix}{name}"] = cmd
    return out


COMMANDS = _commands()


def _option(command: str, name: str) -> click.Option | None:
    for p in COMMANDS[command].params:
        if isinstance(p, click.Option) and name in p.opts:
            return p
    return None


# ------------------------------------------------------------------------- repeated options
def test_every_command_refuses_repeats_of_single_options() -> None:
    assert all(isinstance(cmd, Command) for cmd in COMMANDS.values()), [
        name for name, cmd in COMMANDS.items() if not isinstance(cmd, Command)
    ]


def test_controller_given_twice_is_an_error(run: Run, tiny: Path) -> None:
    line = one_error_line(
        run("evaluate", "--env", tiny, "--controller", "cmc", "--controller", "sc", "--json")
    )
    assert "--controller given twice" in line


@pytest.mark.parametrize(
    "args",
    [
        ["--replicates", "2", "--replicates", "3"],
        ["--seed", "1", "--seed", "2"],
        ["--budget", "100", "--budget", "200"],
        ["--match", "exact", "--match", "normalized"],
        ["--json", "--json"],
    ],
)
def test_single_options_given_twice(run: Run, tiny: Path, args: list[str]) -> None:
    line = one_error_line(run("evaluate", "--env", tiny, "--controller", "sc", *args, "--json"))
    assert f"{args[0]} given twice" in line


def test_repeated_betas_add_up(run: Run, tiny: Path) -> None:
    result = run(
        "evaluate", "--env", tiny, "--controller", "cmc", "--beta", "0", "--beta", "0.5",
        "--replicates", "2", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [r["beta"] for r in records(result.stdout)] == [0.0, 0.5]
    result = run(
        "evaluate", "--env", tiny, "--controller", "cmc", "--betas", "0:1:0.5", "--betas", "0.2",
        "--replicates", "2", "--json",
    )  # fmt: skip
    assert [r["beta"] for r in records(result.stdout)] == [0.0, 0.2, 0.5, 1.0]


def test_compare_betas_add_up(run: Run, tiny: Path) -> None:
    result = run(
        "compare", "--env", tiny, "--a", "cmc", "--b", "cmc", "--betas", "0", "--betas", "1",
        "--replicates", "2", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [p["beta"] for p in doc["envs"][0]["a"]["points"]] == [0.0, 1.0]


def test_repeated_params_and_envs_add_up(run: Run, tiny: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_bytes(tiny.read_bytes())
    result = run(
        "evaluate", "--env", tiny, "--env", other, "--controller", "asc", "--param",
        "max_samples=2", "--param", "threshold=0.5", "--replicates", "2", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    recs = records(result.stdout)
    assert [r["env"] for r in recs] == [str(tiny), str(other)]
    assert recs[0]["params"] == {"max_samples": 2, "threshold": 0.5}


def test_envvar_splits_list_options(run: Run, tiny: Path) -> None:
    result = run(
        "evaluate", "--env", tiny, "--controller", "cmc", "--replicates", "2", "--json",
        env={"AUTOTTS_EVALUATE_BETA": "0 0.5"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [r["beta"] for r in records(result.stdout)] == [0.0, 0.5]
    result = run(
        "evaluate", "--controller", "sc", "--replicates", "2", "--json",
        env={"AUTOTTS_EVALUATE_ENV": f"{tiny} {tiny}", "AUTOTTS_EVALUATE_BETAS": ""},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(records(result.stdout)) == 2


# ------------------------------------------------------------------------------ vocabulary
def test_choice_lists_match_the_library() -> None:
    assert MATCH_CHOICES == MATCH_MODES
    assert PROTOCOL_CHOICES == PROTOCOLS
    assert MAX_REPLICATES == LIBRARY_MAX_REPLICATES
    assert (SANDBOX_TIMEOUT_S, SANDBOX_MEMORY_MB) == (DISCOVER_TIMEOUT_S, DISCOVER_MEMORY_MB)


@pytest.mark.parametrize(
    ("name", "default"),
    [
        ("--match", "exact"),
        ("--workers", 1),
        ("--replicates", 100),
        ("--protocol", "official"),
        ("--seed", 0),
        ("--kappa-probe", 0.0),
        ("--chains", DEFAULT_CHAINS),
    ],
)
def test_one_default_per_name(name: str, default: object) -> None:
    found = {c: o.default for c in COMMANDS if (o := _option(c, name)) is not None}
    if name == "--replicates":
        found.pop("check-controller")  # a quick lint, documented as such
    if name == "--chains":
        found.pop("env synth")  # the synthetic generator's calibration (128 chains, as released)
        found.pop("serve")  # a server's per-request default, 16 (docs/live.md says why)
    assert found and set(found.values()) == {default}, found


def test_match_is_a_choice_everywhere() -> None:
    for command in COMMANDS:
        option = _option(command, "--match")
        if option is not None:
            assert isinstance(option.type, click.Choice), command
            assert tuple(option.type.choices) == MATCH_MODES, command


def test_betas_is_one_name_with_one_default() -> None:
    sweeps = [c for c in COMMANDS if _option(c, "--betas") is not None]
    assert sorted(sweeps) == ["check-controller", "compare", "discover", "evaluate", "report"]
    for command in sweeps:
        option = _option(command, "--betas")
        assert option is not None and "--beta" in option.opts  # the alias
        assert "0:1:0.1" in (option.help or ""), command
    assert tuple(round(0.1 * k, 10) for k in range(11)) == DEFAULT_BETAS


def test_timeout_means_the_sandbox_limit_only() -> None:
    for command in COMMANDS:
        option = _option(command, "--timeout")
        if option is not None:
            assert "Sandbox" in (option.help or ""), command
    for command in ("collect", "solve"):
        assert _option(command, "--timeout") is None
        assert _option(command, "--request-timeout") is not None


def test_help_hides_the_alias(run: Run) -> None:
    result = run("evaluate", "--help")
    assert "--betas" in result.stdout and "--beta," not in result.stdout


# ------------------------------------------------------------------------ nonsense numbers
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--controller", "sc", "--budget", "-5"], "'--budget': -5 must be > 0"),
        (["--controller", "sc", "--budget", "nan"], "'--budget': 'nan' is not a finite number"),
        (["--controller", "sc", "--kappa-probe", "-1"], "'--kappa-probe': -1 must be >= 0"),
        (["--controller", "sc", "--kappa-probe", "nan"], "'--kappa-probe': 'nan' is not a finite"),
        (["--controller", "sc", "--param", "k=0"], "sc: parameter k=0 must be at least 1"),
        (["--controller", "cmc", "--beta", "0:1:1e-9"], "at most 1001 are allowed"),
        (["--controller", "cmc", "--beta", "nan"], "outside [0, 1]"),
        (["--controller", "sc", "--replicates", "100000000000"], "1<=x<=100000"),
        (["--controller", "sc", "--workers", "100000"], f"between 1 and {max_workers()}"),
        (["--controller", "sc", "--workers", "0"], f"between 1 and {max_workers()}"),
    ],
)
def test_nonsense_numbers_are_one_error_line(
    run: Run, tiny: Path, args: list[str], expected: str
) -> None:
    assert expected in one_error_line(run("evaluate", "--env", tiny, *args, "--json"))


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("compare", ["--a", "sc", "--b", "cmc", "--budget", "-5"]),
        ("compare", ["--a", "sc", "--b", "cmc", "--betas", "0:1:1e-9"]),
        ("report", ["--controller", "sc", "-o", "out", "--kappa-probe", "nan"]),
        ("report", ["--controller", "sc", "-o", "out", "--workers", "100000"]),
        ("discover", ["--heldout-env", "x.json", "--run-dir", "r", "--kappa-probe", "-1"]),
        ("discover", ["--heldout-env", "x.json", "--run-dir", "r", "--price-in", "nan"]),
    ],
)
def test_nonsense_numbers_in_other_commands(
    run: Run,
    tiny: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    args: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    line = one_error_line(run(command, "--env" if command != "discover" else "--search-env",
                              tiny, *args))  # fmt: skip
    assert "Invalid value" in line or "allowed" in line
