"""When things go wrong: the upstream fails (502), the controller raises (500), the client goes
away (its run stops asking the upstream)."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import Any

import openai
import pytest

from autotts.controllers import ControllerSpec
from autotts.serve import Cancel
from tests.live.conftest import QUESTIONS
from tests.scripted_server import Reply

from .conftest import Serve, Upstream, figures

HERE = Path(__file__).resolve().parent


def _fails_after(n: int, reply: Reply) -> Any:
    """A fault: the first ``n`` completions are answered, every later one gets ``reply``."""
    seen = [0]
    lock = threading.Lock()

    def fault(body: dict[str, Any]) -> Reply | None:
        with lock:
            seen[0] += 1
            return reply if seen[0] > n else None

    return fault


@pytest.mark.parametrize(
    ("after", "reply", "says"),
    [
        (0, Reply(status=500), "HTTP 500: scripted status 500 (gave up after 2 attempts)"),
        (6, Reply(status=503), "HTTP 503: scripted status 503 (gave up after 2 attempts)"),
        (6, Reply(status=400, json={"error": {"message": "scripted outage"}}), "HTTP 400"),
    ],
    ids=["500-forever", "down-mid-run", "400-mid-run"],
)
def test_upstream_failures_are_502s(
    serve: Serve, upstream: Upstream, after: int, reply: Reply, says: str
) -> None:
    running = serve(retries=1)
    upstream.fault = _fails_after(after, reply)
    with pytest.raises(openai.InternalServerError) as err:
        running.ask(QUESTIONS[0].text)
    assert err.value.status_code == 502
    assert isinstance(err.value.body, dict) and err.value.body["type"] == "upstream_error"
    message = err.value.body["message"]
    assert message.startswith(f"upstream: {upstream.url}: ") and says in message
    assert "Traceback" not in message and "\n" not in message
    metrics = running.service.metrics
    assert metrics.value("requests_total", outcome="upstream_error") == 1
    upstream.fault = lambda body: None  # the server goes on answering once the upstream does
    assert figures(running.ask(QUESTIONS[0].text))["answer"] == "42"


def test_a_controller_that_raises_is_a_500(serve: Serve) -> None:
    spec = ControllerSpec(f"{HERE.parent}/live/controllers.py:BranchThenRaise")
    running = serve(spec=spec)
    with pytest.raises(openai.InternalServerError) as err:
        running.ask(QUESTIONS[0].text)
    assert err.value.status_code == 500
    assert isinstance(err.value.body, dict) and err.value.body["type"] == "controller_error"
    assert err.value.body["message"] == "controller: RuntimeError: a bug in the controller"
    assert running.service.metrics.value("requests_total", outcome="controller_error") == 1


def test_a_client_that_disconnects_cancels_its_chains(
    serve: Serve, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = serve(concurrency=4)
    question = QUESTIONS[0].text
    at_cancel: list[int] = []
    cancel = Cancel.set

    def noting(self: Cancel, reason: str) -> None:  # how many had reached the upstream then
        at_cancel.append(upstream.requests_for(question))
        cancel(self, reason)

    monkeypatch.setattr(Cancel, "set", noting)
    upstream.model.delay = 0.05  # a slow model: a run takes many round trips of this
    reached = threading.Event()
    upstream.fault = lambda body: reached.set() if upstream.requests_for(question) > 4 else None
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": question}]})
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: test\r\nContent-Type: application/json"
        f"\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection((running.service.host, running.service.port)) as client:
        client.sendall((head + body).encode())
        assert reached.wait(30)  # the run is under way ...
    # ... and the client has gone
    engine = running.service.engine
    assert engine.wait_idle(timeout=30)  # the cancelled run has ended (its requests drained)
    metrics = running.service.metrics
    assert metrics.value("requests_total", outcome="cancelled") == 1
    made = upstream.requests_for(question)
    assert len(at_cancel) == 1 and 4 < at_cancel[0] <= made
    assert made - at_cancel[0] <= 4  # at most those already on their way (4 workers)
    # the run is over: anything still queued for it would have run before this next request
    upstream.model.delay = 0.0
    other = running.ask(QUESTIONS[2].text)
    assert figures(other)["answer"] is not None
    assert upstream.requests_for(question) == made
    # ... and it stopped early: the full run makes many more requests
    full = upstream.requests_for(question)
    running.ask(question)
    assert upstream.requests_for(question) - full > made
    assert metrics.value("requests_total", outcome="ok") == 2
    assert metrics.value("generated_tokens_total") == sum(
        r["usage"]["completion_tokens"] for _, r in upstream.replies
    )
