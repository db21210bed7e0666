"""``GET /metrics``: Prometheus counters of what the server did, in a registry of its own (so
several servers in one process, as in the tests, never mix their numbers).

Every name starts with ``autotts_serve_``:

* ``requests_total{outcome}``: chat completion requests by how they ended: ``ok``,
  ``client_error`` (refused with a 4xx), ``upstream_error`` (502), ``controller_error`` (500:
  the controller raised), ``internal_error`` (500: a bug), ``cancelled`` (the client went away,
  or the server was stopping);
* ``requests_in_flight``: chat completion requests being handled now;
* ``upstream_requests_total``: requests made to the upstream model server;
* ``generated_tokens_total``: tokens the upstream generated (chain steps, speculative ones
  included, and probes), for every request whatever its outcome;
* ``prompt_tokens_total``: prompt tokens the upstream processed;
* ``charged_tokens_total``: tokens charged to answered requests by the replay rules;
* ``saved_tokens_estimated_total``: over answered requests, max(0, full budget - generated
  tokens), where the full budget is the request's token budget if it has one, else its chains
  times the mean length of the chains it opened and saw finish (what self-consistency over
  every chain would have generated); when none finished, times the mean length so far of the
  chains it opened (an underestimate);
* ``request_duration_seconds``: a histogram of the time to handle each chat completion request
  (every outcome).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from .engine import Outcome

OUTCOMES = (
    "ok",
    "client_error",
    "upstream_error",
    "controller_error",
    "internal_error",
    "cancelled",
)
BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320, 640, float("inf"))


class Metrics:
    """The server's counters (see the module docstring)."""

    content_type = CONTENT_TYPE

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        kw: dict[str, Any] = {"namespace": "autotts_serve", "registry": self.registry}
        self.requests = Counter(
            "requests", "Chat completion requests by outcome.", ["outcome"], **kw
        )
        for outcome in OUTCOMES:
            self.requests.labels(outcome)  # every outcome shows, at 0 until it happens
        self.in_flight = Gauge("requests_in_flight", "Chat completion requests in flight.", **kw)
        self.upstream_requests = Counter(
            "upstream_requests", "Requests made to the upstream model server.", **kw
        )
        self.generated = Counter(
            "generated_tokens",
            "Tokens the upstream generated (chain steps incl. speculative ones, and probes).",
            **kw,
        )
        self.prompt = Counter("prompt_tokens", "Prompt tokens the upstream processed.", **kw)
        self.charged = Counter(
            "charged_tokens", "Tokens charged to answered requests (replay rules).", **kw
        )
        self.saved = Counter(
            "saved_tokens_estimated",
            "Estimated tokens saved vs the full budget (budget, or chains x mean finished "
            "chain length), over answered requests.",
            **kw,
        )
        self.duration = Histogram(
            "request_duration_seconds",
            "Time to handle a chat completion request.",
            buckets=BUCKETS,
            **kw,
        )

    @contextmanager
    def handling(self) -> Iterator[None]:
        """Around the handling of one chat completion request: in flight, then timed."""
        with self.in_flight.track_inprogress(), self.duration.time():
            yield

    def client_error(self) -> None:
        self.requests.labels("client_error").inc()

    def record(self, outcome: Outcome) -> None:
        self.requests.labels(outcome.status).inc()
        self.upstream_requests.inc(outcome.upstream_requests)
        self.generated.inc(outcome.completion_tokens)
        self.prompt.inc(outcome.prompt_tokens)
        if outcome.status == "ok" and outcome.result is not None:
            self.charged.inc(outcome.result.tokens)
            self.saved.inc(outcome.saved_tokens_estimated)

    def value(self, name: str, **labels: str) -> float:
        """One sample's value, e.g. ``value("requests_total", outcome="ok")`` (0 if absent)."""
        found = self.registry.get_sample_value(f"autotts_serve_{name}", labels)
        return 0.0 if found is None else found

    def render(self) -> bytes:
        return generate_latest(self.registry)
