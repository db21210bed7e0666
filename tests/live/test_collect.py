"""``collect``: what it records, that it resumes without re-sampling, that it survives faults."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from autotts.controllers import ControllerSpec
from autotts.data import content_hash, load_env
from autotts.evaluate import Protocol, evaluate
from autotts.live import (
    LiveError,
    Probe,
    QuestionItem,
    QuestionsError,
    SamplingSettings,
    Step,
    collect,
    journal_path,
    read_questions,
    request_seed,
)
from autotts.live.journal import Journal, JournalError
from tests.scripted_server import Reply

from .conftest import INTERVAL, ITEMS, MAX_TOKENS, SETTINGS, Scripted

N_CHAINS = 7


def _journal(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(journal_path(str(path))).read_text().splitlines()]


def test_collect_records_what_the_script_implies(scripted: Scripted, tmp_path: Path) -> None:
    scripted.model.delay = 0.002  # let requests overlap
    out = tmp_path / "env.json"
    result = collect(scripted.sampler(), ITEMS, N_CHAINS, str(out), concurrency=3, dataset="toy")
    env = load_env(out)
    expected = scripted.model.expected_env(ITEMS, N_CHAINS, INTERVAL, MAX_TOKENS)
    for q, e in zip(env.questions, expected.questions, strict=True):
        assert (q.text, q.gold) == (e.text, e.gold)
        assert q.probes == e.probes and q.tokens == e.tokens and q.finals == e.finals
    assert content_hash(env) == content_hash(expected) == result.content_hash
    # the script exercises every case: ERR probes, no answer, chains cut at max tokens
    assert any("ERR" in c for q in env.questions for c in q.probes)
    assert "ERR" in env.questions[1].finals and MAX_TOKENS in env.questions[1].tokens

    meta = env.meta
    assert (meta.model, meta.dataset, meta.interval_tokens, meta.temperature) == (
        "m",
        "toy",
        INTERVAL,
        0.7,
    )
    assert meta.probe_prompt == SETTINGS.probe_suffix
    assert meta.extra["sampling"] == SETTINGS.to_dict()
    assert meta.extra["question_ids"] == ["q0", "q1", "q2"]
    assert meta.extra["gold_raw"] == ["42", "\\frac{1}{2}", "9"]
    assert meta.extra["raw_answers"] == {"\\frac{1}{2}": ["\\dfrac{1}{2}"]}
    assert meta.extra["collect"]["started"] <= meta.extra["collect"]["finished"]

    # the requests: steps sample with a per-(question, chain, step) seed, probes are greedy
    bodies = scripted.completions()
    assert result.requests == len(bodies) and result.retries == 0
    steps = [b for b in bodies if not b["user"].endswith(":probe")]
    probes = [b for b in bodies if b["user"].endswith(":probe")]
    assert sum(b["max_tokens"] == INTERVAL for b in steps) == len(steps)  # 1000 = 10 x 100
    assert {b["temperature"] for b in steps} == {0.7} and {b["temperature"] for b in probes} == {0}
    assert {b["max_tokens"] for b in probes} == {SETTINGS.probe_tokens}
    first = {b["user"]: b["seed"] for b in steps if b["prompt"].endswith("A:")}
    assert first == {
        f"autotts:{q.id}:{c}": request_seed(0, q.id, c, 0) for q in ITEMS for c in range(N_CHAINS)
    }
    assert result.tokens == sum(sum(q.tokens) for q in env.questions)
    assert 1 <= scripted.model.max_in_flight <= 3


def test_replay_numbers_are_the_scripts(scripted: Scripted, tmp_path: Path) -> None:
    out = tmp_path / "env.json"
    collect(scripted.sampler(), ITEMS, N_CHAINS, str(out), concurrency=4)
    collected = load_env(out)
    expected = scripted.model.expected_env(ITEMS, N_CHAINS, INTERVAL, MAX_TOKENS)
    proto = Protocol("official", 10)
    for spec in [ControllerSpec("sc", {"k": N_CHAINS}), ControllerSpec("cmc")]:
        for match in ("exact", "math"):
            [got] = evaluate([collected], spec, [0.5 if spec.spec == "cmc" else None],
                             protocol=proto, match=match)  # fmt: skip
            [want] = evaluate([expected], spec, [0.5 if spec.spec == "cmc" else None],
                              protocol=proto, match=match)  # fmt: skip
            assert (got.accuracy, got.avg_total_tokens) == (want.accuracy, want.avg_total_tokens)
    # by hand: with every chain read, sc's vote is the majority of the script's finals
    [sc] = evaluate([collected], ControllerSpec("sc", {"k": N_CHAINS}), [None], protocol=proto)
    majority_right = 0
    for q in expected.questions:
        counts = {a: q.finals.count(a) for a in q.finals}
        top = max(counts.values())
        winners = {a for a, n in counts.items() if n == top}
        assert len(winners) == 1, "the script was chosen so that no vote ties"
        majority_right += q.gold in winners
    assert majority_right == 2  # 42 and 1/2 win their votes; "Pick a number" votes 7, not 9
    assert sc.accuracy == pytest.approx(100 * majority_right / len(expected.questions))


def _step_keys(journal: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    return [(r["q"], r["c"], r["i"]) for r in journal if r["kind"] == "step"]


def test_resume_after_an_outage_samples_nothing_twice(scripted: Scripted, tmp_path: Path) -> None:
    reference = tmp_path / "reference.json"
    collect(scripted.sampler(), ITEMS, N_CHAINS, str(reference), concurrency=3)
    n_requests = len(scripted.completions())

    out = tmp_path / "env.json"
    scripted.server.requests.clear()
    scripted.model.served = 0
    scripted.model.fail_after = n_requests // 2  # the server breaks down half-way
    with pytest.raises(LiveError, match="HTTP 400: scripted outage"):
        collect(scripted.sampler(), ITEMS, N_CHAINS, str(out), concurrency=3)
    assert not out.exists()  # no environment from half the chains
    before = _journal(out)
    finished = {(r["q"], r["c"]) for r in before if r["kind"] == "final"}
    steps_before = set(_step_keys(before))
    assert 0 < len(finished) < len(ITEMS) * N_CHAINS

    scripted.server.requests.clear()
    scripted.model.fail_after = None
    result = collect(scripted.sampler(), ITEMS, N_CHAINS, str(out), concurrency=3)
    assert result.resumed_chains == len(finished)
    assert content_hash(load_env(out)) == content_hash(load_env(reference))

    again = scripted.completions()
    users = {b["user"].removesuffix(":probe") for b in again}
    assert not users & {f"autotts:{q}:{c}" for q, c in finished}  # finished chains: untouched
    journaled_seeds = {request_seed(0, q, c, i) for q, c, i in steps_before}
    fresh = [b for b in again if not b["user"].endswith(":probe")]
    assert not {b["seed"] for b in fresh} & journaled_seeds  # journaled steps: not redone
    after = _journal(out)
    assert len(_step_keys(after)) == len(set(_step_keys(after)))  # no duplicate steps
    finals = [(r["q"], r["c"]) for r in after if r["kind"] == "final"]
    assert len(finals) == len(set(finals)) == len(ITEMS) * N_CHAINS
    assert [r["kind"] for r in after].count("header") == 1 and after[0]["kind"] == "header"

    scripted.server.requests.clear()  # a third run has nothing left to do
    result = collect(scripted.sampler(), ITEMS, N_CHAINS, str(out), concurrency=3)
    assert scripted.completions() == [] and result.resumed_chains == len(ITEMS) * N_CHAINS


def test_a_torn_journal_line_is_skipped_and_redone(scripted: Scripted, tmp_path: Path) -> None:
    out = tmp_path / "env.json"
    reference = collect(scripted.sampler(), ITEMS[:1], 2, str(out), concurrency=1)
    path = Path(journal_path(str(out)))
    lines = path.read_text().splitlines(keepends=True)
    last_step = max(n for n, line in enumerate(lines) if '"kind":"step"' in line)
    # keep everything before the last step of the last chain, then half of that step's line
    path.write_text("".join(lines[:last_step]) + lines[last_step][:40])
    result = collect(scripted.sampler(), ITEMS[:1], 2, str(out), concurrency=1)
    assert result.skipped_journal_lines == 1 and result.resumed_chains == 1
    assert result.content_hash == reference.content_hash
    # the torn fragment is still there (nothing is ever deleted), on a line of its own
    text = path.read_text()
    assert lines[last_step][:40] + "\n" in text
    # now in the middle of the journal, followed by the resume record: still a crash artefact
    again = collect(scripted.sampler(), ITEMS[:1], 2, str(out), concurrency=1)
    assert again.skipped_journal_lines == 1 and again.content_hash == reference.content_hash


def _break_first_step(path: Path, how: str) -> int:
    """Damages the first step record of the journal; returns its line number."""
    lines = path.read_text().splitlines(keepends=True)
    k = next(n for n, line in enumerate(lines) if '"kind":"step"' in line)
    if how == "cut":
        lines[k] = lines[k][:40] + "\n"
    else:
        rec = json.loads(lines[k])
        if how == "field":
            del rec["tokens"]
        else:
            rec["tokens"] = str(rec["tokens"])
        lines[k] = json.dumps(rec) + "\n"
    path.write_text("".join(lines))
    return k + 1


@pytest.mark.parametrize(
    ("how", "problem"),
    [
        ("cut", "invalid JSON at column"),
        ("field", "a step record without 'tokens'"),
        ("type", "a malformed step record: 'tokens' is '"),
    ],
)
def test_a_damaged_line_in_the_middle_is_refused(
    scripted: Scripted, tmp_path: Path, how: str, problem: str
) -> None:
    out = tmp_path / "env.json"
    collect(scripted.sampler(), ITEMS[:1], 2, str(out), concurrency=1)
    written = out.read_bytes()
    path = Path(journal_path(str(out)))
    n = _break_first_step(path, how)
    before = path.read_bytes()
    # skipping it used to give another environment: a chain without its later steps
    with pytest.raises(JournalError) as info:
        collect(scripted.sampler(), ITEMS[:1], 2, str(out), concurrency=1)
    assert str(info.value).startswith(f"{path}:{n}: corrupt record ({problem}")
    assert f"delete line {n} to sample what it recorded again" in str(info.value)
    assert path.read_bytes() == before and out.read_bytes() == written  # nothing touched


def test_a_deleted_line_is_sampled_again(scripted: Scripted, tmp_path: Path) -> None:
    out = tmp_path / "env.json"
    reference = collect(scripted.sampler(), ITEMS[:1], 2, str(out), concurrency=1)
    path = Path(journal_path(str(out)))
    lines = path.read_text().splitlines(keepends=True)
    del lines[_break_first_step(path, "cut") - 1]  # what the error message says to do
    path.write_text("".join(lines))
    scripted.server.requests.clear()
    result = collect(scripted.sampler(), ITEMS[:1], 2, str(out), concurrency=1)
    # chain 0 is grown again from its first step (its later records no longer continue it)
    assert result.resumed_chains == 1 and result.skipped_journal_lines > 1
    assert result.content_hash == reference.content_hash
    assert {b["user"].removesuffix(":probe") for b in scripted.completions()} == {"autotts:q0:0"}


def test_transient_faults_do_not_change_the_result(scripted: Scripted, tmp_path: Path) -> None:
    reference = collect(scripted.sampler(), ITEMS[:1], 3, str(tmp_path / "a.json"), concurrency=2)
    scripted.server.fail_next(
        Reply(status=429), Reply(status=500), Reply(raw=b"{oops"), Reply(status=503)
    )
    result = collect(scripted.sampler(), ITEMS[:1], 3, str(tmp_path / "b.json"), concurrency=2)
    assert result.retries == 4 and result.content_hash == reference.content_hash


def test_resuming_with_other_settings_is_refused(scripted: Scripted, tmp_path: Path) -> None:
    out = str(tmp_path / "env.json")
    collect(scripted.sampler(), ITEMS[:1], 1, out)
    hotter = SamplingSettings(**{**SETTINGS.to_dict(), "temperature": 0.9})
    with pytest.raises(LiveError, match=r"written with temperature=0.7, not 0.9"):
        collect(scripted.sampler(hotter), ITEMS[:1], 1, out)
    changed = [QuestionItem("q0", ITEMS[0].question, "41")]
    with pytest.raises(LiveError, match="question 'q0' has changed"):
        collect(scripted.sampler(), changed, 1, out)
    # more chains, or more questions, continue the same journal
    result = collect(scripted.sampler(), ITEMS[:2], 2, out)
    assert result.resumed_chains == 1


def test_one_writer_per_journal(tmp_path: Path) -> None:
    header = {"model": "m", "settings": {}, "questions": {}}
    path = str(tmp_path / "j")
    with Journal(path, header), pytest.raises(LiveError, match="another autotts collect"):
        Journal(path, header)
    with Journal(path, header):  # released on close
        pass


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": 1, "question": "a", "answer": "1"}\n{"id": 2, "question": "b"\n',
         ":2: invalid JSON"),
        ('{"id": 1, "question": "a"}\n', ":1: missing field 'answer'"),
        ('\n{"id": 1, "question": "a", "answer": "1"}\n[1]\n', ":3: expected an object, got list"),
        ('{"id": 1, "question": "a", "answer": "1"}\n{"id": "1", "question": "b", "answer": "2"}\n',
         ":2: duplicate id '1' (first on line 1)"),
        ('{"id": [1], "question": "a", "answer": "1"}\n', ":1: field 'id'"),
        ('{"id": 1, "question": "", "answer": "1"}\n', ":1: field 'question'"),
        ('{"id": 1, "question": "a", "answer": null}\n', ":1: field 'answer'"),
        ("\n\n", ": no questions"),
    ],
)  # fmt: skip
def test_questions_file_errors_name_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(content)
    with pytest.raises(QuestionsError) as info:
        read_questions(str(path))
    assert str(info.value).startswith(str(path)) and message in str(info.value)


def test_questions_without_answers_for_solve(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": 7, "question": "a"}\n')
    [item] = read_questions(str(path), need_answer=False)
    assert (item.id, item.question, item.answer) == ("7", "a", None)


def test_the_journal_keeps_any_text_exactly(tmp_path: Path) -> None:
    header = {"model": "m", "settings": {}, "questions": {}}
    path = str(tmp_path / "j")
    text = " caf\u00e9 \u4e2d \ud800 \\boxed{1}\n"  # a lone surrogate, as a server may send
    step = Step(text, 5, "stop", True, False)  # a finished chain: only those get a final
    probe = Probe("1}", "1", "1", 2)
    with Journal(path, header) as j:
        j.log_step("q", 0, step, probe)
    with open(path, "ab") as f:
        f.write(b'{"kind": "step", "q": "q", \xff\xfe')  # a torn, binary tail
    with Journal(path, header) as j:
        assert j.chains[("q", 0)].steps == [step] and j.chains[("q", 0)].probes == [probe]
        assert j.skipped_lines == 1
        j.log_final("q", 0, probe)
        assert j.chains[("q", 0)].final == probe and j.chains[("q", 0)].text == ""
    with Journal(path, header) as j:
        assert j.chains[("q", 0)].final == probe and j.skipped_lines == 1
    lines = Path(path).read_bytes().splitlines()
    assert lines[2] == b'{"kind": "step", "q": "q", \xff\xfe'  # nothing is ever deleted
    kinds = [json.loads(x)["kind"] for n, x in enumerate(lines) if n != 2]
    assert kinds == ["header", "step", "resume", "final", "resume"]
