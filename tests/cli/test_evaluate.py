"""``autotts evaluate``: JSON records, tables, file controllers, errors, workers, env vars."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from autotts.cli.common import parse_params, parse_value
from autotts.data import write_env
from autotts.evaluate import DEFAULT_BETAS
from tests.builders import make_env

from .conftest import Run, one_error_line

REQUIRED = {
    "env", "model", "dataset", "controller", "beta", "params", "protocol", "replicates",
    "accuracy", "accuracy_ci95", "avg_total_tokens", "avg_sequential_tokens", "episodes",
    "errors", "error_examples",
}  # fmt: skip


def records(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_parse_value_order() -> None:
    assert parse_value("3") == 3 and type(parse_value("3")) is int
    assert parse_value("0.25") == 0.25
    assert parse_value("1e3") == 1000.0
    assert parse_value("true") is True and parse_value("False") is False
    assert parse_value("abc") == "abc"
    assert parse_params(["k=64", "name = x=y"]) == {"k": 64, "name": "x=y"}


def test_sc_json_by_hand(run: Run, tiny: Path) -> None:
    result = run(
        "evaluate", "--env", tiny, "--controller", "sc", "--param", "k=2",
        "--replicates", "3", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    (rec,) = records(result.stdout)
    assert set(rec) >= REQUIRED
    assert "per_question_accuracy" not in rec
    assert rec["env"] == str(tiny)
    assert (rec["model"], rec["dataset"], rec["controller"]) == ("tiny", "hand", "sc")
    assert rec["beta"] is None
    assert rec["params"] == {"k": 2}
    assert (rec["protocol"], rec["replicates"], rec["episodes"]) == ("official", 3, 6)
    assert rec["accuracy"] == 50.0  # question 0 right, question 1 wrong, in every order
    assert rec["accuracy_ci95"] == [0.0, 100.0]
    assert rec["avg_total_tokens"] == (400 + 3000) / 2
    assert rec["avg_sequential_tokens"] == (300 + 2000) / 2
    assert rec["errors"] == 0 and rec["error_examples"] == []


def test_beta_sweep_and_default_beta(run: Run, tiny: Path) -> None:
    result = run("evaluate", "--env", tiny, "--controller", "cmc", "--beta", "0:1:0.5", "--json")
    assert result.exit_code == 0, result.output
    assert [r["beta"] for r in records(result.stdout)] == [0.0, 0.5, 1.0]
    result = run("evaluate", "--env", tiny, "--controller", "cmc", "--json")
    assert [r["beta"] for r in records(result.stdout)] == list(DEFAULT_BETAS)  # 0, 0.1, ..., 1
    result = run("evaluate", "--env", tiny, "--controller", "cmc", "--beta", "0.2,0.7", "--json")
    assert [r["beta"] for r in records(result.stdout)] == [0.2, 0.7]


def test_envvars_set_options(run: Run, tiny: Path) -> None:
    result = run(
        "evaluate", "--env", tiny, "--controller", "sc", "--param", "k=2",
        env={"AUTOTTS_EVALUATE_REPLICATES": "4", "AUTOTTS_EVALUATE_JSON": "1"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert records(result.stdout)[0]["replicates"] == 4


def test_table_with_mean_row(run: Run, tiny: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_bytes(tiny.read_bytes())
    result = run(
        "evaluate", "--env", tiny, "--env", other, "--controller", "sc", "--param", "k=2",
        "--replicates", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "tiny" in result.stdout and "hand" in result.stdout
    assert "50.00" in result.stdout and "1,700" in result.stdout
    assert "mean" in result.stdout


METHOD = '''
import numpy as np


class OptimalController:
    """Original AutoTTS style: probe chains to the end, then read one more whole."""

    def __init__(self, config=None, **kw):
        self.n_probed = 1 + int(round(2 * config["beta"]))

    def solve(self, question):
        answers = []
        for _ in range(self.n_probed):
            answer, index, finished = question.probe_new()
            while not finished:
                answer, finished = question.probe_more(index)
            answers.append(answer)
        answers.append(question.get_new_branch_final_answer())
        sequential, total = question.get_seq_and_total_tokens()
        assert 0 < sequential <= total
        if answers[0] == "{fail_on}":
            raise RuntimeError("boom on " + answers[0])
        values, counts = np.unique(np.array(answers), return_counts=True)
        return str(values[np.argmax(counts)])
'''


def _method(tmp_path: Path, fail_on: str = "never") -> str:
    path = tmp_path / "method.py"
    path.write_text(METHOD.replace("{fail_on}", fail_on))
    return f"{path}:OptimalController"


@pytest.fixture
def uniform(tmp_path: Path) -> Path:
    """Three identical chains per question, so every order costs the same: question 0 chains
    have probes at 500 and 1000 tokens and end at 1200 with the gold "A"; question 1 chains end
    at 700 with "B" (gold "C")."""
    env = make_env(
        [
            ([(["X", "A"], 1200, "A")] * 3, "A"),
            ([(["B"], 700, "B")] * 3, "C"),
        ]
    )
    write_env(env, tmp_path / "uniform.json")
    return tmp_path / "uniform.json"


def test_original_style_file_controller(run: Run, uniform: Path, tmp_path: Path) -> None:
    spec = _method(tmp_path)
    result = run("evaluate", "--env", uniform, "--controller", spec, "--beta", "0.5", "--json")
    assert result.exit_code == 0, result.output
    (rec,) = records(result.stdout)
    assert (rec["controller"], rec["beta"], rec["errors"]) == (spec, 0.5, 0)
    assert rec["accuracy"] == 50.0
    assert rec["avg_total_tokens"] == (3 * 1200 + 3 * 700) / 2  # two probed + one read chain
    assert rec["avg_sequential_tokens"] == (1200 + 700) / 2


def test_file_controller_without_beta_gets_none(run: Run, uniform: Path, tmp_path: Path) -> None:
    # the class indexes config["beta"], so constructing it without a beta fails, as one line
    line = one_error_line(run("evaluate", "--env", uniform, "--controller", _method(tmp_path)))
    assert "constructing failed" in line


def test_episode_errors_are_reported(run: Run, uniform: Path, tmp_path: Path) -> None:
    spec = _method(tmp_path, fail_on="B")
    result = run(
        "evaluate", "--env", uniform, "--controller", spec, "--beta", "0.5",
        "--replicates", "5", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (rec,) = records(result.stdout)
    assert rec["errors"] == 5 and rec["episodes"] == 10
    assert rec["accuracy"] == 50.0
    assert rec["error_examples"][0] == "question 1, replicate 0: RuntimeError: boom on B"
    (warning,) = result.stderr.splitlines()
    assert warning.startswith("autotts: warning: tiny/hand beta=0.5: 5 of 10 episodes raised")
    assert "question 1" in warning and "RuntimeError: boom on B" in warning


def test_every_episode_failing_exits_2(run: Run, tiny: Path, tmp_path: Path) -> None:
    path = tmp_path / "fail.py"
    path.write_text("class Fail:\n    def solve(self, question):\n        raise KeyError(7)\n")
    result = run("evaluate", "--env", tiny, "--controller", f"{path}:Fail", "--replicates", "2")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("autotts: warning: tiny/hand: 4 of 4 episodes raised")
    assert lines[-1].startswith("autotts: error: every one of the 4 episodes raised")
    assert "Traceback" not in result.output


def _random_env(path: Path, seed: int = 1) -> Path:
    rng = random.Random(seed)
    questions = []
    for _ in range(6):
        chains = []
        for _ in range(16):
            n = rng.randint(1, 8)
            probes = [rng.choice("ABCE") for _ in range(n)]
            chains.append((probes, 500 * n + rng.randint(0, 499), rng.choice("AAB")))
        questions.append((chains, "A"))
    write_env(make_env(questions), path)
    return path


def test_workers_give_identical_numbers(run: Run, tmp_path: Path) -> None:
    path = _random_env(tmp_path / "random.json")
    args = ["evaluate", "--env", path, "--controller", "cmc", "--beta", "0:1:0.5",
            "--replicates", "7", "--json"]  # fmt: skip
    serial, parallel = run(*args, "--workers", "1"), run(*args, "--workers", "2")
    assert serial.exit_code == parallel.exit_code == 0, serial.output + parallel.output
    assert serial.stdout == parallel.stdout  # byte for byte: no wall clock in --json
    assert "seconds" not in records(serial.stdout)[0]


LEAN_CHECK = """
import sys
import autotts.evaluate
from autotts.cli import cli

real = autotts.evaluate.evaluate
seen = {}

def spy(*args, **kwargs):
    seen["numpy before the sweep"] = "numpy" in sys.modules
    return real(*args, **kwargs)

autotts.evaluate.evaluate = spy
cli(["evaluate", "--env", sys.argv[1], "--controller", "cmc", "--json"], standalone_mode=False)
seen["rich"] = "rich" in sys.modules
print(seen)
"""


def test_json_path_is_lean(tiny: Path) -> None:
    """Benchmarks time whole ``evaluate --json`` processes: no rich at all, and no numpy
    imported by the CLI, the option checks or the file loading."""
    proc = subprocess.run(
        [sys.executable, "-c", LEAN_CHECK, str(tiny)], capture_output=True, text=True, check=True
    )
    assert proc.stdout.splitlines()[-1] == "{'numpy before the sweep': False, 'rich': False}"


def test_reference_number_sc64(run: Run, replay: Path) -> None:
    env = replay / "Qwen3-4B" / "aime25.json"
    result = run("evaluate", "--env", env, "--controller", "sc", "--replicates", "100", "--json")
    assert result.exit_code == 0, result.output
    (rec,) = records(result.stdout)
    assert rec["accuracy"] == pytest.approx(76.63, abs=0.01)
    assert rec["avg_total_tokens"] == pytest.approx(1088065.316, abs=0.5)
    assert (rec["model"], rec["dataset"], rec["episodes"]) == ("Qwen3-4B", "aime25", 3000)
