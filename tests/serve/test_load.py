"""50 chat requests at once, 50 different questions: each gets its own question's answer, and
the upstream never has more than ``concurrency`` requests in flight."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import openai

from autotts.live import ModelClient
from autotts.serve import Service
from tests.live.conftest import SETTINGS
from tests.live.scripted_model import QuestionScript

from .conftest import CONFIG, figures, make_upstream

N, CONCURRENCY = 50, 4


def test_fifty_concurrent_requests() -> None:
    # question i's chains all answer str(i) (early probes: that or ERR), so any mix-up shows
    questions = [
        QuestionScript(
            f"What is {i} plus zero?", {str(i): 1}, min_len=50, max_len=250, drift=(str(i),)
        )
        for i in range(N)
    ]
    up = make_upstream(questions)
    up.model.delay = 0.005  # long enough for requests to overlap
    config = replace(CONFIG, options=replace(CONFIG.options, n_chains=4))
    with up.server:
        client = ModelClient(up.url, "m", retries=0)
        with Service(client, SETTINGS, config, concurrency=CONCURRENCY) as service:
            sdk = openai.OpenAI(base_url=service.url, api_key="t", max_retries=0, timeout=120)

            def ask(i: int) -> tuple[str, int, int]:
                r = sdk.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": questions[i].text}]
                )
                assert r.usage is not None
                return (
                    figures(r)["answer"],
                    r.usage.prompt_tokens,
                    r.usage.completion_tokens,
                )

            with ThreadPoolExecutor(N) as pool:
                got = list(pool.map(ask, range(N)))
            metrics = service.metrics
            assert metrics.value("requests_total", outcome="ok") == N
        client.close()
    assert [a for a, _, _ in got] == [str(i) for i in range(N)]
    for i, (_, prompt, completion) in enumerate(got):  # usage is per request, not shared
        assert (prompt, completion) == up.tokens(questions[i].text)
    assert up.model.max_in_flight == CONCURRENCY
