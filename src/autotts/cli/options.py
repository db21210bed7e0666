"""The options every command shares, declared once.

Each group is a decorator (``@env_option()``, ``@betas_option(...)``, ``@settings_options()``,
``@workers_option``, ``@sandbox_options``), so a name means one thing in every command, with
one default. Every command is a :class:`Command`: an option given twice is an error unless it
is a list (``--env``, ``--betas``, ``--param``), whose repeats add up. Every option can be set
as ``AUTOTTS_<COMMAND>_<OPTION>`` (a list option splits the value on whitespace), under each of
its names (``AUTOTTS_EVALUATE_BETA`` for the alias ``--beta`` too).

Only click is imported here: the library is imported when a value is converted. The option
and command classes behind this are in :mod:`.params`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from .common import CliError
from .params import Command, GreedyOption, Number, Option

F = Callable[..., Any]

MATCH_CHOICES = ("exact", "normalized", "math")  # autotts.data.MATCH_MODES (a test keeps them one)
PROTOCOL_CHOICES = ("official", "subsample")  # autotts.evaluate.PROTOCOLS
DEFAULT_REPLICATES = 100
MAX_REPLICATES = 100_000  # autotts.evaluate.MAX_REPLICATES
DEFAULT_BETAS_TEXT = "0:1:0.1"
SANDBOX_TIMEOUT_S = 300.0  # autotts.discover.config.SANDBOX_TIMEOUT_S
SANDBOX_MEMORY_MB = 4096
DEFAULT_CHAINS = 64  # chains a live question may open (solve) or gets (collect)
MAX_CONCURRENCY = 1024  # requests in flight (threads)


def option(*names: str, **kwargs: Any) -> Callable[[F], F]:
    """``click.option`` with :class:`Option` (env vars under every name, quiet aliases)."""
    kwargs.setdefault("cls", Option)
    return click.option(*names, **kwargs)


def command(**kwargs: Any) -> Callable[[F], click.Command]:
    """``click.command`` as a :class:`Command`."""
    return click.command(cls=Command, **kwargs)


def _apply(f: F, decorators: list[Callable[[F], F]]) -> F:
    for d in reversed(decorators):
        f = d(f)
    return f


def env_option(
    name: str = "--env", dest: str = "env_files", help: str | None = None, **kwargs: Any
) -> Callable[[F], F]:
    """Environment files: ``--env a.json b.json`` (a shell glob works) or repeated."""
    return option(
        name,
        dest,
        cls=GreedyOption,
        metavar="FILE...",
        type=click.Path(),
        help=help
        or "Environment file(s), own or released format (a shell glob works; repeats add up).",
        **kwargs,
    )


def betas_option(help: str) -> Callable[[F], F]:
    """The beta sweep: ``--betas B|START:STOP:STEP|B1,B2,...`` (also ``--beta``); values and
    repeats add up to one ascending sweep; ``betas`` is None when not given."""

    def merged(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Any:
        if not value:
            return None
        from ..evaluate import merge_betas

        try:
            return tuple(merge_betas(value))
        except ValueError as e:
            raise click.BadParameter(str(e), ctx, param) from None

    return option(
        "--betas",
        "--beta",
        "betas",
        cls=GreedyOption,
        metavar="B|START:STOP:STEP|B1,B2,...",
        callback=merged,
        help=help + " Repeats add up (--betas 0 --betas 0.5 is 0, 0.5).",
    )


def params_option(name: str = "--param", dest: str = "params", help: str = "") -> Callable[[F], F]:
    return option(
        name,
        dest,
        multiple=True,
        metavar="K=V",
        help=help
        or "Controller parameter (repeatable); V parses as int, float, true/false, else string.",
    )


def match_option(f: F) -> F:
    return option(
        "--match",
        default="exact",
        show_default=True,
        type=click.Choice(MATCH_CHOICES),
        help="Answer matching: string equality, normalized LaTeX/whitespace, or math-verify "
        "equivalence.",
    )(f)


kappa_probe_option = option(
    "--kappa-probe",
    default=0.0,
    show_default=True,
    type=Number(0),
    help="Extra cost charged per probe, in tokens (>= 0).",
)
budget_option = option(
    "--budget",
    default=None,
    type=Number(0, above=True),
    metavar="TOKENS",
    help="Per-episode cost cap (> 0); controllers see what remains (session.remaining_budget) "
    "and an action past it ends the episode (majority of the answers seen so far, counted as "
    "truncated).",
)


def beta_option(help: str, default: float | None = None) -> Callable[[F], F]:
    """One beta in [0, 1] (commands that run one episode or one question)."""
    return option(
        "--beta",
        default=default,
        show_default=default is not None,
        type=Number(0, maximum=1),
        metavar="B",
        help=help,
    )


def settings_options(replicates: bool = True, probe_costs: bool = True) -> Callable[[F], F]:
    """--protocol, --replicates, --seed, --match, --kappa-probe, --budget. The command receives
    ``settings`` (an :class:`~autotts.evaluate.EvalSettings`) in their place. Without
    ``replicates`` there is no --replicates (the protocol gets the default); without
    ``probe_costs`` there is no --kappa-probe/--budget."""
    decorators: list[Callable[[F], F]] = [
        option(
            "--protocol",
            default="official",
            show_default=True,
            type=click.Choice(PROTOCOL_CHOICES),
            help="official: replicate r shuffles with random.Random(r); subsample: seeded "
            "independent permutations per question.",
        ),
    ]
    if replicates:
        decorators.append(
            option(
                "--replicates",
                default=DEFAULT_REPLICATES,
                show_default=True,
                type=click.IntRange(1, MAX_REPLICATES),
                help=f"Chain orders per question (at most {MAX_REPLICATES:,}).",
            )
        )
    decorators += [
        option(
            "--seed",
            default=0,
            show_default=True,
            type=int,
            help="Seed of --protocol subsample (and of compare's bootstrap).",
        ),
        match_option,
    ]
    if probe_costs:
        decorators += [kappa_probe_option, budget_option]

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def wrapper(*args: Any, **kw: Any) -> Any:
            from ..evaluate import EvalSettings, Protocol

            reps = kw.pop("replicates", None) if replicates else None
            proto = Protocol(kw.pop("protocol"), reps or DEFAULT_REPLICATES, kw.pop("seed"))
            kappa = kw.pop("kappa_probe", 0.0)
            budget = kw.pop("budget", None)
            kw["settings"] = EvalSettings(proto, kw.pop("match"), kappa, budget)
            return f(*args, **kw)

        return _apply(wrapper, decorators)

    return decorate


def workers_option(f: F) -> F:
    """--workers N, 1 by default, at most 4 per CPU core; and --ray [ADDRESS] (or
    $AUTOTTS_RAY_ADDRESS): the same work units on a Ray cluster. The command receives
    ``workers`` as an int or as the connected pool (closed when it returns)."""

    def bounded(ctx: click.Context, param: click.Parameter, value: int) -> int:
        from ..procs import check_workers

        try:
            return check_workers(value)
        except ValueError as e:
            raise click.BadParameter(str(e), ctx, param) from None

    @functools.wraps(f)
    def wrapper(*args: Any, **kw: Any) -> Any:
        from click.core import ParameterSource

        address = kw.pop("ray_address", None)
        if address is None:
            return f(*args, **kw)
        ctx = click.get_current_context()
        if ctx.get_parameter_source("workers") == ParameterSource.COMMANDLINE:
            if ctx.get_parameter_source("ray_address") == ParameterSource.ENVIRONMENT:
                return f(*args, **kw)  # --workers on the command line beats the environment
            raise CliError("--workers and --ray exclude each other: on a cluster every CPU works")
        from ..cluster import ClusterError, connect

        try:
            pool = connect(address)
        except ClusterError as e:
            raise CliError(str(e)) from None
        try:
            kw["workers"] = pool
            return f(*args, **kw)
        except ClusterError as e:
            raise CliError(str(e)) from None
        finally:
            pool.close()

    return _apply(
        wrapper,
        [
            option(
                "--workers",
                default=1,
                show_default=True,
                type=int,
                callback=bounded,
                help="Worker processes (or sandboxes) at once; at most 4 per CPU core.",
            ),
            option(
                "--ray",
                "ray_address",
                is_flag=False,
                flag_value="",
                default=None,
                envvar="AUTOTTS_RAY_ADDRESS",
                metavar="[ADDRESS]",
                help="Run the work on the Ray cluster at ADDRESS (host:port; without one, "
                "$AUTOTTS_RAY_ADDRESS, else the cluster this machine belongs to), with results "
                "identical to local workers. Needs pip install 'autotts[ray]'.",
            ),
        ],
    )


def sandbox_options(f: F) -> F:
    """--timeout and --memory-mb: the limits of one sandbox (defaults shared by every command).
    The values arrive as None when not given: see :func:`sandbox_limits`."""
    return _apply(
        f,
        [
            option(
                "--timeout",
                default=None,
                type=Number(0, above=True),
                metavar="SECONDS",
                help=f"Sandbox wall-clock limit per sandbox [default: {SANDBOX_TIMEOUT_S:g}].",
            ),
            option(
                "--memory-mb",
                default=None,
                type=click.IntRange(min=64),
                help=f"Sandbox address-space limit, MB [default: {SANDBOX_MEMORY_MB}].",
            ),
        ],
    )


def jail_options(f: F) -> F:
    """--strict, --require-jail and --episode-timeout: how far the sandbox goes."""
    return _apply(
        f,
        [
            option(
                "--strict",
                is_flag=True,
                help="With --sandbox: strict mode: the sessions stay in this process and the "
                "candidate gets a proxy, so no chain data it has not revealed is in its memory "
                "(slower).",
            ),
            option(
                "--require-jail",
                is_flag=True,
                help="With --sandbox: refuse to run when an OS layer of the sandbox (bubblewrap "
                "namespaces, seccomp) is missing on this host, instead of warning.",
            ),
            option(
                "--episode-timeout",
                default=None,
                type=Number(0, above=True),
                metavar="SECONDS",
                help="With --sandbox: how long one episode may take before the candidate is "
                "stopped [default: 5].",
            ),
        ],
    )


def sandbox_limits(timeout: float | None, memory_mb: int | None) -> tuple[float, int]:
    return (
        SANDBOX_TIMEOUT_S if timeout is None else timeout,
        SANDBOX_MEMORY_MB if memory_mb is None else memory_mb,
    )


def chains_option(help: str, default: int = DEFAULT_CHAINS) -> Callable[[F], F]:
    return option(
        "--chains",
        default=default,
        show_default=True,
        type=click.IntRange(min=1),
        help=help,
    )


def model_options(command: str, concurrency: int = 8) -> Callable[[F], F]:
    """Where the model is and how to talk to it (shared by collect, solve and serve);
    ``concurrency`` is the default of --concurrency."""

    def decorate(f: F) -> F:
        return _apply(
            f,
            [
                option(
                    "--base-url",
                    required=True,
                    metavar="URL",
                    help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1 (vLLM).",
                ),
                option("--model", required=True, metavar="NAME", help="Model name."),
                option(
                    "--api-key",
                    default=None,
                    envvar=[f"AUTOTTS_{command}_API_KEY", "OPENAI_API_KEY"],
                    show_envvar=False,
                    help="API key (default: $OPENAI_API_KEY; local servers need none).",
                ),
                option(
                    "--concurrency",
                    default=concurrency,
                    show_default=True,
                    type=click.IntRange(1, MAX_CONCURRENCY),
                    help=f"Requests in flight at most (<= {MAX_CONCURRENCY}).",
                ),
                option(
                    "--request-timeout",
                    default=600.0,
                    show_default=True,
                    type=Number(0, above=True),
                    metavar="SECONDS",
                    help="Seconds to wait for one HTTP response from the model server.",
                ),
                option(
                    "--retries",
                    default=5,
                    show_default=True,
                    type=click.IntRange(min=0),
                    help="Retries of a request that failed transiently (429, 5xx, timeout, "
                    "malformed response).",
                ),
                option(
                    "--retry-wait",
                    default=1.0,
                    show_default=True,
                    type=Number(0),
                    help="Seconds before the first retry; doubles each time (at most 60).",
                ),
            ],
        )

    return decorate


def speculation_options(f: F) -> F:
    """--speculate/--no-speculate and --prefetch: what a live session generates ahead of its
    controller (solve and serve)."""
    return _apply(
        f,
        [
            option(
                "--speculate/--no-speculate",
                default=True,
                show_default=True,
                help="Generate what the controller will likely ask for next in spare request "
                "slots.",
            ),
            option(
                "--prefetch",
                default=4,
                show_default=True,
                type=click.IntRange(min=0),
                help="Chains not yet opened that speculation may start.",
            ),
        ],
    )


def sampling_options(f: F) -> F:
    """What a chain is (shared by collect and solve: use the same values to get the same
    chains)."""
    return _apply(
        f,
        [
            option(
                "--interval",
                default=500,
                show_default=True,
                type=click.IntRange(min=1),
                help="Tokens per step; each step is probed.",
            ),
            option(
                "--max-tokens",
                default=32768,
                show_default=True,
                type=click.IntRange(min=1),
                help="A chain's length limit in tokens.",
            ),
            option(
                "--temperature", default=0.7, show_default=True, type=Number(0), help="Sampling."
            ),
            option("--top-p", default=None, type=Number(0, maximum=1), help="Nucleus sampling."),
            option(
                "--user-message",
                default=None,
                metavar="TEXT|@FILE",
                help="The user message, with {question} once, given to the model's chat "
                "template by the server (default: the question and a \\boxed{} instruction).",
            ),
            option(
                "--prompt-template",
                default=None,
                metavar="FILE",
                type=click.Path(),
                help="A raw prompt with {question} once, instead of the model's chat template "
                "(where the server cannot apply it: ChatML with the user message).",
            ),
            option(
                "--continuation",
                default="auto",
                show_default=True,
                type=click.Choice(["auto", "tokens", "text"]),
                help="Continue chains by token ids (exact; vLLM, SGLang) or as text; auto: by "
                "token ids where the server supports them.",
            ),
            option(
                "--probe-suffix",
                default=None,
                metavar="TEXT",
                help="Appended to a chain to probe it (default: '... Oh, I suddenly got the "
                "answer to the whole problem, **Final Answer** \\[ \\boxed{').",
            ),
            option(
                "--probe-tokens",
                default=20,
                show_default=True,
                type=click.IntRange(min=1),
                help="Tokens a probe may write.",
            ),
            option(
                "--seed",
                default=0,
                show_default=True,
                type=int,
                help="Base of the per-request sampling seeds.",
            ),
        ],
    )


__all__ = ["Command", "GreedyOption", "Number", "Option"]
