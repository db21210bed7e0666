"""Every command that takes environments finds them by name, and checks what it loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autotts.data import content_hash, load_env
from tests.builders import released_records

from .conftest import Run, one_error_line, tiny_env_file


@pytest.fixture
def data(tmp_path: Path) -> dict[str, str]:
    """A replay directory with M1/tiny.json and M2/tiny.json; the variables that point at it."""
    replay = tmp_path / "replay"
    for model in ("M1", "M2"):
        (replay / model).mkdir(parents=True)
        tiny_env_file(replay / model / "tiny.json")
    return {"AUTOTTS_REPLAY_DIR": str(replay)}


@pytest.mark.parametrize(
    "args",
    [
        ["evaluate", "--env", "*/tiny", "--controller", "sc", "--param", "k=2", "--json"],
        ["compare", "--env", "M1/tiny", "--a", "sc", "--b", "sc", "--replicates", "2", "--json"],
        ["env", "info", "M1/tiny", "M2/tiny.json", "--json", "--replicates", "2"],
        ["episode", "--env", "M2/tiny", "--question", "0", "--controller", "sc", "--json"],
    ],
    ids=["evaluate", "compare", "env-info", "episode"],
)
def test_commands_take_short_names(run: Run, data: dict[str, str], args: list[str]) -> None:
    result = run(*args, env=data)
    assert result.exit_code == 0, result.output


def test_evaluate_expands_a_quoted_glob(run: Run, data: dict[str, str]) -> None:
    result = run("evaluate", "--env", "*/tiny", "--controller", "sc", "--json", env=data)
    assert [json.loads(x)["env"] for x in result.stdout.splitlines()] == [
        str(Path(data["AUTOTTS_REPLAY_DIR"]) / m / "tiny.json") for m in ("M1", "M2")
    ]


def test_import_and_report_take_short_names(run: Run, data: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "own.json"
    result = run("env", "import", "M1/tiny", "--model", "m", "--dataset", "d", "-o", out, env=data)
    assert result.exit_code == 0, result.output
    result = run("report", "--env", "M1/tiny", "--controller", "sc:k=1,2", "--replicates", "2",
                 "-o", tmp_path / "report", env=data)  # fmt: skip
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "start"),
    [
        (["evaluate", "--env", "*/aime25", "--controller", "sc"], "--env '*/aime25'"),
        (["compare", "--env", "M1/nope", "--a", "sc", "--b", "sc"], "--env 'M1/nope'"),
        (["report", "--env", "M1/nope", "--controller", "sc", "-o", "r"], "--env 'M1/nope'"),
        (["episode", "--env", "M1/nope", "--question", "0", "--controller", "sc", "--json"],
         "--env 'M1/nope'"),
        (["env", "info", "M1/nope"], "M1/nope: no such file"),
        (["env", "import", "M1/nope", "--model", "m", "--dataset", "d", "-o", "o.json"],
         "M1/nope: no such file"),
        (["discover", "--search-env", "M1/tiny", "--heldout-env", "*/nope", "--run-dir", "r"],
         "--heldout-env '*/nope': no environment matches"),
        (["check-controller", "examples/quorum.py", "--env", "M1/nope"], "--env 'M1/nope'"),
    ],
    ids=["evaluate", "compare", "report", "episode", "info", "import", "discover", "check"],
)  # fmt: skip
def test_names_that_match_nothing_are_one_line(
    run: Run, data: dict[str, str], args: list[str], start: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])  # examples/ for check-controller
    line = one_error_line(run(*args, env=data))
    assert line.startswith(f"autotts: error: {start}"), line
    assert f"$AUTOTTS_REPLAY_DIR={data['AUTOTTS_REPLAY_DIR']}" in line
    assert line.endswith("make one with 'autotts env synth -o demo.json'")


def _tampered(tiny: Path) -> tuple[str, str]:
    """Edits a chain's length in ``tiny``; returns the stored and the true content hash."""
    doc = json.loads(tiny.read_text())
    doc["questions"][0]["each_branch"][0][1] = 150
    tiny.write_text(json.dumps(doc))
    return doc["meta"]["content_hash"], content_hash(load_env(tiny))


def test_info_checks_the_stored_hash(run: Run, tiny: Path, tmp_path: Path) -> None:
    def info(path: Path) -> dict[str, str]:
        out = run("env", "info", path, "--json", "--replicates", "2")
        assert out.exit_code == 0, out.output
        return json.loads(out.stdout)

    assert info(tiny)["hash"] == "ok"
    released = tmp_path / "released.json"
    released.write_text(json.dumps(released_records(load_env(tiny))))
    assert info(released)["hash"] == "none stored"
    stored, computed = _tampered(tiny)
    record = info(tiny)
    assert record["hash"] == f"MISMATCH (stored {stored}, computed {computed})"
    assert record["content_hash"] == computed
    table = run("env", "info", tiny, "--replicates", "2")
    assert "MISMATCH" in table.stdout


def test_evaluating_a_changed_file_is_refused(run: Run, tiny: Path) -> None:
    stored, computed = _tampered(tiny)
    line = one_error_line(run("evaluate", "--env", tiny, "--controller", "sc"))
    assert f"{tiny}: content hash mismatch: stored {stored}, computed {computed}" in line
