"""How a chain is stepped, when it ends and where its final answer comes from."""

from __future__ import annotations

from typing import Any

import pytest

from autotts.live import (
    DEFAULT_TEMPLATE,
    ModelClient,
    Sampler,
    SamplingSettings,
    Step,
    request_seed,
)
from tests.scripted_server import ScriptedServer, completion_reply

from .conftest import Scripted


def test_request_seeds_are_stable_and_distinct() -> None:
    # documented and relied on by users who re-collect or solve with the same seeds
    assert request_seed(0, "q0", 0, 0) == request_seed(0, "q0", 0, 0)
    assert request_seed(0, "q0", 0, 0) == 1521212074
    seeds = {
        request_seed(s, q, c, k) for s in (0, 1) for q in "ab" for c in range(4) for k in range(4)
    }
    assert len(seeds) == 64 and all(0 <= x < 2**31 for x in seeds)


def _sampler(handler: Any, server: ScriptedServer, **settings: Any) -> Sampler:
    client = ModelClient(server.url, "m", retry_wait=0.0)
    return Sampler(client, SamplingSettings(prompt_template="{question}", **settings))


def test_a_short_length_stop_ends_the_chain_and_its_end_is_probed() -> None:
    """A server at its context limit returns fewer tokens than asked with finish_reason
    'length': the chain is over (cut), so its final answer comes from a probe."""
    replies = iter(
        [
            completion_reply(" a" * 10, prompt_tokens=1, completion_tokens=10),
            completion_reply(" b" * 4, prompt_tokens=1, completion_tokens=4),  # short
            completion_reply("12}", prompt_tokens=1, completion_tokens=2, finish_reason="stop"),
        ]
    )

    def handler(body: Any) -> Any:
        return next(replies)

    with ScriptedServer(completions=handler) as server:
        s = _sampler(handler, server, interval=10, max_tokens=100)
        prompt = s.prompt("Q")
        first = s.step(prompt, "q", 0, 0, [])
        assert not first.finished
        second = s.step(prompt, "q", 0, 1, [first])
        assert second.finished and second.truncated and second.tokens == 4
        final = s.final(prompt, "q", 0, [first, second])
        assert (final.raw, final.answer, final.source, final.tokens) == ("12", "12", "probe", 2)
        probe_prompt = server.requests[-1].body["prompt"]
        assert probe_prompt == "Q" + " a" * 10 + " b" * 4 + s.settings.probe_suffix


def test_the_last_step_asks_only_for_what_max_tokens_leaves(scripted: Scripted) -> None:
    bodies: list[dict[str, Any]] = []

    def handler(body: Any) -> Any:
        bodies.append(body)
        n = body["max_tokens"]
        return completion_reply(" w" * n, prompt_tokens=1, completion_tokens=n)

    with ScriptedServer(completions=handler) as server:
        s = _sampler(handler, server, interval=40, max_tokens=100)
        prompt = s.prompt("Q")
        steps: list[Step] = []
        while not steps or not steps[-1].finished:
            steps.append(s.step(prompt, "q", 0, len(steps), steps))
        assert [b["max_tokens"] for b in bodies] == [40, 40, 20]
        assert [st.finished for st in steps] == [False, False, True] and steps[-1].truncated
        assert sum(st.tokens for st in steps) == 100
        with pytest.raises(ValueError, match="already at max tokens"):
            s.step(prompt, "q", 0, 3, steps)


def test_a_chain_that_stops_reads_its_answer_from_its_text() -> None:
    def handler(body: Any) -> Any:
        return completion_reply(
            "<think>7?</think> so \\boxed{8}", prompt_tokens=1, completion_tokens=5,
            finish_reason="stop",
        )  # fmt: skip

    with ScriptedServer(completions=handler) as server:
        s = _sampler(handler, server, interval=10)
        step = s.step(s.prompt("Q"), "q", 0, 0, [])
        assert step.finished and not step.truncated
        final = s.final(s.prompt("Q"), "q", 0, [step])
        assert (final.raw, final.answer, final.source, final.tokens) == ("8", "8", "text", 0)
        assert len(server.requests) == 1  # no probe needed


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"interval": 0}, "interval must be at least 1"),
        ({"probe_tokens": 0}, "probe tokens must be at least 1"),
        ({"top_p": 1.5}, "top-p must be in"),
        ({"temperature": -1}, "temperature must be >= 0"),
        ({"prompt_template": "no field"}, r"exactly once \(found 0\)"),
        ({"prompt_template": "{question} {question}"}, r"exactly once \(found 2\)"),
    ],
)
def test_settings_are_checked(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SamplingSettings(**settings)


def test_default_template_is_chatml_with_a_box_instruction() -> None:
    prompt = DEFAULT_TEMPLATE.replace("{question}", "What is 1+1?")
    assert prompt == (
        "<|im_start|>user\nWhat is 1+1?\nPlease reason step by step, and put your final "
        "answer within \\boxed{}.<|im_end|>\n<|im_start|>assistant\n"
    )
