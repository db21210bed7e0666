"""``autotts report`` and ``autotts episode``: outputs, options with several values, errors."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click
import pytest

from autotts import __version__
from autotts.cli.options import GreedyOption
from autotts.data import load_env
from autotts.evaluate import EvalSettings, Protocol, run_episode
from autotts.report import Provenance, episode_grid, parse_controller
from tests.cli.conftest import one_error_line

from .conftest import Run
from .test_report import PNG_SIGNATURE, check_image


def test_options_with_several_values() -> None:
    seen: dict[str, object] = {}

    @click.command()
    @click.option("--env", cls=GreedyOption)
    @click.option("--controller", cls=GreedyOption)
    @click.option("-o")
    @click.argument("rest", nargs=-1)
    def cmd(env: tuple[str, ...], controller: tuple[str, ...], o: str, rest: tuple[str]) -> None:
        seen.update(env=env, controller=controller, o=o, rest=rest)

    cmd.main(
        ["--env", "a", "b", "--controller=sc", "cmc", "-o", "out", "--env", "c", "--", "x"],
        standalone_mode=False,
    )
    assert seen == {
        "env": ("a", "b", "c"), "controller": ("sc", "cmc"), "o": "out", "rest": ("x",),
    }  # fmt: skip


def test_report_end_to_end(run: Run, env_files: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "new" / "report"
    result = run(
        "report", "--env", *env_files[:2], "--controller", "sc:k=1,4", "cmc:beta=0,1",
        "--replicates", "2", "--search-dataset", "second", "--map-question", "1",
        "--map-controller", "cmc", "-o", out, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["output"] == str(out)
    assert summary["points"] == 2 * (2 + 2)  # environments × sweep points
    assert summary["episodes"] == 2 * 5 * 2 * 4  # × questions × replicates
    for name in summary["files"]:
        assert (out / name).is_file()
        if name.endswith((".png", ".svg")):
            check_image(out / name)
    table = (out / "table.md").read_text()
    assert "Search: second; held-out: first" in table and "| cmc β=1 |" in table
    (cmc_map,) = json.loads((out / "episode_map.json").read_text())["maps"]
    assert (cmc_map["controller"], cmc_map["question"]) == ("cmc β=0", 1)
    # what made it, the same in the page, the JSON files and the --json line
    made = summary["autotts"]
    assert made["version"] == __version__
    assert (
        made["command"].startswith("autotts report --env ")
        and "--map-controller cmc" in made["command"]
    )
    assert datetime.fromisoformat(made["created"]).tzinfo is not None
    for name in ("results.json", "episode_map.json"):
        assert json.loads((out / name).read_text())["autotts"] == made
    assert Provenance(**made).html() in (out / "index.html").read_text()


def test_episode_image_and_json(run: Run, env_files: list[Path], tmp_path: Path) -> None:
    env_file = env_files[2]
    image = tmp_path / "map.png"
    result = run(
        "episode", "--env", env_file, "--question", "3", "--replicate", "2",
        "--controller", "cmc", "sc:k=8", "-o", image,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {image}\n"
    assert image.read_bytes()[:8] == PNG_SIGNATURE
    result = run(
        "episode", "--env", env_file, "--question", "3", "--replicate", "2",
        "--controller", "cmc", "sc:k=8", "--beta", "0.8", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["controller"] for r in records] == ["cmc β=0.8", "sc k=8"]
    env = load_env(env_file)
    protocol = Protocol("official", 3)
    for record, spec in zip(records, ("cmc:beta=0.8", "sc:k=8"), strict=True):
        rc = parse_controller(spec)
        episode = run_episode(env, rc.point(rc.map_value()), 3, 2, EvalSettings(protocol))
        grid = episode_grid(env, episode, protocol.orders(3, 24)[2], record["controller"])
        assert {k: record[k] for k in ("cells", "tokens", "probes", "chains")} == {
            k: grid.to_json()[k] for k in ("cells", "tokens", "probes", "chains")
        }
        assert record["tokens"] == episode.session.tokens


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--question", "5", "--controller", "cmc"), "question 5 is out of range"),
        (("--question", "0", "--controller", "nope"), "unknown controller 'nope'"),
        (("--question", "0", "--controller", "cmc", "--replicate", "-1"), "replicate -1"),
        (("--question", "0", "--controller", "cmc:beta=0,1"), "not a sweep"),
        (("--question", "0", "--controller", "cmc", "-o", "map.txt"), "written as .png"),
        (("--question", "0", "--controller", "cmc"), "give -o FILE.png"),
    ],
)
def test_episode_errors(
    run: Run, env_files: list[Path], args: tuple[str, ...], message: str
) -> None:
    if "-o" not in args and "give -o" not in message:
        args = (*args, "--json")
    line = one_error_line(run("episode", "--env", env_files[0], *args))
    assert message in line, line


def test_unwritable_outputs(run: Run, env_files: list[Path], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    line = one_error_line(
        run("episode", "--env", env_files[0], "--question", "0", "--controller", "cmc",
            "-o", blocker / "map.png")
    )  # fmt: skip
    assert "does not exist" in line
    line = one_error_line(
        run("report", "--env", env_files[0], "--controller", "sc", "-o", blocker / "report")
    )
    assert "cannot create the report folder" in line
    line = one_error_line(run("report", "--env", env_files[0], "--controller", "sc", "-o", blocker))
    assert "exists and is not a directory" in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--controller", "nope"), "unknown controller 'nope'"),
        (("--controller", "sc", "sc"), "both labelled 'sc'"),
        (("--controller", "cmc", "--betas", "0,2"), "beta 2 is outside [0, 1]"),
        (("--controller", "sc", "--map-question", "9"), "--map-question 9 is out of range"),
        (("--controller", "sc", "--map-replicate", "300"), "--map-replicate 300 is out of range"),
        (("--controller", "sc", "--map-controller", "cmc"), "--map-controller 'cmc' is not"),
        (("--controller", "sc", "--map-env", "x/y"), "--map-env 'x/y' is not one of"),
        (("--controller", "sc", "--search-dataset", "z"), "--search-dataset 'z' is not"),
        (("--controller", "sc", "--protocol", "bad"), "'bad' is not one of 'official'"),
    ],
)
def test_report_errors(
    run: Run, env_files: list[Path], tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    line = one_error_line(run("report", "--env", *env_files, "-o", tmp_path / "r", *args))
    assert message in line, line


def test_report_refuses_two_files_of_one_environment(
    run: Run, env_files: list[Path], tmp_path: Path
) -> None:
    copy = tmp_path / "copy.json"
    copy.write_bytes(env_files[0].read_bytes())
    line = one_error_line(
        run("report", "--env", env_files[0], copy, "--controller", "sc", "-o", tmp_path / "r")
    )
    assert "are both small/first" in line
