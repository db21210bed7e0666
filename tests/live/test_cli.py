"""``autotts collect`` and ``autotts solve`` end to end against the scripted model."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from autotts.controllers import ControllerSpec, make_solver
from autotts.data import content_hash, load_env
from autotts.env import Session
from autotts.live import QuestionItem, journal_path
from tests.cli.conftest import one_error_line

from .conftest import INTERVAL, ITEMS, MAX_TOKENS, SAMPLING_ARGS, Scripted, write_questions

Run = Callable[..., Result]
N = 7
ROOT = Path(__file__).resolve().parents[2]


def _as_from_a_shell() -> None:
    """In the child before it runs: Ctrl-C as a terminal delivers it (default disposition,
    unblocked), whatever this test process inherited or set (a pytest worker may ignore it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _collect_args(scripted: Scripted, questions: Path, template: Path, out: Path) -> list[Any]:
    return [
        "collect", "--base-url", scripted.url, "--model", "m", "--questions", questions,
        "--chains", N, *SAMPLING_ARGS, "--prompt-template", template, "--concurrency", 3,
        "--retry-wait", 0, "-o", out,
    ]  # fmt: skip


def test_collect_evaluate_solve(
    run: Run, scripted: Scripted, questions_file: Path, template_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "env.json"
    result = run(*_collect_args(scripted, questions_file, template_file, out), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["chains"] == len(ITEMS) * N and summary["resumed_chains"] == 0
    assert summary["output"] == str(out) and summary["dataset"] == "questions"
    env = load_env(out)
    expected = scripted.model.expected_env(ITEMS, N, INTERVAL, MAX_TOKENS)
    assert summary["content_hash"] == content_hash(env) == content_hash(expected)

    # replay: sc over every chain votes 42 and 1/2 right, 7 for "pick a number" (gold 9)
    result = run("evaluate", "--env", out, "--controller", "sc", "--param", f"k={N}", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["accuracy"] == pytest.approx(200 / 3)

    # live: the same controller decisions and costs as replaying the collected chains in order
    trace_file = tmp_path / "trace.json"
    result = run(
        "solve", "--base-url", scripted.url, "--model", "m", "--questions", questions_file,
        "--chains", N, *SAMPLING_ARGS, "--prompt-template", template_file, "--controller",
        "cmc", "--beta", "0.5", "--trace", trace_file, "--json", "--retry-wait", 0,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    *lines, summary = (json.loads(line) for line in result.stdout.splitlines())
    assert summary["summary"]["finished"] == summary["summary"]["graded"] == len(ITEMS)
    trace = json.loads(trace_file.read_text())
    assert trace["controller"] == "cmc" and trace["beta"] == 0.5 and trace["model"] == "m"
    for qi, (line, episode) in enumerate(zip(lines, trace["episodes"], strict=True)):
        q = env.questions[qi]
        replay = Session(q.probes, q.tokens, q.finals, list(range(N)), env.interval)
        answer = make_solver(ControllerSpec("cmc", beta=0.5))(replay)
        replay.answer(answer)
        assert episode["actions"] == [a._asdict() for a in replay.trace()]
        assert episode["question_id"] == line["question_id"] == ITEMS[qi].id
        assert line["answer"] == episode["answer"] == answer
        assert line["tokens"] == replay.tokens
        assert line["sequential_tokens"] == replay.sequential_tokens
        assert line["correct"] == (answer == q.gold)
        for key in ("generated_tokens", "speculative_tokens", "probe_tokens", "seconds"):
            assert line[key] >= 0
        assert line["generated_tokens"] == line["tokens"] + line["speculative_tokens"]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill", "ctrl-c"])
def test_collect_resumes_after_being_stopped(
    run: Run,
    scripted: Scripted,
    questions_file: Path,
    template_file: Path,
    tmp_path: Path,
    sig: signal.Signals,
) -> None:
    scripted.model.delay = 0.01
    out = tmp_path / "env.json"
    args = [str(a) for a in _collect_args(scripted, questions_file, template_file, out)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "autotts", *args],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_as_from_a_shell,
    )
    journal = Path(journal_path(str(out)))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if journal.exists() and journal.read_text().count('"kind":"final"') >= 4:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "collect finished before it could be stopped"
        proc.send_signal(sig)
    finally:
        _, stderr = proc.communicate(timeout=60)
    if sig == signal.SIGINT:  # finishes the steps in flight, says how to resume
        assert proc.returncode == 130
        assert stderr.strip().splitlines()[-1] == (
            f"autotts: interrupted: {journal} keeps every finished step: run the same "
            "command to continue"
        )
    assert not out.exists()
    scripted.model.delay = 0.0
    scripted.server.requests.clear()
    result = run(*_collect_args(scripted, questions_file, template_file, out), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["resumed_chains"] >= 4
    expected = scripted.model.expected_env(ITEMS, N, INTERVAL, MAX_TOKENS)
    assert content_hash(load_env(out)) == content_hash(expected)
    records = [json.loads(x) for x in journal.read_text().splitlines() if x.startswith("{")]
    steps = [(r["q"], r["c"], r["i"]) for r in records if r.get("kind") == "step"]
    assert len(steps) == len(set(steps))


def _free_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


def test_unreachable_server_is_one_line(run: Run, questions_file: Path, tmp_path: Path) -> None:
    url = _free_url()
    for command in (
        ["collect", "--questions", questions_file, "-o", tmp_path / "e.json"],
        ["solve", "--controller", "sc", "What is 1+1?"],
    ):
        result = run(*command, "--base-url", url, "--model", "m", "--retries", 1,
                     "--retry-wait", 0)  # fmt: skip
        line = one_error_line(result)
        assert line == (
            f"autotts: error: cannot connect to {url}: connection refused (is the server running?)"
        )


def test_a_base_url_without_v1_is_one_line(run: Run, scripted: Scripted, tmp_path: Path) -> None:
    base = scripted.url.removesuffix("/v1")
    for command in (
        ["collect", "--questions", tmp_path / "q.jsonl", "-o", tmp_path / "e.json"],
        ["solve", "--controller", "sc", "What is 1+1?"],
    ):
        if command[0] == "collect":
            (tmp_path / "q.jsonl").write_text('{"id": 1, "question": "a", "answer": "1"}\n')
        line = one_error_line(run(*command, "--base-url", base, "--model", "m"))
        assert line == (
            f"autotts: error: {base}/models returned 404: the base URL usually ends in /v1 "
            f"(try {base}/v1)"
        )


def test_bad_inputs_are_one_line(
    run: Run, scripted: Scripted, questions_file: Path, tmp_path: Path
) -> None:
    base = ["--base-url", scripted.url, "--model", "m"]
    out = tmp_path / "e.json"
    bad_q = tmp_path / "bad.jsonl"
    bad_q.write_text('{"id": 1, "question": "a", "answer": "1"}\n{"id": 2, "question": }\n')
    no_field = tmp_path / "t.txt"
    no_field.write_text("Q: question\nA:")
    cases: list[tuple[list[Any], str]] = [
        (["collect", *base, "--questions", bad_q, "-o", out], f"{bad_q}:2: invalid JSON"),
        (["collect", *base, "--questions", tmp_path / "nope.jsonl", "-o", out], "cannot read"),
        (
            ["collect", *base, "--questions", questions_file, "-o", out, "--prompt-template",
             no_field],
            f"{no_field}: the prompt template must contain {{question}} exactly once",
        ),
        (["collect", *base, "--questions", questions_file, "-o", tmp_path / "no/e.json"],
         "does not exist"),
        (["collect", "--base-url", scripted.url, "--model", "other", "--questions",
          questions_file, "-o", out], "does not serve model 'other' (it serves: m)"),
        (["solve", *base, "--controller", "sc"], "give either a QUESTION or --questions"),
        (["solve", *base, "--controller", "sc", "--beta", "0.5", "q?"], "takes no beta"),
        (["solve", *base, "--controller", "nope", "q?"], "unknown controller 'nope'"),
        (["solve", *base, "--controller", "cmc", "--match", "fuzzy", "q?"], "not one of"),
        (["solve", *base, "--controller", "cmc", "--beta", "2", "q?"], "2 must be <= 1"),
        (["solve", *base, "--controller", "sc", "--param", "k=x", "q?"],
         "parameter k='x' must be an integer"),
    ]  # fmt: skip
    for args, message in cases:
        line = one_error_line(run(*args))
        assert message in line, (args, line)
    assert scripted.completions() == []  # every mistake was caught before any completion


def test_an_outage_during_collect_points_at_the_journal(
    run: Run, scripted: Scripted, questions_file: Path, template_file: Path, tmp_path: Path
) -> None:
    scripted.model.fail_after = 30
    out = tmp_path / "env.json"
    line = one_error_line(run(*_collect_args(scripted, questions_file, template_file, out)))
    assert "HTTP 400: scripted outage" in line
    assert f"the journal {out}.journal keeps what was done" in line


def test_a_damaged_journal_is_one_line(
    run: Run, scripted: Scripted, questions_file: Path, template_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "env.json"
    args = _collect_args(scripted, questions_file, template_file, out)
    assert run(*args).exit_code == 0
    journal = Path(journal_path(str(out)))
    lines = journal.read_text().splitlines(keepends=True)
    lines[5] = "{garbage\n"
    journal.write_text("".join(lines))
    line = one_error_line(run(*args))
    assert line.startswith(f"autotts: error: {journal}:6: corrupt record (invalid JSON")
    assert "run the command again to resume" not in line  # it would fail the same way


def test_options_from_environment_variables(
    run: Run, scripted: Scripted, template_file: Path
) -> None:
    env = {"AUTOTTS_SOLVE_BASE_URL": scripted.url, "AUTOTTS_SOLVE_MODEL": "m"}
    result = run(
        "solve", "--controller", "sc", "--param", "k=3", "--chains", 3, *SAMPLING_ARGS,
        "--prompt-template", template_file, "--id", "q0", "--answer", "42", ITEMS[0].question,
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    first, second = result.stdout.splitlines()
    assert first == "q0: answer '42' (gold '42': correct)"
    assert "tokens charged" in second and "speculative" in second and "probes" in second


def _solve_args(scripted: Scripted, questions: Path, template: Path) -> list[Any]:
    return [
        "solve", "--base-url", scripted.url, "--model", "m", "--questions", questions,
        "--controller", "sc", "--param", "k=3", "--chains", 3, *SAMPLING_ARGS,
        "--prompt-template", template, "--retry-wait", 0,
    ]  # fmt: skip


def test_the_summary_says_how_many_were_graded(
    run: Run, scripted: Scripted, template_file: Path, tmp_path: Path
) -> None:
    questions = write_questions(
        tmp_path / "q.jsonl", [ITEMS[0], QuestionItem("q1", ITEMS[1].question, None)]
    )
    result = run(*_solve_args(scripted, questions, template_file))
    assert result.exit_code == 0, result.output
    last = result.stdout.splitlines()[-1]
    assert last.startswith("2 questions, 1 graded: 100.0% correct (1 without an answer), ")
    result = run(*_solve_args(scripted, questions, template_file), "--json")
    *per_question, summary = (json.loads(x) for x in result.stdout.splitlines())
    assert [r["question_id"] for r in per_question] == ["q0", "q1"]
    s = summary["summary"]
    assert (s["questions"], s["finished"], s["graded"], s["without_answer"]) == (2, 2, 1, 1)
    assert (s["correct"], s["accuracy"], s["interrupted"]) == (1, 100.0, False)


def test_ctrl_c_keeps_the_finished_answers(
    scripted: Scripted, questions_file: Path, template_file: Path, tmp_path: Path
) -> None:
    scripted.model.delay = 0.05  # each question takes many requests: there is time to stop
    trace = tmp_path / "trace.json"
    args = [str(a) for a in _solve_args(scripted, questions_file, template_file)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "autotts", *args, "--json", "--trace", str(trace)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_as_from_a_shell,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the first question is answered
        proc.send_signal(signal.SIGINT)
    finally:
        rest, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    *answers, summary = (json.loads(x) for x in [first, *rest.splitlines()])
    s = summary["summary"]
    assert s["interrupted"] is True and s["questions"] == len(ITEMS)
    assert 1 <= s["finished"] == len(answers) < len(ITEMS)
    assert [a["question_id"] for a in answers] == [q.id for q in ITEMS[: len(answers)]]
    assert [e["question_id"] for e in json.loads(trace.read_text())["episodes"]] == [
        a["question_id"] for a in answers
    ]
    assert stderr.strip().splitlines() == [
        f"autotts: interrupted after {len(answers)} of {len(ITEMS)} question(s); the answers "
        f"above are those finished (their action logs are in {trace})"
    ]


def test_the_cli_starts_without_the_openai_sdk() -> None:
    code = "import sys, autotts.cli; print('openai' in sys.modules, 'math_verify' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
