"""``autotts env questions``: the questions file of collect and solve, from an environment."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from autotts.data import Question, write_env
from autotts.live import read_questions
from tests.builders import make_env, released_records

from .conftest import Run, one_error_line

CHAINS = [(["1"], 600, "1")]


def test_a_released_file_gives_dataset_index_ids(run: Run, tmp_path: Path) -> None:
    env = make_env([(CHAINS, "70"), (CHAINS, "\\frac{1}{2}")], dataset="aime99")
    released = tmp_path / "M" / "aime99.json"  # the dataset is named after the file
    released.parent.mkdir()
    released.write_text(json.dumps(released_records(env)))
    out = tmp_path / "q.jsonl"
    result = run("env", "questions", released, "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"wrote {out}: 2 questions of M/aime99 (ids aime99-0 ..")
    items = read_questions(str(out))  # what collect reads
    assert [(q.id, q.question, q.answer) for q in items] == [
        ("aime99-0", "question 0", "70"),
        ("aime99-1", "question 1", "\\frac{1}{2}"),
    ]


def test_a_collected_file_keeps_its_ids_and_raw_answers(run: Run, tmp_path: Path) -> None:
    env = make_env([(CHAINS, "42"), (CHAINS, "\\frac{1}{2}")])
    extra = {"question_ids": ["q7", "q9"], "gold_raw": ["42", "\\dfrac{1}{2}"]}
    env = replace(env, meta=replace(env.meta, extra=extra))
    path = tmp_path / "collected.json"
    write_env(env, path)
    out = tmp_path / "q.jsonl"
    assert run("env", "questions", path, "-o", out).exit_code == 0
    items = read_questions(str(out))
    assert [(q.id, q.answer) for q in items] == [("q7", "42"), ("q9", "\\dfrac{1}{2}")]


def _without_text(tmp_path: Path, blank: list[int]) -> Path:
    env = make_env([(CHAINS, "1"), (CHAINS, "2"), (CHAINS, "3")])
    qs = tuple(
        Question(q.index, "" if q.index in blank else q.text, q.gold, q.probes, q.tokens, q.finals)
        for q in env.questions
    )
    path = tmp_path / "env.json"
    write_env(replace(env, questions=qs), path)
    return path


def test_questions_without_text_are_not_made_up(run: Run, tmp_path: Path) -> None:
    path, out = _without_text(tmp_path, [1]), tmp_path / "q.jsonl"
    line = one_error_line(run("env", "questions", path, "-o", out))
    assert f"{path}: 1 of 3 questions have no text (first: question 1)" in line
    assert "--skip-missing writes the others (nothing written)" in line and not out.exists()
    result = run("env", "questions", path, "-o", out, "--skip-missing")
    assert result.exit_code == 0, result.output
    assert "left out 1 question(s) without text: [1]" in result.stderr
    assert [q.id for q in read_questions(str(out))] == ["hand-0", "hand-2"]


def test_an_environment_without_any_text_is_an_error(run: Run, tmp_path: Path) -> None:
    path, out = _without_text(tmp_path, [0, 1, 2]), tmp_path / "q.jsonl"
    line = one_error_line(run("env", "questions", path, "-o", out, "--skip-missing"))
    assert "3 of 3 questions have no text" in line and "(nothing written)" in line
    assert not out.exists()
