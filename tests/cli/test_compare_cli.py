"""``autotts compare``: the JSON document, the table, file controllers, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from autotts.controllers import ControllerSpec
from autotts.data import load_env, write_env
from autotts.data.synth import synthesize
from autotts.evaluate import Protocol, compare
from tests.conftest import ROOT

from .conftest import Run, one_error_line

QUORUM = str(ROOT / "examples" / "quorum.py") + ":Quorum"


@pytest.fixture(scope="module")
def envs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("compare")
    paths = []
    for seed in (1, 2):
        path = d / f"synth{seed}.json"
        write_env(synthesize(n_questions=8, n_chains=32, seed=seed, model=f"m{seed}"), path)
        paths.append(path)
    return paths


def without_seconds(value: Any) -> Any:
    """The document with every ``seconds`` field (wall-clock time) removed."""
    if isinstance(value, dict):
        return {k: without_seconds(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [without_seconds(v) for v in value]
    return value


def test_json_is_one_document_matching_the_library(run: Run, envs: list[Path]) -> None:
    result = run(
        "compare", "--env", *envs, "--a", "sc", "--a-param", "k=4", "--b", "cmc",
        "--betas", "0:1:0.5", "--replicates", "3", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    doc = json.loads(result.stdout)  # one document, nothing else
    expected = compare(
        [load_env(str(p)) for p in envs], ControllerSpec("sc", {"k": 4}), ControllerSpec("cmc"),
        [0.0, 0.5, 1.0], protocol=Protocol(replicates=3),
    ).to_json()  # fmt: skip
    assert without_seconds(doc) == without_seconds(json.loads(json.dumps(expected)))
    assert (doc["a"]["label"], doc["b"]["label"]) == ("sc k=4", "cmc")
    assert [e["model"] for e in doc["envs"]] == ["m1", "m2"]
    assert [p["beta"] for p in doc["envs"][0]["b"]["points"]] == [0.0, 0.5, 1.0]
    assert [p["beta"] for p in doc["envs"][0]["a"]["points"]] == [None]
    assert "per_question_accuracy" not in doc["envs"][0]["a"]["points"][0]
    assert doc["overall"]["envs"] == 2 and doc["bootstrap"]["resamples"] == 1000


def test_table_has_env_rows_and_the_overall_row(run: Run, envs: list[Path]) -> None:
    result = run(
        "compare", "--env", *envs, "--a", "sc", "--a-param", "k=4", "--b", "cmc",
        "--betas", "0,1", "--replicates", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "A = sc k=4, B = cmc" in result.stdout
    assert any(line.lstrip().startswith("m1/synth") for line in lines)
    assert any(line.lstrip().startswith("m2/synth") for line in lines)
    (overall,) = [line for line in lines if line.lstrip().startswith("overall")]
    assert "envs" in overall and "…" in overall


def test_undefined_advantage_is_na_and_null(run: Run, envs: list[Path]) -> None:
    # two fixed baselines: one point each, at different token counts
    args = ["compare", "--env", envs[0], "--a", "sc", "--a-param", "k=2", "--b", "sc",
            "--b-param", "k=8", "--replicates", "2"]  # fmt: skip
    table = run(*args)
    assert table.exit_code == 0, table.output
    assert "n/a" in table.stdout
    doc = json.loads(run(*args, "--json").stdout)
    assert doc["envs"][0]["advantage"] is None and doc["overall"]["advantage"] is None
    assert doc["envs"][0]["advantage_ci95"] is None and doc["overall"]["envs_used"] == 0
    # the token ratio needs no overlap in tokens: B's tokens over A's, if B reaches A's accuracy
    (a,), (b,) = doc["envs"][0]["a"]["points"], doc["envs"][0]["b"]["points"]
    ratio = doc["envs"][0]["token_ratio"]
    if b["accuracy"] >= a["accuracy"]:
        assert ratio == pytest.approx(b["avg_total_tokens"] / a["avg_total_tokens"])
        assert doc["overall"]["token_ratio"] == pytest.approx(ratio)
    else:
        assert ratio is None and doc["envs"][0]["token_ratio_ci95"] is None
    ignored = run(*args, "--betas", "0.5")
    assert ignored.exit_code == 0
    assert ignored.stderr.splitlines() == [
        "autotts: warning: --betas is ignored: neither controller takes a beta"
    ]


def test_a_controller_against_itself_is_zero(run: Run, envs: list[Path]) -> None:
    result = run("compare", "--env", *envs, "--a", "cmc", "--b", "cmc", "--betas", "0,1",
                 "--replicates", "2", "--json")  # fmt: skip
    doc = json.loads(result.stdout)
    for row in [*doc["envs"], doc["overall"]]:
        assert row["advantage"] == 0.0 and row["advantage_ci95"] == [0.0, 0.0]
        assert row["token_ratio"] <= 1.0  # exactly 1 unless the sweep plateaus or dips


def test_file_controllers(run: Run, envs: list[Path]) -> None:
    original = str(ROOT / "examples" / "original_method.py") + ":OptimalController"
    args = ["compare", "--env", envs[0], "--a", QUORUM, "--b", original, "--betas", "0,1",
            "--replicates", "2", "--json"]  # fmt: skip
    result = run(*args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["a"]["controller"], doc["b"]["controller"]) == (QUORUM, original)
    assert [p["beta"] for p in doc["envs"][0]["b"]["points"]] == [0.0, 1.0]
    # the same strategy written both ways (README): no difference at all
    assert doc["overall"]["advantage"] == 0.0


def test_sandbox_gives_the_same_document(run: Run, envs: list[Path]) -> None:
    args = ["compare", "--env", *envs, "--a", "cmc", "--b", QUORUM, "--betas", "0,1",
            "--replicates", "2", "--json"]  # fmt: skip
    plain, sandboxed = run(*args), run(*args, "--sandbox", "--workers", "2", "--timeout", "60")
    assert plain.exit_code == 0 and sandboxed.exit_code == 0, sandboxed.output
    assert without_seconds(json.loads(sandboxed.stdout)) == without_seconds(
        json.loads(plain.stdout)
    )


def test_every_episode_of_a_side_raising_exits_2(
    run: Run, envs: list[Path], tmp_path: Path
) -> None:
    path = tmp_path / "fail.py"
    path.write_text("class Fail:\n    def solve(self, question):\n        raise KeyError(7)\n")
    result = run("compare", "--env", envs[0], "--a", "sc", "--b", f"{path}:Fail",
                 "--replicates", "1")  # fmt: skip
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines()[-1].startswith("autotts: error: every one of the")
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--a", "nope", "--b", "cmc"], "nope"),
        (["--a", "cmc", "--b", "missing.py:X"], "missing.py"),
        (["--a", "cmc", "--b", "sc", "--betas", "2"], "outside [0, 1]"),
        (["--a", "cmc", "--b", "sc", "--betas", "0:x:1"], "--betas"),
        (["--a", "sc", "--a-param", "k", "--b", "cmc"], "bad --param"),
        (["--a", "sc", "--b", "cmc", "--b-param", "width=3"], "cmc"),
        (["--a", "sc", "--b", "cmc", "--match", "fuzzy"], "--match"),
        (["--a", "sc", "--b", "cmc", "--protocol", "nope"], "protocol"),
        (["--a", "sc", "--b", "cmc", "--sandbox"], "--sandbox"),
        (["--a", "sc", "--b", "cmc", "--timeout", "3"], "--sandbox"),
    ],
)
def test_bad_input_is_one_line(run: Run, envs: list[Path], args: list[str], message: str) -> None:
    line = one_error_line(run("compare", "--env", envs[0], *args, "--replicates", "1"))
    assert message in line


def test_bad_environments_are_one_line(run: Run, envs: list[Path], tmp_path: Path) -> None:
    assert "no environment" in one_error_line(run("compare", "--a", "sc", "--b", "cmc"))
    missing = tmp_path / "missing.json"
    assert str(missing) in one_error_line(run("compare", "--env", missing, "--a", "sc",
                                              "--b", "cmc"))  # fmt: skip
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert str(broken) in one_error_line(run("compare", "--env", broken, "--a", "sc",
                                             "--b", "cmc"))  # fmt: skip
    twice = one_error_line(run("compare", "--env", envs[0], envs[0], "--a", "sc", "--b", "cmc"))
    assert "given twice" in twice
