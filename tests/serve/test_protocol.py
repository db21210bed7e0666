"""Reading chat requests and writing answers, without a server."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from autotts.controllers import ControllerSpec
from autotts.serve import RequestError, parse_chat, question_id
from autotts.serve.protocol import NO_ANSWER, message_content, stream_chunks

from .conftest import CONFIG


def _body(content: Any = "What is 6 times 7?", **kw: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": content}], **kw}


def test_defaults_and_question() -> None:
    body = _body()
    body["messages"] = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "..."},
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
    ]
    req = parse_chat({**body, "temperature": 0.1, "max_tokens": 5, "seed": 3}, CONFIG)
    assert req.question == "a\nb" and req.qid == question_id("a\nb")
    assert req.spec == CONFIG.spec and req.options == CONFIG.options  # sampling ignored
    assert req.stream is False


def test_overrides() -> None:
    req = parse_chat(_body(autotts={"beta": 1, "chains": 3, "budget": 900}), CONFIG)
    assert req.spec == ControllerSpec("cmc", beta=1.0)
    assert (req.options.n_chains, req.options.budget) == (3, 900.0)
    req = parse_chat(_body(autotts={"controller": "sc"}), CONFIG)
    assert req.spec == ControllerSpec("sc")  # a fixed baseline: no beta
    req = parse_chat(_body(autotts={"controller": "parallel_probe", "beta": None}), CONFIG)
    assert req.spec == ControllerSpec("parallel_probe")
    server_beta = replace(CONFIG, spec=ControllerSpec("sc"))
    req = parse_chat(_body(autotts={"controller": "cmc"}), server_beta)
    assert req.spec == ControllerSpec("cmc", beta=0.5)  # solve's default beta
    req = parse_chat(_body(autotts={"chains": 16}), CONFIG)
    assert req.options.n_chains == 16 == CONFIG.max_chains


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ([], 400, "must be a JSON object"),
        ({"messages": []}, 400, "'model' is required"),
        (_body(model="gpt-4"), 404, "the model 'gpt-4' does not exist (this server serves 'm')"),
        ({"model": "m", "messages": [{"role": "system", "content": "x"}]}, 400, "no user message"),
        ({"model": "m", "messages": []}, 400, "non-empty list"),
        (_body("   "), 400, "the user message is empty"),
        (_body([{"type": "image_url", "image_url": {}}]), 400, "only text content"),
        (_body(n=2), 400, "'n' must be 1"),
        (_body(stream="yes"), 400, "'stream' must be true or false"),
        (_body(tools=[{"type": "function"}]), 400, "'tools' are not supported"),
        (_body(autotts=[1]), 400, "'autotts' must be an object"),
        (_body(autotts={"k": 3, "betta": 1}), 400, "unknown autotts key(s) 'betta', 'k'"),
        (_body(autotts={"controller": "nope"}), 400, "unknown controller 'nope' (registered:"),
        (_body(autotts={"controller": "x.py:C"}), 400, "give a registered controller name"),
        (_body(autotts={"controller": "/tmp/evil.py"}), 400, "never a client's"),
        (_body(autotts={"controller": "sc", "beta": 0.5}), 400, "'sc' takes no beta"),
        (_body(autotts={"beta": 1.5}), 400, "autotts.beta must be a number in [0, 1]"),
        (_body(autotts={"beta": "high"}), 400, "autotts.beta must be a number"),
        (_body(autotts={"beta": True}), 400, "autotts.beta must be a number"),
        (_body(autotts={"chains": 0}), 400, "autotts.chains must be a whole number from 1 to 16"),
        (_body(autotts={"chains": 17}), 400, "from 1 to 16 (got 17)"),
        (_body(autotts={"chains": 2.0}), 400, "autotts.chains must be a whole number"),
        (_body(autotts={"budget": -1}), 400, "autotts.budget must be a number of tokens > 0"),
    ],
)
def test_refused(body: Any, status: int, says: str) -> None:
    with pytest.raises(RequestError) as err:
        parse_chat(body, CONFIG)
    assert err.value.status == status
    assert says in str(err.value)
    error = err.value.body()["error"]
    assert error["message"] == str(err.value) and error["type"] == "invalid_request_error"


def test_the_server_budget_is_a_cap() -> None:
    capped = replace(CONFIG, options=replace(CONFIG.options, budget=1000.0))
    assert parse_chat(_body(), capped).options.budget == 1000.0
    assert parse_chat(_body(autotts={"budget": 500}), capped).options.budget == 500.0
    for given, says in [(2000, "more than this server allows (1000)"), (None, "caps every")]:
        with pytest.raises(RequestError, match=r"autotts\.budget") as err:
            parse_chat(_body(autotts={"budget": given}), capped)
        assert says in str(err.value)


def test_message_content() -> None:
    assert message_content(" a b \\boxed{42}\n", "42") == "a b \\boxed{42}"
    assert message_content("so \\[ \\boxed{42} \\]", "42") == "so \\[ \\boxed{42} \\]"
    box = "**Final Answer**\n\\boxed{42}"
    assert message_content(" a b", "42") == f"a b\n\n{box}"
    assert message_content("\\boxed{41} then more", "42") == f"\\boxed{{41}} then more\n\n{box}"
    assert message_content(None, "42") == box
    for none in (None, "", "ERR"):
        assert message_content("text \\boxed{7}", none) == NO_ANSWER


def test_stream_chunks() -> None:
    completion = {
        "id": "c1",
        "created": 5,
        "model": "m",
        "choices": [{"message": {"content": "hi"}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
        "autotts": {"answer": "7"},
    }
    role, content, last = stream_chunks(completion)
    assert role["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert content["choices"][0]["delta"] == {"content": "hi"}
    assert last["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "length"}
    assert last["usage"] == completion["usage"] and last["autotts"] == {"answer": "7"}
    assert {c["object"] for c in (role, content, last)} == {"chat.completion.chunk"}
