"""Loading, validating, importing and writing environment files."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autotts.data import (
    ERR,
    EnvFormatError,
    EnvMeta,
    content_hash,
    hash_problem,
    import_released,
    load_env,
    write_env,
)
from autotts.data.io import FORMAT_KEY
from tests.builders import make_env, make_question, released_records

Records = list[dict[str, Any]]


def _records() -> Records:
    """Three valid questions, so that breaking question 2 shows the index is really reported."""
    chains = [(["1", "ERR", "2"], 1400, "2"), (["3"], 700, "3"), ([], 200, "2")]
    env = make_env([(chains, "2"), (chains, "3"), (chains, "2")])
    return released_records(env)


def _set_branch(j: int, part: int, value: object) -> Callable[[Records], Records]:
    def mutate(recs: Records) -> Records:
        recs[2]["each_branch"][j][part] = value
        return recs

    return mutate


def _set(key: str, value: object) -> Callable[[Records], Records]:
    def mutate(recs: Records) -> Records:
        recs[2][key] = value
        return recs

    return mutate


def _drop(key: str) -> Callable[[Records], Records]:
    def mutate(recs: Records) -> Records:
        del recs[2][key]
        return recs

    return mutate


DELETE = object()


def _own(**meta_changes: object) -> Callable[[Records], object]:
    """The records wrapped in the own format, with ``meta`` changed (DELETE drops a key;
    ``meta=...`` replaces the whole object)."""

    def mutate(recs: Records) -> object:
        meta: dict[str, Any] = {"model": "m", "dataset": "d", "interval_tokens": 500}
        doc: dict[str, Any] = {FORMAT_KEY: 1, "meta": meta, "questions": recs}
        for key, value in meta_changes.items():
            target = doc if key == "meta" else meta
            if value is DELETE:
                del target[key]
            else:
                target[key] = value
        return doc

    return mutate


def _chain(j: int, value: object) -> Callable[[Records], Records]:
    def mutate(recs: Records) -> Records:
        recs[2]["each_branch"][j] = value
        return recs

    return mutate


# name -> (mutation of the valid records, fragments the error line must contain)
QUESTION_CASES: dict[str, tuple[Callable[[Records], object], list[str]]] = {
    "missing gold": (_drop("gold_answer"), ["gold_answer", "missing"]),
    "missing chains": (_drop("each_branch"), ["each_branch", "missing"]),
    "gold not a string": (_set("gold_answer", 7), ["gold_answer", "expected a string, got int"]),
    "text not a string": (_set("question", None), ["'question'", "got null"]),
    "interval a string": (_set("probe_freq", "500"), ["probe_freq", "'500'"]),
    "interval differs": (_set("probe_freq", 250), ["probe_freq", "differs"]),
    "chains not a list": (_set("each_branch", {}), ["each_branch", "expected a list"]),
    "empty chain list": (_set("each_branch", []), ["each_branch", "empty chain list"]),
    "question not an object": (lambda r: [*r[:2], "q"], ["expected an object, got str"]),
    "chain not a triple": (_chain(1, [[], 5]), ["each_branch[1]", "[probe_answers, total_tokens"]),
    "chain not a list": (_chain(0, "c"), ["each_branch[0]", "final_answer]"]),
    "probes null": (_set_branch(1, 0, None), ["each_branch[1][0]", "probe_answers", "got null"]),
    "negative tokens": (_set_branch(1, 1, -5), ["each_branch[1][1]", "total_tokens", "-5"]),
    "float tokens": (_set_branch(1, 1, 700.0), ["each_branch[1][1]", "total_tokens", "700.0"]),
    "bool tokens": (_set_branch(1, 1, True), ["each_branch[1][1]", "total_tokens", "True"]),
    "probes not a list": (_set_branch(0, 0, "1"), ["each_branch[0][0]", "probe_answers"]),
    "probe an int": (
        _set_branch(1, 0, ["3", 4]),
        ["each_branch[1][0]", "probe_answers", "answer 1 is int"],
    ),
    "probe a list": (_set_branch(0, 0, [["1"]]), ["each_branch[0][0]", "answer 0 is list"]),
    "probe null": (_set_branch(2, 0, [None]), ["each_branch[2][0]", "answer 0 is null"]),
    "final not a string": (_set_branch(0, 2, 2), ["each_branch[0][2]", "final_answer"]),
    "bad question in own format": (
        lambda r: _own()(_set_branch(1, 1, -1)(r)),
        ["each_branch[1][1]", "total_tokens"],
    ),
}


def _write(path: Path, obj: object) -> Path:
    path.write_text(json.dumps(obj))
    return path


def _error_line(path: Path) -> str:
    with pytest.raises(EnvFormatError) as info:
        load_env(path)
    line = str(info.value)
    assert "\n" not in line and "\r" not in line, line
    assert str(path) in line, line
    return line


@pytest.mark.parametrize("case", list(QUESTION_CASES))
def test_malformed_question_is_one_line_naming_file_question_and_field(
    tmp_path: Path, case: str
) -> None:
    mutate, fragments = QUESTION_CASES[case]
    line = _error_line(_write(tmp_path / "env.json", mutate(_records())))
    assert "question 2" in line, line
    for fragment in fragments:
        assert fragment in line, (fragment, line)


FILE_CASES: dict[str, tuple[Callable[[Records], object], list[str]]] = {
    "not a list": (lambda r: {"questions": r}, ["top level", "dict"]),
    "a number": (lambda r: 3, ["top level", "int"]),
    "empty list": (lambda r: [], ["empty"]),
    "meta not an object": (_own(meta="m"), ["'meta'", "expected an object, got str"]),
    "meta missing": (_own(meta=DELETE), ["'meta'", "missing"]),
    "meta model not a string": (_own(model=3), ["'meta.model'", "expected a string, got int"]),
    "meta temperature a string": (
        _own(temperature="hot"),
        ["'meta.temperature'", "a number or null, got str"],
    ),
    "meta temperature a bool": (_own(temperature=True), ["'meta.temperature'", "bool"]),
    "meta extra not an object": (_own(extra=[]), ["'meta.extra'", "list"]),
    "meta interval differs": (
        _own(interval_tokens=1000),
        ["'meta.interval_tokens'", "1000", "500"],
    ),
    "own format version": (lambda r: {FORMAT_KEY: 2, "meta": {}, "questions": r}, ["version"]),
    "own format without questions": (lambda r: {FORMAT_KEY: 1, "meta": {}}, ["'questions'"]),
}


@pytest.mark.parametrize("case", list(FILE_CASES))
def test_malformed_file_is_one_line_naming_file_and_field(tmp_path: Path, case: str) -> None:
    mutate, fragments = FILE_CASES[case]
    line = _error_line(_write(tmp_path / "env.json", mutate(_records())))
    for fragment in fragments:
        assert fragment in line, (fragment, line)


def test_truncated_json(tmp_path: Path) -> None:
    text = json.dumps(_records())
    path = tmp_path / "cut.json"
    path.write_text(text[: len(text) // 2])
    assert "invalid JSON" in _error_line(path)


def test_unreadable_and_binary_files(tmp_path: Path) -> None:
    assert "no such file" in _error_line(tmp_path / "absent.json")
    binary = tmp_path / "bin.json"
    binary.write_bytes(b'["\xff\xfe"]')
    assert "UTF-8" in _error_line(binary)


def test_gc_is_restored_after_loading(tmp_path: Path) -> None:
    good = _write(tmp_path / "good.json", _records())
    bad = _write(tmp_path / "bad.json", [])
    assert gc.isenabled()
    load_env(good)
    assert gc.isenabled()
    with pytest.raises(EnvFormatError):
        load_env(bad)
    assert gc.isenabled()
    gc.disable()
    try:
        load_env(good)
        assert not gc.isenabled()  # a caller's own choice is left alone
    finally:
        gc.enable()


def test_released_file_guesses_names_and_interns_answers(tmp_path: Path) -> None:
    folder = tmp_path / "Qwen-X"
    folder.mkdir()
    env = load_env(_write(folder / "aime99.json", _records()))
    assert (env.meta.model, env.meta.dataset) == ("Qwen-X", "aime99")
    assert env.meta.source == env.path == str(folder / "aime99.json")
    assert env.interval == 500 and len(env) == 3
    q = env.questions[1]
    assert q.index == 1 and q.gold == "3" and q.tokens == [1400, 700, 200]
    assert q.probes == [["1", ERR, "2"], ["3"], []] and q.finals == ["2", "3", "2"]
    # equal answers are one object, as the replay loop's identity-cheap comparisons expect
    assert q.probes[0][2] is q.finals[0] is q.finals[2]


def test_import_write_load_round_trip(tmp_path: Path) -> None:
    released = _write(tmp_path / "released.json", _records())
    source = load_env(released)
    imported = import_released(
        released, model="Qwen3-9B", dataset="aime26", temperature=0.7, probe_prompt="Answer:"
    )
    assert imported.meta == EnvMeta(
        model="Qwen3-9B",
        dataset="aime26",
        interval_tokens=500,
        temperature=0.7,
        probe_prompt="Answer:",
        source=str(released),
        content_hash=content_hash(source),
    )
    own = tmp_path / "own.json"
    write_env(imported, own)
    loaded = load_env(own)
    assert loaded.meta == imported.meta
    assert loaded.path == str(own)
    assert content_hash(loaded) == content_hash(source) == imported.meta.content_hash
    for a, b in zip(loaded.questions, source.questions, strict=True):
        assert (a.index, a.text, a.gold) == (b.index, b.text, b.gold)
        assert (a.probes, a.tokens, a.finals) == (b.probes, b.tokens, b.finals)
    again = tmp_path / "again.json"
    write_env(loaded, again)
    assert again.read_bytes() == own.read_bytes()


def test_meta_extra_and_unknown_keys_survive(tmp_path: Path) -> None:
    env = make_env([([(["1"], 600, "1")], "1")])
    env = type(env)(meta=EnvMeta(model="m", extra={"note": "n"}), questions=env.questions)
    path = tmp_path / "own.json"
    write_env(env, path)
    doc = json.loads(path.read_text())
    doc["meta"]["added_later"] = [1, 2]  # a field from a newer autotts
    path.write_text(json.dumps(doc))
    assert load_env(path).meta.extra == {"note": "n", "added_later": [1, 2]}


def test_write_is_atomic_and_leaves_no_temp_file(tmp_path: Path) -> None:
    env = make_env([([(["1"], 600, "1")], "1")])
    write_env(env, tmp_path / "env.json")
    assert [p.name for p in tmp_path.iterdir()] == ["env.json"]


def test_real_file_imports_with_its_hash(replay: Path, tmp_path: Path) -> None:
    released = replay / "Qwen3-0.6B" / "aime24.json"
    imported = import_released(released, model="Qwen3-0.6B", dataset="aime24")
    assert len(imported) == 30 and {q.n_chains for q in imported.questions} == {128}
    write_env(imported, tmp_path / "own.json")
    assert content_hash(load_env(tmp_path / "own.json")) == imported.meta.content_hash


def test_question_arrays_pad_and_decode() -> None:
    q = make_question([(["7", ERR], 1000, "7"), ([], 300, "8"), (["8", "7", "9"], 1600, "8")], "5")
    arr = q.arrays
    assert arr.probe_ids.shape == (3, 3) and arr.probe_ids.dtype == np.int32
    assert arr.n_probes.tolist() == [2, 0, 3]
    assert arr.tokens.tolist() == [1000, 300, 1600] and arr.tokens.dtype == np.int64
    decoded = [
        [arr.answers[i] for i in row[:n]]
        for row, n in zip(arr.probe_ids.tolist(), arr.n_probes, strict=True)
    ]
    assert decoded == q.probes
    assert (arr.probe_ids[0, 2], arr.probe_ids[1].tolist()) == (-1, [-1, -1, -1])
    assert [arr.answers[i] for i in arr.final_ids] == q.finals
    assert arr.answers[arr.gold] == "5"  # a gold no chain reached still gets an id
    assert len(set(arr.answers)) == len(arr.answers) == 5
    assert q.arrays is arr  # computed once


def test_files_that_are_not_regular_are_refused(tmp_path: Path) -> None:
    assert "a directory, not a regular file" in _error_line(tmp_path)
    assert "a character device, not a regular file" in _error_line(Path("/dev/null"))


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    # a subprocess: before the check, opening the FIFO blocked forever (no writer comes)
    import os
    import subprocess
    import sys

    fifo = tmp_path / "env.json"
    os.mkfifo(fifo)
    code = "import sys; from autotts.data import load_env; load_env(sys.argv[1])"
    out = subprocess.run(
        [sys.executable, "-c", code, str(fifo)], capture_output=True, text=True, timeout=60
    )
    assert "a FIFO (named pipe), not a regular file" in out.stderr


def test_deeply_nested_json_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    assert "JSON nested too deeply" in _error_line(path)


def test_a_changed_file_fails_hash_verification(tmp_path: Path) -> None:
    path = tmp_path / "own.json"
    write_env(make_env([([(["1"], 600, "1"), (["2"], 700, "2")], "1")]), path)
    assert hash_problem(load_env(path, verify=True)) is None
    doc = json.loads(path.read_text())
    stored = doc["meta"]["content_hash"]
    doc["questions"][0]["each_branch"][1][1] = 650  # a chain's length edited by hand
    path.write_text(json.dumps(doc))
    env = load_env(path)  # not verified by default: loading stays fast
    computed = content_hash(env)
    assert hash_problem(env) == f"content hash mismatch: stored {stored}, computed {computed}"
    with pytest.raises(EnvFormatError) as info:
        load_env(path, verify=True)
    assert str(info.value).startswith(f"{path}: content hash mismatch: stored {stored}, ")
    released = _write(tmp_path / "released.json", released_records(env))
    assert hash_problem(load_env(released, verify=True)) is None  # nothing stored to check
