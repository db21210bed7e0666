"""Every user mistake ends as one line ``autotts: error: ...`` on stderr and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import make_env, released_records

from .conftest import Run, one_error_line


def _released(tmp_path: Path) -> list[dict[str, object]]:
    env = make_env(
        [
            ([(["1"], 600, "1"), (["2"], 700, "1")], "1"),
            ([(["3"], 800, "3")], "3"),
        ]
    )
    return released_records(env)


def _truncated(recs: list[dict[str, object]]) -> str:
    return json.dumps(recs)[:-20]


def _not_a_list(recs: list[dict[str, object]]) -> str:
    return json.dumps({"questions": recs})


def _missing_key(recs: list[dict[str, object]]) -> str:
    del recs[1]["gold_answer"]
    return json.dumps(recs)


def _negative_tokens(recs: list[dict[str, object]]) -> str:
    recs[0]["each_branch"][1][1] = -5  # type: ignore[index]
    return json.dumps(recs)


def _empty_chains(recs: list[dict[str, object]]) -> str:
    recs[1]["each_branch"] = []
    return json.dumps(recs)


MALFORMED = {
    "truncated": (_truncated, ["invalid JSON"]),
    "not_a_list": (_not_a_list, ["expected a JSON list"]),
    "missing_key": (_missing_key, ["question 1", "gold_answer", "missing"]),
    "negative_tokens": (_negative_tokens, ["question 0", "each_branch[1][1]", "-5"]),
    "empty_chains": (_empty_chains, ["question 1", "empty chain list"]),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
@pytest.mark.parametrize("command", ["evaluate", "info"])
def test_malformed_env_file(run: Run, tmp_path: Path, case: str, command: str) -> None:
    corrupt, expected = MALFORMED[case]
    path = tmp_path / f"{case}.json"
    path.write_text(corrupt(_released(tmp_path)))
    if command == "evaluate":
        result = run("evaluate", "--env", path, "--controller", "sc", "--json")
    else:
        result = run("env", "info", path)
    line = one_error_line(result)
    assert str(path) in line
    for part in expected:
        assert part in line


def test_missing_env_file(run: Run, tmp_path: Path) -> None:
    line = one_error_line(run("evaluate", "--env", tmp_path / "nope.json", "--controller", "sc"))
    assert f"--env '{tmp_path / 'nope.json'}': no such file" in line
    assert "$AUTOTTS_REPLAY_DIR" in line and "autotts env synth -o demo.json" in line


def test_env_file_is_a_directory(run: Run, tmp_path: Path) -> None:
    line = one_error_line(run("env", "info", tmp_path))
    assert str(tmp_path) in line and "cannot read" in line


def test_env_files_that_hang_or_crash_are_one_line(run: Run, tmp_path: Path) -> None:
    import os

    fifo, deep = tmp_path / "fifo.json", tmp_path / "deep.json"
    os.mkfifo(fifo)  # opening it used to block forever
    deep.write_text("[" * 100_000 + "]" * 100_000)  # a RecursionError traceback
    for path, problem in ((fifo, "a FIFO (named pipe), not a regular file"),
                          (deep, "JSON nested too deeply")):  # fmt: skip
        for args in (["env", "info", path], ["evaluate", "--env", path, "--controller", "sc"]):
            line = one_error_line(run(*args))
            assert line.startswith(f"autotts: error: {path}: ") and problem in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--controller", "nosuch"], "unknown controller 'nosuch'"),
        (["--controller", "missing.py:Cls"], "controller file not found"),
        (["--controller", "cmc", "--beta", "abc"], "bad beta 'abc'"),
        (["--controller", "cmc", "--beta", "1.5"], "outside [0, 1]"),
        (["--controller", "cmc", "--beta", "1:0:0.1"], "START:STOP:STEP"),
        (["--controller", "sc", "--beta", "0.5"], "takes no beta"),
        (["--controller", "sc", "--param", "k"], "bad --param 'k'"),
        (["--controller", "sc", "--param", "k=abc"], "sc"),
        (["--controller", "sc", "--param", "kk=3"], "unknown parameter(s) kk"),
        (["--controller", "sc", "--param", "k=2", "--param", "k=3"], "given twice"),
        (
            ["--controller", "sc", "--protocol", "bogus"],
            "'--protocol': 'bogus' is not one of 'official', 'subsample'",
        ),
        (["--controller", "sc", "--match", "fuzzy"], "'--match': 'fuzzy' is not one of"),
        (
            ["--controller", "sc", "--replicates", "0"],
            "'--replicates': 0 is not in the range 1<=x<=100000",
        ),
    ],
)
def test_bad_options(run: Run, tiny: Path, args: list[str], expected: str) -> None:
    line = one_error_line(run("evaluate", "--env", tiny, *args, "--json"))
    assert expected in line


def test_file_controller_that_fails_to_import(run: Run, tiny: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def broken(:\n")
    line = one_error_line(run("evaluate", "--env", tiny, "--controller", f"{bad}:X"))
    assert "syntax error" in line


def test_output_directory_missing(run: Run, tmp_path: Path) -> None:
    line = one_error_line(run("env", "synth", "-o", tmp_path / "no" / "where.json"))
    assert "does not exist" in line


def test_real_process_prints_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("[{")
    proc = subprocess.run(
        [sys.executable, "-m", "autotts", "evaluate", "--env", str(path), "--controller", "sc"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(f"autotts: error: {path}: invalid JSON")
