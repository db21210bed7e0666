"""``autotts serve`` in front of the real vLLM server, with the ``openai`` SDK as the client:
every answer is what ``autotts solve`` gives for the same question (same seeds, same chains),
charged the same, and the usage counts what vLLM generated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
import pytest

from .conftest import USER_MESSAGE, RealServer, _free_port

pytestmark = pytest.mark.realserver

QUESTIONS = [f"What is {a} + {b}?" for a, b in [(3, 4), (6, 2), (5, 5), (8, 7), (1, 9), (4, 4)]]


def _sampling(server: RealServer) -> list[str]:
    return [
        "--base-url", server.url, "--model", server.model, "--chains", "4",
        "--interval", "16", "--max-tokens", "64", "--user-message", USER_MESSAGE,
        "--controller", "cmc", "--beta", "0.5",
    ]  # fmt: skip


def test_serve_answers_as_solve_does(vllm: RealServer) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "autotts", "serve", "--port", str(port), *_sampling(vllm)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                with urllib.request.urlopen(url + "/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        client = openai.OpenAI(base_url=url + "/v1", api_key="none", max_retries=0, timeout=600)

        def ask(q: str) -> Any:
            return client.chat.completions.create(
                model=vllm.model, messages=[{"role": "user", "content": q}]
            )

        with ThreadPoolExecutor(len(QUESTIONS)) as pool:  # all at once, one upstream limit
            answers = list(pool.map(ask, QUESTIONS))
        with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
            metrics = r.read().decode()
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.count("\n") == 2, err  # the start line, the stop line

    solved = subprocess.run(
        [sys.executable, "-m", "autotts", "solve", *_sampling(vllm), "--json",
         "--questions", "/dev/stdin"],
        input="".join(
            json.dumps({"id": _qid(q), "question": q}) + "\n" for q in QUESTIONS
        ),
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert solved.returncode == 0, solved.stderr
    rows = [json.loads(line) for line in solved.stdout.splitlines()][: len(QUESTIONS)]
    for completion, row in zip(answers, rows, strict=True):
        figures = (completion.model_extra or {})["autotts"]
        assert figures["answer"] == row["answer"]
        assert figures["tokens_charged"] == row["tokens"]
        assert completion.usage.completion_tokens >= row["tokens"]
        if row["answer"] is not None:
            assert f"\\boxed{{{row['answer']}}}" in completion.choices[0].message.content
    assert f'autotts_serve_requests_total{{outcome="ok"}} {len(QUESTIONS)}.0' in metrics


def _qid(question: str) -> str:
    from autotts.serve import question_id

    return question_id(question)
