"""``autotts serve`` as a command: start-up line, a request, Ctrl-C; one-line errors."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import openai
import pytest
from click.testing import CliRunner, Result

from autotts.cli import cli
from tests.cli.conftest import one_error_line
from tests.live.conftest import QUESTIONS, SAMPLING_ARGS
from tests.live.scripted_model import TEMPLATE

from .conftest import Upstream, figures

STARTED = re.compile(
    r"autotts serve: (http://127\.0\.0\.1:\d+/v1) -> (\S+) \(model m, controller cmc, "
    r"beta 0\.5, concurrency 3\)"
)


def _as_from_a_shell() -> None:
    """In the child: Ctrl-C as a terminal delivers it, whatever pytest's worker set."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _args(upstream: Upstream, template: Path, *more: Any) -> list[str]:
    return [
        "serve", "--base-url", upstream.url, "--model", "m", "--port", "0", *SAMPLING_ARGS,
        "--prompt-template", str(template), "--chains", "6", "--concurrency", "3",
        "--retry-wait", "0", *map(str, more),
    ]  # fmt: skip


def _chat_args(upstream: Upstream) -> list[str]:
    """The defaults' way: the model's chat template (the scripted one wraps the message as
    the template file does), continued by token ids."""
    return [
        "serve", "--base-url", upstream.url, "--model", "m", "--port", "0", *SAMPLING_ARGS,
        "--user-message", "{question}", "--chains", "6", "--concurrency", "3",
        "--retry-wait", "0",
    ]  # fmt: skip


@pytest.fixture
def template(tmp_path: Path) -> Path:
    path = tmp_path / "template.txt"
    path.write_text(TEMPLATE)
    return path


def test_serve_answers_then_stops_on_ctrl_c(upstream: Upstream) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "autotts", *_chat_args(upstream)],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_as_from_a_shell,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline().strip()  # printed once the socket listens
        started = STARTED.fullmatch(first)
        assert started and started[2] == upstream.url, first
        sdk = openai.OpenAI(base_url=started[1], api_key="t", max_retries=0, timeout=60)
        r = sdk.chat.completions.create(
            model="m", messages=[{"role": "user", "content": QUESTIONS[0].text}]
        )
        assert figures(r)["answer"] == "42"
        # it was tried at start-up, then the chat template and token ids served the question
        asked = [q.body for q in upstream.server.requests if q.path == "/v1/completions"]
        assert any(b["user"] == "autotts:check" for b in asked)
        steps = [b for b in asked if b["user"].startswith("autotts:") and ":check" not in b["user"]]
        assert steps and all(isinstance(b["prompt"], list) for b in steps)
        # a run still going when Ctrl-C comes is cancelled at once (503), not waited for
        upstream.model.delay = 0.05
        reached = threading.Event()
        upstream.fault = lambda body: reached.set()
        failed: list[BaseException] = []

        def slow() -> None:
            try:
                sdk.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": QUESTIONS[2].text}]
                )
            except BaseException as e:
                failed.append(e)

        thread = threading.Thread(target=slow)
        thread.start()
        assert reached.wait(30)
        proc.send_signal(signal.SIGINT)
        thread.join(60)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert isinstance(failed[0], openai.InternalServerError) and failed[0].status_code == 503
    assert "the server is shutting down" in failed[0].message
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines() == [
        "autotts: interrupted: stopped serving (1 request(s) answered)"
    ]


def _run(*args: Any) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="autotts")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_upstream_is_one_line() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    line = one_error_line(_run("serve", "--base-url", url, "--model", "m"))
    assert line == (
        f"autotts: error: cannot connect to {url}: connection refused (is the server running?)"
    )


@pytest.mark.parametrize(
    ("more", "says"),
    [
        (["--request-concurrency", 4], "--request-concurrency 4 is more than --concurrency 3"),
        (["--max-chains", 5], "--chains 6 is more than --max-chains 5"),
        (["--controller", "sc", "--beta", 0.5], "controller 'sc' takes no beta"),
        (["--controller", "nope"], "unknown controller 'nope'"),
    ],
)
def test_bad_options_are_one_line(
    upstream: Upstream, template: Path, more: list[Any], says: str
) -> None:
    line = one_error_line(_run(*_args(upstream, template, *more)))
    assert says in line
    assert upstream.server.requests == []  # refused before the upstream is asked anything


def test_a_port_in_use_is_one_line(upstream: Upstream, template: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = _args(upstream, template)
        args[args.index("--port") + 1] = str(port)
        line = one_error_line(_run(*args))
    assert line == f"autotts: error: cannot listen on 127.0.0.1:{port}: Address already in use"
