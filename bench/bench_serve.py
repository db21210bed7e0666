"""Throughput and latency of ``autotts serve``: N chat requests at once against the scripted
model (tests/live/scripted_model.py) with a fixed delay per upstream request.

    python bench/bench_serve.py [--requests 32] [--concurrency 16] [--delay 0.02]
                                [--chains 8] [--controller cmc] [--request-concurrency 8]
                                [--max-active N]

Every request is a different question (question i's chains answer i), sent by its own thread
through the openai SDK at the same moment. Prints the wall time, requests per second, latency
percentiles, the upstream's most requests in flight, and the tokens generated, charged and
estimated saved (from /metrics). The machine is shared and noisy: compare runs made together.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the scripted model lives with the tests


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=32)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--request-concurrency", type=int, default=8)
    ap.add_argument("--max-active", type=int, default=None, help="default: the server's")
    ap.add_argument("--delay", type=float, default=0.02, help="seconds per upstream request")
    ap.add_argument("--chains", type=int, default=8)
    ap.add_argument("--controller", default="cmc")
    args = ap.parse_args()

    import openai

    from autotts.controllers import ControllerSpec
    from autotts.live import LiveOptions, ModelClient
    from autotts.serve import ServeConfig, Service
    from tests.live.conftest import SETTINGS
    from tests.live.scripted_model import QuestionScript
    from tests.serve.conftest import make_upstream

    questions = [
        QuestionScript(f"What is {i} plus zero?", {str(i): 3, str(i + 1): 1}, drift=(str(i),))
        for i in range(args.requests)
    ]
    up = make_upstream(questions)
    up.model.delay = args.delay
    beta = 0.5 if args.controller in ("cmc",) else None
    options = LiveOptions(n_chains=args.chains, concurrency=args.request_concurrency)
    config = ServeConfig("m", ControllerSpec(args.controller, beta=beta), options, args.chains)
    with up.server:
        client = ModelClient(up.url, "m", retries=0)
        service = Service(
            client, SETTINGS, config, concurrency=args.concurrency, max_active=args.max_active
        )
        active = service.engine.max_active
        with service:
            sdk = openai.OpenAI(base_url=service.url, api_key="b", max_retries=0, timeout=600)

            def ask(i: int) -> tuple[float, str | None]:
                start = time.perf_counter()
                r = sdk.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": questions[i].text}]
                )
                extra = r.model_extra or {}
                return time.perf_counter() - start, extra["autotts"]["answer"]

            start = time.perf_counter()
            with ThreadPoolExecutor(args.requests) as pool:
                got = list(pool.map(ask, range(args.requests)))
            wall = time.perf_counter() - start
            m = service.metrics
            generated = m.value("generated_tokens_total")
            charged = m.value("charged_tokens_total")
            saved = m.value("saved_tokens_estimated_total")
            upstream_requests = m.value("upstream_requests_total")
        client.close()
    latencies = sorted(t for t, _ in got)
    right = sum(a == str(i) for i, (_, a) in enumerate(got))

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))]

    print(
        f"{args.requests} requests, {args.controller} with {args.chains} chains, upstream delay "
        f"{args.delay * 1000:g} ms, --concurrency {args.concurrency} "
        f"(--request-concurrency {args.request_concurrency}, --max-active {active})"
    )
    print(f"  wall {wall:.2f} s, {args.requests / wall:.2f} requests/s, {right} right answers")
    print(f"  latency p50 {pct(0.5):.2f} s, p90 {pct(0.9):.2f} s, max {latencies[-1]:.2f} s")
    print(
        f"  upstream: {upstream_requests:.0f} requests, at most {up.model.max_in_flight} in "
        f"flight, {upstream_requests / wall:.0f} requests/s"
    )
    print(
        f"  tokens: {generated:,.0f} generated, {charged:,.0f} charged, "
        f"{saved:,.0f} estimated saved vs the full budget"
    )


if __name__ == "__main__":
    main()
