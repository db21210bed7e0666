"""The model client: exact usage counts, retries on transient failures, clear permanent errors."""

from __future__ import annotations

import socket

import pytest

from autotts.live import LiveError, ModelClient
from tests.scripted_server import Reply, ScriptedServer, completion_reply


def _ok(body: object) -> dict[str, object]:
    return completion_reply(" a b c", prompt_tokens=4, completion_tokens=3)


def _client(url: str, **kw: object) -> tuple[ModelClient, list[float]]:
    waits: list[float] = []
    kw.setdefault("retry_wait", 0.5)
    client = ModelClient(url, "m", sleep=waits.append, **kw)  # type: ignore[arg-type]
    return client, waits


def test_request_body_and_usage() -> None:
    with ScriptedServer(completions=_ok) as server:
        client, _ = _client(server.url)
        out = client.complete("Q", max_tokens=5, temperature=0.7, top_p=0.9, seed=11, user="u")
        assert (out.text, out.tokens, out.prompt_tokens, out.finish_reason) == (
            " a b c",
            3,
            4,
            "length",
        )
        body = server.requests[-1].body
        assert body == {
            "model": "m",
            "prompt": "Q",
            "max_tokens": 5,
            "temperature": 0.7,
            "top_p": 0.9,
            "seed": 11,
            "user": "u",
        }
        assert client.stats.completion_tokens == 3 and client.stats.requests == 1


@pytest.mark.parametrize(
    "fault",
    [
        Reply(status=429),
        Reply(status=500),
        Reply(status=503),
        Reply(raw=b'{"choices": [ truncated'),
        Reply(json={"unexpected": True}),  # valid JSON, not a completion
        Reply(delay=1.0),  # slower than the client's timeout
    ],
    ids=["429", "500", "503", "malformed-json", "not-a-completion", "timeout"],
)
def test_transient_failures_are_retried(fault: Reply) -> None:
    with ScriptedServer(completions=_ok) as server:
        client, waits = _client(server.url, timeout=0.2)
        server.fail_next(fault, fault)
        out = client.complete("Q", max_tokens=5, temperature=0.0)
        assert out.tokens == 3
        assert client.stats.retries == 2 and client.stats.requests == 3
        assert len(waits) == 2 and waits[1] > waits[0] / 2  # exponential backoff (with jitter)
        assert 0.25 <= waits[0] <= 0.5 and 0.5 <= waits[1] <= 1.0


def test_retry_after_is_honoured() -> None:
    with ScriptedServer(completions=_ok) as server:
        client, waits = _client(server.url)
        server.fail_next(Reply(status=429, headers={"Retry-After": "7"}))
        client.complete("Q", max_tokens=5, temperature=0.0)
        assert waits == [7.0]


def test_giving_up_names_the_server_and_the_failure() -> None:
    with ScriptedServer(completions=_ok) as server:
        client, waits = _client(server.url, retries=2)
        server.fail_next(*[Reply(status=503)] * 3)
        with pytest.raises(LiveError) as info:
            client.complete("Q", max_tokens=5, temperature=0.0)
        message = str(info.value)
        assert server.url in message and "HTTP 503" in message
        assert "gave up after 3 attempts" in message and "\n" not in message
        assert len(waits) == 2


def test_permanent_errors_are_not_retried() -> None:
    with ScriptedServer(completions=_ok) as server:
        client, waits = _client(server.url)
        server.fail_next(Reply(status=400, json={"error": {"message": "prompt too long"}}))
        with pytest.raises(LiveError, match="HTTP 400: prompt too long"):
            client.complete("Q", max_tokens=5, temperature=0.0)
        assert waits == [] and client.stats.requests == 1


def test_missing_usage_or_too_many_tokens_is_an_error() -> None:
    no_usage = completion_reply("x", prompt_tokens=1, completion_tokens=1)
    del no_usage["usage"]
    too_many = completion_reply("x", prompt_tokens=1, completion_tokens=9)
    with ScriptedServer(completions=_ok) as server:
        client, _ = _client(server.url)
        server.fail_next(Reply(json=no_usage))
        with pytest.raises(LiveError, match="no usage token counts"):
            client.complete("Q", max_tokens=5, temperature=0.0)
        server.fail_next(Reply(json=too_many))
        with pytest.raises(LiveError, match="9 tokens generated for max_tokens=5"):
            client.complete("Q", max_tokens=5, temperature=0.0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_refused_connection_fails_the_check_at_once() -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there
    client, waits = _client(url, retries=5)
    with pytest.raises(LiveError) as info:
        client.check()
    assert str(info.value) == (
        f"cannot connect to {url}: connection refused (is the server running?)"
    )
    assert waits == [] and client.stats.requests == 1


def test_a_refused_connection_is_retried_once_work_has_started() -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"  # a server that went away mid-run
    client, waits = _client(url, retries=1)
    with pytest.raises(LiveError) as info:
        client.complete("Q", max_tokens=5, temperature=0.0)
    assert url in str(info.value) and "cannot connect" in str(info.value)
    assert "gave up after 2 attempts" in str(info.value) and len(waits) == 1


def test_a_base_url_without_v1_says_so() -> None:
    with ScriptedServer(completions=_ok) as server:
        base = server.url.removesuffix("/v1")
        client, waits = _client(base)
        with pytest.raises(LiveError) as info:
            client.check()
        hint = f"the base URL usually ends in /v1 (try {base}/v1)"
        assert str(info.value) == f"{base}/models returned 404: {hint}"
        with pytest.raises(LiveError) as info:
            client.complete("Q", max_tokens=5, temperature=0.0)
        assert str(info.value).startswith(f"{base} returned 404 (")
        assert str(info.value).endswith(hint) and waits == []
        # with /v1, a 404 (a route the server lacks) has no such hint
        with_v1, _ = _client(server.url)
        server.fail_next(Reply(status=404))
        with pytest.raises(LiveError) as info:
            with_v1.complete("Q", max_tokens=5, temperature=0.0)
        assert "HTTP 404" in str(info.value) and "/v1 (try" not in str(info.value)


def test_check_names_the_models_served() -> None:
    with ScriptedServer(completions=_ok, models=["a", "b"]) as server:
        client, _ = _client(server.url)
        with pytest.raises(LiveError, match=r"does not serve model 'm' \(it serves: a, b\)"):
            client.check()
        ModelClient(server.url, "b").check()
