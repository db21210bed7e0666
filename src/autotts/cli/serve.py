"""``autotts serve``: an OpenAI-compatible endpoint that answers with a controller run live."""

from __future__ import annotations

import signal
from typing import Any

import click

from .collect import make_client, make_sampler, make_settings
from .common import CliError, Interrupted, parse_params, resolve_controller
from .options import (
    MAX_CONCURRENCY,
    beta_option,
    budget_option,
    chains_option,
    command,
    kappa_probe_option,
    match_option,
    model_options,
    option,
    params_option,
    sampling_options,
    speculation_options,
)
from .solve import DEFAULT_BETA, controller_beta

DEFAULT_CHAINS = 16
DEFAULT_CONCURRENCY = 16
DEFAULT_REQUEST_CONCURRENCY = 8
CHECK_QUESTION = "What is 1 + 1?"  # what the prompt format and continuation are tried on


@command(short_help="Serve a controller as an OpenAI-compatible chat endpoint.")
@model_options("SERVE", concurrency=DEFAULT_CONCURRENCY)
@option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@option(
    "--port",
    default=8100,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: a free one, printed at start-up).",
)
@option(
    "--served-name",
    default=None,
    metavar="NAME",
    help="The model name clients ask for [default: --model].",
)
@option(
    "--controller",
    default="cmc",
    show_default=True,
    metavar="NAME|FILE.py:CLASS|genome:FILE",
    help="The controller requests get (a request may name another registered one); "
    "genome:FILE runs a genome the evolve search found (its genome.json or controller.py) "
    "with autotts's own interpreter.",
)
@params_option()
@beta_option(f"Beta in [0, 1] of a beta-parameterized controller [default: {DEFAULT_BETA}].")
@chains_option(
    "Chains a request's controller may open (a request may ask for others).", DEFAULT_CHAINS
)
@option(
    "--max-chains",
    default=64,
    show_default=True,
    type=click.IntRange(min=1),
    help="The most chains a request may ask for.",
)
@option(
    "--request-concurrency",
    default=None,
    type=click.IntRange(1, MAX_CONCURRENCY),
    help="Upstream requests one question may have queued or running, of the --concurrency "
    f"shared by all [default: {DEFAULT_REQUEST_CONCURRENCY}, at most --concurrency].",
)
@option(
    "--max-active",
    default=None,
    type=click.IntRange(1, MAX_CONCURRENCY),
    help="Questions solved at once; later requests wait their turn [default: 4 x "
    "--concurrency / --request-concurrency, rounded up: 8].",
)
@sampling_options
@speculation_options
@kappa_probe_option
@budget_option
@match_option
@option("--access-log", is_flag=True, help="Log every HTTP request on stderr.")
def serve(
    host: str,
    port: int,
    served_name: str | None,
    controller: str,
    params: tuple[str, ...],
    beta: float | None,
    chains: int,
    max_chains: int,
    request_concurrency: int | None,
    max_active: int | None,
    speculate: bool,
    prefetch: int,
    kappa_probe: float,
    budget: float | None,
    match: str,
    access_log: bool,
    **opts: Any,
) -> None:
    """Serve POST /v1/chat/completions, GET /v1/models, GET /metrics and GET /health in
    front of the model server at --base-url. Each chat request runs the controller on its
    last user message, as `autotts solve` does for one question, and answers with the text of
    a chain that gave the aggregated answer, that answer in a box, exact token usage and the
    run's figures (under "autotts").

    A request may override controller (a registered name), beta, chains and budget with an
    "autotts" object in its body (openai SDK: extra_body={"autotts": {...}}). The sampling is
    the server's: a request's temperature, max_tokens and the like are ignored.

    At most --concurrency requests are in flight to the model server, across all chat
    requests. A client that disconnects cancels its run. The default of 16 chains keeps a
    request's worst case at 16 chains' tokens while voting over enough of them to settle.

    \b
    Example:
      autotts serve --base-url http://localhost:8000/v1 --model Qwen/Qwen3-4B --port 8100
      curl http://127.0.0.1:8100/v1/chat/completions -H 'Content-Type: application/json' \\
          -d '{"model": "Qwen/Qwen3-4B", "messages": [{"role": "user", "content": "2+2?"}]}'
    """
    from ..controllers import ControllerSpec, make_solver
    from ..live import LiveOptions
    from ..serve import ServeConfig, Service

    controller = resolve_controller(controller)
    spec = ControllerSpec(controller, parse_params(params), controller_beta(controller, beta))
    make_solver(spec)  # a bad controller or parameter fails before anything starts
    settings = make_settings(opts)
    concurrency = opts["concurrency"]
    if request_concurrency is None:
        request_concurrency = min(DEFAULT_REQUEST_CONCURRENCY, concurrency)
    elif request_concurrency > concurrency:
        raise CliError(
            f"--request-concurrency {request_concurrency} is more than --concurrency "
            f"{concurrency} (the upstream limit shared by every request)"
        )
    if chains > max_chains:
        raise CliError(f"--chains {chains} is more than --max-chains {max_chains}")
    options = LiveOptions(
        n_chains=chains,
        kappa_probe=kappa_probe,
        budget=budget,
        match=match,
        concurrency=request_concurrency,
        speculate=speculate,
        prefetch=prefetch,
    )
    name = served_name or opts["model"]
    config = ServeConfig(name, spec, options, max_chains)
    client = make_client(opts)  # the upstream answers and serves the model, or one error line
    try:
        # as solve: the model's chat template and token-id continuation where the server can
        sampler, _ = make_sampler(client, settings, CHECK_QUESTION, opts)
        try:
            service = Service(
                client,
                sampler.settings,
                config,
                concurrency=concurrency,
                max_active=max_active,
                host=host,
                port=port,
                access_log=access_log,
            )
        except OSError as e:
            raise CliError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
        model = opts["model"] + (f" served as {name}" if name != opts["model"] else "")
        b = "none" if spec.beta is None else f"{spec.beta:g}"
        click.echo(
            f"autotts serve: {service.url} -> {opts['base_url']} (model {model}, controller "
            f"{controller}, beta {b}, concurrency {concurrency})",
            err=True,
        )
        previous = signal.signal(signal.SIGTERM, _terminate)
        try:
            service.run()
        except KeyboardInterrupt:
            answered = int(service.metrics.value("requests_total", outcome="ok"))
            raise Interrupted(f"stopped serving ({answered} request(s) answered)") from None
        finally:
            signal.signal(signal.SIGTERM, previous)
    finally:
        client.close()


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM (after uvicorn's graceful stop): as Ctrl-C
