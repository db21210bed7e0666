"""``GET /metrics`` after a few requests: every counter equals what the requests did."""

from __future__ import annotations

import threading
import urllib.request
from types import SimpleNamespace
from typing import Any, cast

import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from autotts.live import LiveOptions, LiveSession
from autotts.serve import estimate_full_tokens
from tests.live.conftest import QUESTIONS
from tests.scripted_server import Reply

from .conftest import Running, Serve, Upstream, figures


def scrape(running: Running) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics: (name, sorted labels) -> value."""
    url = running.url.removesuffix("/v1") + "/metrics"
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = resp.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_counters_after_requests(serve: Serve, upstream: Upstream) -> None:
    running = serve()
    budgeted = running.ask(QUESTIONS[2].text, autotts={"budget": 5000})
    assert not figures(budgeted)["truncated"]
    # its full budget is its budget
    saved = scrape(running)[("autotts_serve_saved_tokens_estimated_total", ())]
    assert saved == max(0, 5000 - budgeted.usage.completion_tokens) > 0
    answers = [running.ask(q.text) for q in QUESTIONS[:2]]
    with pytest.raises(openai.BadRequestError):
        running.ask(QUESTIONS[0].text, autotts={"chains": 99})
    upstream.fault = lambda body: Reply(status=400)  # refused at once: no retry
    with pytest.raises(openai.InternalServerError):
        running.ask("What is 6 times 7?")
    m = scrape(running)

    def count(outcome: str) -> float:
        return m[("autotts_serve_requests_total", (("outcome", outcome),))]

    assert (count("ok"), count("client_error"), count("upstream_error")) == (3, 1, 1)
    assert count("cancelled") == count("controller_error") == count("internal_error") == 0
    assert m[("autotts_serve_requests_in_flight", ())] == 0
    every = [r["usage"] for _, r in upstream.replies]
    assert m[("autotts_serve_generated_tokens_total", ())] == sum(
        u["completion_tokens"] for u in every
    )
    assert m[("autotts_serve_prompt_tokens_total", ())] == sum(u["prompt_tokens"] for u in every)
    made = [r for r in upstream.server.requests if r.path == "/v1/completions"]
    assert len(made) > len(every)  # the refused ones too
    assert m[("autotts_serve_upstream_requests_total", ())] == len(made)
    ok = [*answers, budgeted]
    charged = sum(figures(r)["tokens_charged"] for r in ok)
    assert m[("autotts_serve_charged_tokens_total", ())] == charged
    assert m[("autotts_serve_request_duration_seconds_count", ())] == 5
    assert m[("autotts_serve_saved_tokens_estimated_total", ())] >= saved


def _session(finished: list[bool], charged: list[int], generated: list[int]) -> LiveSession:
    chains = [SimpleNamespace(tokens=[0, g]) for g in generated]
    fake = SimpleNamespace(
        n_open=len(finished),
        is_finished=lambda i: finished[i],
        chain_tokens=lambda i: charged[i],
        chains=chains,
    )
    return cast(LiveSession, fake)


@pytest.mark.parametrize(
    ("finished", "charged", "generated", "options", "full"),
    [
        ([True, False, True], [300, 500, 700], [300, 900, 700], {"n_chains": 8}, 8 * 500),
        ([False, False], [500, 1000], [800, 1000], {"n_chains": 4}, 4 * 900),
        ([], [], [], {"n_chains": 4}, 0),
        ([True], [300], [300], {"n_chains": 4, "budget": 5000.0}, 5000),
    ],
    ids=["finished-chains", "none-finished", "none-opened", "budget"],
)
def test_full_budget_estimate(
    finished: list[bool], charged: list[int], generated: list[int], options: Any, full: float
) -> None:
    session = _session(finished, charged, generated)
    assert estimate_full_tokens(session, LiveOptions(**options)) == full


def test_in_flight_while_a_request_runs(serve: Serve, upstream: Upstream) -> None:
    running = serve()
    upstream.model.delay = 0.02
    reached = threading.Event()
    fault = upstream.fault

    def note(body: dict[str, Any]) -> Any:
        reached.set()
        return fault(body)

    upstream.fault = note
    thread = threading.Thread(target=running.ask, args=(QUESTIONS[0].text,))
    thread.start()
    try:
        assert reached.wait(30)
        assert scrape(running)[("autotts_serve_requests_in_flight", ())] == 1
    finally:
        thread.join(60)
    assert scrape(running)[("autotts_serve_requests_in_flight", ())] == 0
