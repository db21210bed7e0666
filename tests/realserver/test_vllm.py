"""The live path against a real server and a real model: vLLM's CPU build serving
SmolLM2-135M-Instruct (see conftest.py). What the scripted server cannot show: a real
tokenizer and chat template, real sampling with per-request seeds under batching, real token
counts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from autotts.controllers import ControllerSpec, make_solver
from autotts.data import content_hash, load_env
from autotts.env import Session
from autotts.live import (
    LiveSession,
    ModelClient,
    QuestionItem,
    Sampler,
    SamplingSettings,
    journal_path,
    negotiate,
)

from .conftest import USER_MESSAGE, RealServer

pytestmark = pytest.mark.realserver

PAIRS = [(1, 1), (2, 6), (3, 4), (4, 9), (5, 7), (6, 5), (7, 3), (8, 1)]
ITEMS = [QuestionItem(f"add-{a}-{b}", f"What is {a} + {b}?", str(a + b)) for a, b in PAIRS]
CHAINS, INTERVAL, MAX_TOKENS = 4, 16, 64


def _questions(path: Path) -> Path:
    path.write_text(
        "".join(json.dumps({"id": q.id, "question": q.question, "answer": q.answer}) + "\n"
                for q in ITEMS)
    )  # fmt: skip
    return path


def _collect_cmd(server: RealServer, questions: Path, out: Path) -> list[str]:
    return [
        sys.executable, "-m", "autotts", "collect", "--base-url", server.url,
        "--model", server.model, "--questions", str(questions), "--chains", str(CHAINS),
        "--interval", str(INTERVAL), "--max-tokens", str(MAX_TOKENS),
        "--user-message", USER_MESSAGE, "--concurrency", "8", "-o", str(out), "--json",
    ]  # fmt: skip


def _autotts(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autotts", *args], capture_output=True, text=True, timeout=900
    )


@pytest.fixture(scope="module")
def collected(vllm: RealServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("collected")
    out = tmp / "smollm2-add.json"
    done = subprocess.run(
        _collect_cmd(vllm, _questions(tmp / "q.jsonl"), out),
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # nothing falls short of exact collection on vLLM
    return out


def test_collect_builds_a_real_varied_environment(collected: Path) -> None:
    env = load_env(collected)
    assert len(env) == len(ITEMS) and all(q.n_chains == CHAINS for q in env.questions)
    assert env.meta.extra["server"] == {
        "prompt": "chat template",
        "continuation": "tokens",
        "seeds": "honoured",
        "notes": [],
    }
    # a real, varied environment: some questions mostly right, some mostly wrong
    right = [sum(f == q.gold for f in q.finals) / q.n_chains for q in env.questions]
    assert 0 < sum(right) / len(right) < 1 and len(set(right)) >= 2, right
    # chains are probed every interval, lengths are the server's counts, within the limit
    assert all(0 < t <= MAX_TOKENS for q in env.questions for t in q.tokens)
    assert any(len(p) > 0 for q in env.questions for p in q.probes)
    for q in env.questions:
        for probes, tokens in zip(q.probes, q.tokens, strict=True):
            assert len(probes) == (tokens - 1) // INTERVAL
    # what was charged is what the journal recorded the server generating, step by step
    lengths: dict[tuple[str, int], int] = {}
    for line in Path(journal_path(str(collected))).read_text().splitlines():
        rec = json.loads(line)
        if rec["kind"] == "step":
            assert len(rec["ids"]) == rec["tokens"]
            key = (rec["q"], rec["c"])
            lengths[key] = lengths.get(key, 0) + rec["tokens"]
    assert [[lengths[(i.id, c)] for c in range(CHAINS)] for i in ITEMS] == [
        list(q.tokens) for q in env.questions
    ]
    # it evaluates like any environment
    done = _autotts("evaluate", "--env", str(collected), "--controller", "cmc", "--betas",
                    "0,1", "--replicates", "5", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert rows and all(0 <= r["accuracy"] <= 100 for r in rows)


def test_a_killed_collect_resumes_to_the_same_environment(
    vllm: RealServer, collected: Path, tmp_path: Path
) -> None:
    out = tmp_path / "again.json"
    journal = Path(journal_path(str(out)))
    proc = subprocess.Popen(
        _collect_cmd(vllm, _questions(tmp_path / "q.jsonl"), out),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and journal.read_text().count('"kind":"step"') >= 12:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "collect finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    done = subprocess.run(
        _collect_cmd(vllm, tmp_path / "q.jsonl", out), capture_output=True, text=True, timeout=1800
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["resumed_chains"] >= 0
    assert '"kind":"resume"' in journal.read_text()
    assert content_hash(load_env(out)) == content_hash(load_env(collected))


def _sampler(server: RealServer, **kw: Any) -> Sampler:
    client = ModelClient(server.url, server.model, retry_wait=0.5)
    asked = SamplingSettings(
        interval=INTERVAL, max_tokens=MAX_TOKENS, user_message=USER_MESSAGE, **kw
    )
    fitted, report = negotiate(client, asked, ITEMS[0].question)
    assert report.continuation == "tokens"
    return Sampler(client, fitted)


@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_solve_is_charged_as_a_replay_of_the_same_chains(
    vllm: RealServer, collected: Path, beta: float
) -> None:
    env = load_env(collected)
    sampler = _sampler(vllm)
    spec = ControllerSpec("cmc", beta=beta)
    for qi in (0, 3, 6):
        q, item = env.questions[qi], ITEMS[qi]
        replay = Session(q.probes, q.tokens, q.finals, list(range(q.n_chains)), env.interval)
        want = make_solver(spec)(replay)
        with LiveSession(sampler, item.question, item.id, n_available=CHAINS) as live:
            got = make_solver(spec)(live)  # type: ignore[arg-type]
        assert got == want
        assert live.trace() == replay.trace()
        assert (live.tokens, live.sequential_tokens) == (replay.tokens, replay.sequential_tokens)


def test_continuing_by_token_ids_is_one_uninterrupted_generation(vllm: RealServer) -> None:
    """Greedy, so that one request and many steps must agree: a chain grown 8 tokens at a
    time by token ids is token for token the chain one request writes."""
    sampler = _sampler(vllm, temperature=0.0)
    prompt = sampler.prompt(ITEMS[2].question)
    assert prompt.ids is not None
    whole = sampler.client.complete(
        list(prompt.ids), max_tokens=48, temperature=0.0, token_ids=True
    )
    steps: list[Any] = []
    step_sampler = Sampler(sampler.client, SamplingSettings(
        interval=8, max_tokens=48, temperature=0.0, user_message=USER_MESSAGE,
        continuation="tokens",
    ))  # fmt: skip
    while not steps or not steps[-1].finished:
        steps.append(step_sampler.step(prompt, "greedy", 0, len(steps), steps))
    ids = tuple(t for st in steps for t in st.ids)
    assert ids == whole.token_ids
    assert sum(st.tokens for st in steps) == whole.tokens
