"""``autotts serve`` in-process on 127.0.0.1 (port 0) in front of the scripted model, with
every upstream reply recorded so usage can be checked against what was really generated."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import openai
import pytest

from autotts.cli.serve import CHECK_QUESTION
from autotts.controllers import ControllerSpec
from autotts.live import LiveOptions, ModelClient, SamplingSettings
from autotts.serve import ServeConfig, Service, question_id
from tests.live.conftest import QUESTIONS, SETTINGS
from tests.live.scripted_model import QuestionScript, ScriptedModel
from tests.scripted_server import Reply, ScriptedServer

N_CHAINS = 8
CONFIG = ServeConfig(
    "m", ControllerSpec("cmc", beta=0.5), LiveOptions(n_chains=N_CHAINS, concurrency=4), 16
)


@dataclass
class Upstream:
    """The scripted model server, and the completions it answered: (request body, reply)."""

    server: ScriptedServer
    model: ScriptedModel
    replies: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    fault: Callable[[dict[str, Any]], Reply | None] = lambda body: None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return self.server.url

    def handle(self, body: dict[str, Any]) -> dict[str, Any] | Reply:
        fault = self.fault(body)
        if fault is not None:
            return fault
        out = self.model(body)
        if isinstance(out, dict):
            with self._lock:
                self.replies.append((body, out))
        return out

    def for_question(self, question: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """The answered completions of ``question``'s chains (their ``user`` names its id)."""
        prefix = f"autotts:{question_id(question)}:"
        with self._lock:
            return [(b, r) for b, r in self.replies if b["user"].startswith(prefix)]

    def requests_for(self, question: str) -> int:
        """Completion requests that reached the server for ``question`` (any reply)."""
        prefix = f"autotts:{question_id(question)}:"
        reqs = [r for r in list(self.server.requests) if r.path == "/v1/completions"]
        return sum(r.body["user"].startswith(prefix) for r in reqs)

    def tokens(self, question: str) -> tuple[int, int]:
        """(prompt tokens, completion tokens) the server reported for ``question``."""
        usages = [r["usage"] for _, r in self.for_question(question)]
        return sum(u["prompt_tokens"] for u in usages), sum(u["completion_tokens"] for u in usages)


def make_upstream(questions: list[QuestionScript]) -> Upstream:
    """The scripted model (with its tokenizer routes) for ``questions`` and the question
    ``autotts serve`` tries the server on at start-up."""
    model = ScriptedModel([*questions, QuestionScript(CHECK_QUESTION, {"2": 1})])
    up = Upstream(ScriptedServer(tokenize=model.tokenize, detokenize=model.detokenize), model)
    up.server.handlers["/v1/completions"] = up.handle
    return up


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    up = make_upstream(list(QUESTIONS))
    with up.server:
        yield up


@dataclass
class Running:
    service: Service
    upstream: Upstream

    @property
    def url(self) -> str:
        return self.service.url

    def sdk(self, **kw: Any) -> openai.OpenAI:
        kw.setdefault("timeout", 60.0)
        return openai.OpenAI(base_url=self.url, api_key="test", max_retries=0, **kw)

    def ask(self, question: str, **kw: Any) -> Any:
        """The chat completion of ``question`` (``autotts=`` goes in extra_body)."""
        overrides = kw.pop("autotts", None)
        if overrides is not None:
            kw["extra_body"] = {"autotts": overrides}
        return self.sdk().chat.completions.create(
            model=kw.pop("model", "m"),
            messages=[{"role": "user", "content": question}],
            **kw,
        )


Serve = Callable[..., Running]


def figures(completion: Any) -> dict[str, Any]:
    """The ``autotts`` object of a completion (or of a stream's last chunk)."""
    extra = completion.model_extra
    assert extra is not None
    found: dict[str, Any] = extra["autotts"]
    return found


@pytest.fixture
def serve(upstream: Upstream) -> Iterator[Serve]:
    """``serve(concurrency=, settings=, **config changes)`` starts a server; all stop at
    teardown."""
    running: list[Service] = []

    def start(
        *,
        concurrency: int = 4,
        max_active: int = 64,
        retries: int = 1,
        settings: SamplingSettings = SETTINGS,
        **changes: Any,
    ) -> Running:
        client = ModelClient(upstream.url, "m", retries=retries, retry_wait=0.0)
        config = replace(CONFIG, **changes)
        service = Service(
            client, settings, config, concurrency=concurrency, max_active=max_active
        ).start()
        running.append(service)
        return Running(service, upstream)

    yield start
    for service in running:
        service.stop()
        service.engine.client.close()
