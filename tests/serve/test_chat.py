"""Chat completions through the openai SDK: the answer and costs of ``solve_live`` on the same
question, usage as the upstream reported it, overrides, streaming, the model list, refusals."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import replace
from typing import Any

import openai
import pytest

from autotts.controllers import ControllerSpec
from autotts.data import normalize_answer
from autotts.live import (
    ModelClient,
    QuestionItem,
    Sampler,
    SamplingSettings,
    request_seed,
    solve_live,
)
from autotts.serve import question_id
from autotts.serve.protocol import NO_ANSWER
from tests.live.conftest import MAX_TOKENS, QUESTIONS, SETTINGS
from tests.live.scripted_model import ScriptedModel

from .conftest import CONFIG, N_CHAINS, Running, Serve, Upstream, figures

BOX = "\n\n**Final Answer**\n\\boxed{"


BY_TOKENS = replace(SETTINGS, continuation="tokens")
CHAT_TEMPLATE = replace(BY_TOKENS, user_message="{question}")  # the server's chat template


def solved(
    upstream: Upstream,
    question: str,
    spec: ControllerSpec,
    chains: int,
    settings: SamplingSettings = SETTINGS,
    **options: Any,
) -> Any:
    """What ``autotts solve`` gets for ``question`` (its default id, the same sampling)."""
    sampler = Sampler(ModelClient(upstream.url, "m", retry_wait=0.0), settings)
    item = QuestionItem(question_id(question), question, None)
    return solve_live(sampler, item, spec, replace(CONFIG.options, n_chains=chains, **options))


def check_chain_text(model: ScriptedModel, question: str, content: str, answer: str) -> None:
    """``content`` is the text of one of the question's chains, as far as the controller took
    it, whose answer there is ``answer``; then the box, unless the text ends with it."""
    text = content.removesuffix(f"{BOX}{answer}}}").rstrip()
    words = text.split()
    key = int("".join(str("abcdefghij".index(ch)) for ch in words[0][3:]))
    chain = model.chain(question, key)
    assert words == [model.word(chain, key, p) for p in range(len(words))]
    if len(words) == chain.length:  # finished: its answer is in its last word
        assert content == text and normalize_answer(chain.final) == answer
    else:  # probed after its last step
        assert len(words) % SETTINGS.interval == 0 and len(words) <= MAX_TOKENS
        assert normalize_answer(model.probe_answer(question, chain, len(words))) == answer
    assert key in [request_seed(SETTINGS.seed, question_id(question), c, 0) for c in range(16)]


@pytest.mark.parametrize(
    ("overrides", "spec", "chains", "settings"),
    [
        (None, CONFIG.spec, N_CHAINS, SETTINGS),
        ({"beta": 1.0, "chains": 12}, ControllerSpec("cmc", beta=1.0), 12, BY_TOKENS),
        ({"controller": "sc", "chains": 5}, ControllerSpec("sc"), 5, CHAT_TEMPLATE),
    ],
    ids=["server-default-text", "beta-chains-tokens", "sc-chat-template"],
)
def test_the_answer_and_costs_of_solve(
    serve: Serve,
    upstream: Upstream,
    overrides: dict[str, Any] | None,
    spec: ControllerSpec,
    chains: int,
    settings: SamplingSettings,
) -> None:
    running = serve(settings=settings)
    answered = 0
    for q in QUESTIONS:
        r = running.ask(q.text, autotts=overrides)
        # usage: exactly what the upstream reported for this question's requests
        assert (r.usage.prompt_tokens, r.usage.completion_tokens) == upstream.tokens(q.text)
        assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
        got = figures(r)
        assert r.usage.completion_tokens == got["tokens_generated"] + got["probe_tokens"]
        want = solved(upstream, q.text, spec, chains, settings)
        assert want.error is None
        assert got["controller"] == spec.spec and got["beta"] == spec.beta
        assert got["chains"] == chains and got["budget"] is None
        assert got["tokens_charged"] == want.tokens
        assert got["sequential_tokens"] == want.sequential_tokens
        opened = sum(a.kind in ("BRANCH", "READ") for a in want.trace)
        assert got["chains_opened"] == opened
        assert got["speculative_tokens"] == got["tokens_generated"] - want.tokens
        assert got["truncated"] is False and r.choices[0].finish_reason == "stop"
        content = r.choices[0].message.content
        if want.answer in (None, "", "ERR"):
            assert got["answer"] is None and content == NO_ANSWER
        else:
            answered += 1
            assert got["answer"] == want.answer
            check_chain_text(upstream.model, q.text, content, want.answer)
        assert r.model == "m" and r.object == "chat.completion" and len(r.choices) == 1
    assert answered >= 2


def test_a_budget_cuts_the_run(serve: Serve, upstream: Upstream) -> None:
    running = serve()
    q = QUESTIONS[0].text
    r = running.ask(q, autotts={"budget": 250, "controller": "sc"})
    got = figures(r)
    assert got["truncated"] is True and r.choices[0].finish_reason == "length"
    assert got["budget"] == 250 and got["tokens_charged"] <= 250
    assert (r.usage.prompt_tokens, r.usage.completion_tokens) == upstream.tokens(q)
    want = solved(upstream, q, ControllerSpec("sc"), N_CHAINS, budget=250.0)
    assert want.truncated and got["tokens_charged"] == want.tokens
    assert got["answer"] == (want.answer or None)


def test_streaming(serve: Serve) -> None:
    running = serve()
    q = QUESTIONS[2].text
    whole = running.ask(q)
    chunks = list(
        running.sdk().chat.completions.create(
            model="m", messages=[{"role": "user", "content": q}], stream=True
        )
    )
    assert len(chunks) == 3
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == whole.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks] == [None, None, "stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert figures(chunks[-1])["answer"] == figures(whole)["answer"]
    assert len({c.id for c in chunks}) == 1


def test_models_health_and_the_served_name(serve: Serve) -> None:
    running = serve(model="tts-m")
    assert [m.id for m in running.sdk().models.list()] == ["tts-m"]
    with pytest.raises(openai.NotFoundError) as err:
        running.ask(QUESTIONS[0].text, model="m")
    assert err.value.status_code == 404
    assert "the model 'm' does not exist (this server serves 'tts-m')" in err.value.message
    assert running.ask(QUESTIONS[0].text, model="tts-m").model == "tts-m"
    status, body = http(running, "GET", "/health")
    assert (status, body) == (200, {"status": "ok"})


def http(running: Running, method: str, path: str, data: bytes | None = None) -> Any:
    """(status, JSON body) of a raw request to the server."""
    url = running.url.removesuffix("/v1") + path
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.mark.parametrize(
    ("messages", "autotts", "says"),
    [
        ([{"role": "system", "content": "hi"}], None, "there is no user message"),
        (None, {"controller": "best"}, "unknown controller 'best' (registered: asc, cmc,"),
        (None, {"beta": 2}, "autotts.beta must be a number in [0, 1] (got 2)"),
        (None, {"controller": "tests/live/controllers.py:BranchThenRaise"}, "never a client's"),
    ],
    ids=["no-user-message", "unknown-controller", "bad-beta", "file-controller"],
)
def test_bad_requests_are_400s(
    serve: Serve, upstream: Upstream, messages: Any, autotts: Any, says: str
) -> None:
    running = serve()
    kw: dict[str, Any] = {"extra_body": {"autotts": autotts}} if autotts else {}
    with pytest.raises(openai.BadRequestError) as err:
        running.sdk().chat.completions.create(
            model="m",
            messages=messages or [{"role": "user", "content": "What is 6 times 7?"}],
            **kw,
        )
    assert err.value.status_code == 400 and says in err.value.message
    assert isinstance(err.value.body, dict) and err.value.body["type"] == "invalid_request_error"
    assert upstream.replies == []  # refused before any upstream request


def test_raw_errors_are_openai_json(serve: Serve) -> None:
    running = serve()
    status, body = http(running, "POST", "/v1/chat/completions", b"{not json")
    assert status == 400 and body["error"]["message"] == "the request body is not JSON"
    status, body = http(running, "GET", "/v1/nothing")
    assert status == 404 and body["error"]["type"] == "not_found"
    status, body = http(running, "GET", "/v1/chat/completions")
    assert status == 405 and "GET /v1/chat/completions" in body["error"]["message"]
