"""``autotts evaluate``: run a controller over replay environments and report accuracy/tokens."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from .common import CliError, env_paths, load_envs, parse_params, warn

if TYPE_CHECKING:
    from ..controllers import ControllerSpec
    from ..evaluate import EvalResult
    from ..sandbox import Limits

DEFAULT_BETA = 0.5
SANDBOX_TIMEOUT_S = 600.0
SANDBOX_MEMORY_MB = 2048


def _resolve_betas(controller: str, beta: str | None) -> list[float | None]:
    """The betas to run: 0.5 for a beta controller without --beta; none for fixed baselines;
    for original-style file classes the beta is passed only when given."""
    from ..controllers import controller_class, uses_beta
    from ..evaluate import parse_betas

    betas: list[float | None] = list(parse_betas(beta)) if beta is not None else []
    takes_beta = uses_beta(controller)
    defaults = getattr(controller_class(controller), "defaults", {}) if takes_beta is False else {}
    return _choose_betas(controller, betas, takes_beta, defaults)


def _choose_betas(
    controller: str, betas: list[float | None], takes_beta: bool | None, defaults: dict[str, Any]
) -> list[float | None]:
    if takes_beta is True:
        return betas or [DEFAULT_BETA]
    if takes_beta is False and betas:
        fixed = ", ".join(f"{k}={v}" for k, v in defaults.items())
        raise CliError(
            f"controller {controller!r} takes no beta (it is a fixed baseline"
            + (f" with parameters {fixed}" if fixed else "")
            + "); drop --beta or set parameters with --param"
        )
    return betas or [None]


def _evaluate_sandboxed(
    spec: ControllerSpec,
    beta: str | None,
    env_files: tuple[str, ...],
    workers: int,
    limits: Limits,
    show_progress: bool,
    options: dict[str, Any],
) -> list[EvalResult]:
    """``--sandbox``: the file controller's code runs only in sandbox processes (this process
    reads it as text); the (env, beta) grid is split over ``workers`` sandboxes."""
    from ..evaluate import parse_betas
    from ..sandbox import Candidate, describe_candidate, evaluate_sandboxed

    path, sep, class_name = spec.spec.rpartition(":")
    if not (sep and path.endswith(".py")):
        raise CliError(f"--sandbox runs controllers from files (FILE.py:CLASS), not {spec.spec!r}")
    betas: list[float | None] = list(parse_betas(beta)) if beta is not None else []
    try:
        with open(path, encoding="utf-8") as f:
            source = f.read()
    except FileNotFoundError:
        raise CliError(f"controller file not found: {path}") from None
    facts = describe_candidate(Candidate(source, class_name, path), limits=limits)
    if not facts.ok or facts.data is None:
        raise CliError(facts.reason)
    betas = _choose_betas(spec.spec, betas, facts.data["uses_beta"], facts.data["defaults"])
    envs = load_envs(env_files)  # fail on a bad file before starting sandboxes

    def run(progress: Callable[[int], None] | None) -> list[EvalResult]:
        outcome, results = evaluate_sandboxed(
            source,
            class_name,
            env_files,
            betas,
            params=spec.params,
            limits=limits,
            label=spec.spec,
            workers=workers,
            progress=progress,
            filename=path,
            **options,
        )
        if not outcome.ok:
            raise CliError(outcome.reason)
        return results

    if not show_progress:
        return run(None)
    from .render import progress_bar

    total = sum(len(e) for e in envs) * len(betas) * options["protocol"].replicates
    with progress_bar(total, f"{spec.spec} on {len(envs)} env(s), sandboxed") as advance:
        return run(advance)


def _json_line(r: EvalResult) -> str:
    record = r.to_json()
    record.pop("per_question_accuracy", None)  # keeps lines short; the CLI reports aggregates
    return json.dumps(record)


def report_errors(results: list[EvalResult], who: str = "") -> None:
    """Warn about episodes that raised (``who`` prefixes each line, e.g. ``"A: "``); a
    one-line error when every episode raised."""
    for r in results:
        if r.errors:
            where = who + f"{r.model}/{r.dataset}"
            where += f" beta={r.beta:g}" if r.beta is not None else ""
            first = r.error_examples[0] if r.error_examples else "?"
            warn(f"{where}: {r.errors} of {r.episodes} episodes raised; first: {first}")
    total = sum(r.episodes for r in results)
    if total and sum(r.errors for r in results) == total:
        raise CliError(f"every one of the {total} episodes raised an exception (see above)")


@click.command(short_help="Evaluate a controller on replay environments.")
# options renamed in Python keep their AUTOTTS_EVALUATE_<OPTION> variable
@click.option(
    "--env",
    "env_files",
    multiple=True,
    metavar="FILE...",
    envvar="AUTOTTS_EVALUATE_ENV",
    type=click.Path(),
    help="Environment file(s), own or released format: --env a.json b.json (a shell glob "
    "works) or --env a.json --env b.json.",
)
# the files after the first one of `--env a.json b.json ...` arrive as arguments
@click.argument("more_env_files", nargs=-1, type=click.Path(), metavar="")
@click.option(
    "--controller",
    required=True,
    metavar="NAME|FILE.py:CLASS",
    help="A registered controller (sc, asc, esc, parallel_probe, cmc) or a class in a file.",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="K=V",
    envvar="AUTOTTS_EVALUATE_PARAM",
    help="Controller parameter (repeatable); V parses as int, float, true/false, else string.",
)
@click.option(
    "--beta",
    default=None,
    metavar="B|START:STOP:STEP|B1,B2,...",
    help=f"Beta(s) in [0, 1]. Beta-parameterized controllers default to "
    f"{DEFAULT_BETA}; fixed baselines (e.g. sc) take no beta; file classes get one "
    "(as config['beta']) only if given.",
)
@click.option(
    "--replicates", default=100, show_default=True, type=int, help="Chain orders per question."
)
@click.option(
    "--protocol",
    default="official",
    show_default=True,
    metavar="official|subsample",
    help="official: replicate r shuffles with random.Random(r); subsample: seeded "
    "independent permutations per question.",
)
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Seed of --protocol subsample."
)
@click.option(
    "--match",
    default="exact",
    show_default=True,
    metavar="exact|normalized|math",
    help="Answer matching: string equality, normalized LaTeX/whitespace, or math-verify "
    "equivalence.",
)
@click.option(
    "--kappa-probe",
    default=0.0,
    show_default=True,
    type=float,
    help="Extra cost charged per probe, in tokens.",
)
@click.option(
    "--budget",
    default=None,
    type=float,
    metavar="TOKENS",
    help="Per-episode cost cap; an action past it ends the episode (majority of the "
    "answers seen so far).",
)
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(min=1), help="Worker processes."
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    envvar="AUTOTTS_EVALUATE_JSON",
    help="One JSON object per line per (env, beta) instead of a table.",
)
@click.option(
    "--sandbox",
    is_flag=True,
    help="Run the file controller only in sandbox processes (static policy, then a separate "
    "interpreter with limits), for code you do not trust; --workers sandboxes in parallel.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help=f"With --sandbox: wall-clock limit per sandbox [default: {SANDBOX_TIMEOUT_S:g}].",
)
@click.option(
    "--memory-mb",
    type=click.IntRange(min=64),
    default=None,
    help=f"With --sandbox: address-space limit per sandbox [default: {SANDBOX_MEMORY_MB}].",
)
@click.option(
    "--strict",
    is_flag=True,
    help="With --sandbox: strict mode: the sessions stay in this process and the candidate "
    "gets a proxy, so no chain data it has not revealed is in its memory (slower).",
)
@click.option(
    "--require-jail",
    is_flag=True,
    envvar="AUTOTTS_REQUIRE_JAIL",
    help="With --sandbox: refuse to run when an OS layer of the sandbox (bubblewrap "
    "namespaces, seccomp) is missing on this host, instead of warning.",
)
@click.option(
    "--episode-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="With --sandbox: seconds one episode may take before the candidate is stopped "
    "[default: 5].",
)
def evaluate(
    env_files: tuple[str, ...],
    more_env_files: tuple[str, ...],
    controller: str,
    params: tuple[str, ...],
    beta: str | None,
    replicates: int,
    protocol: str,
    seed: int,
    match: str,
    kappa_probe: float,
    budget: float | None,
    workers: int,
    as_json: bool,
    sandbox: bool,
    timeout: float | None,
    memory_mb: int | None,
    strict: bool,
    require_jail: bool,
    episode_timeout: float | None,
) -> None:
    """Evaluate a controller on replay environments: accuracy (percent, with a 95% bootstrap
    interval over questions) and average tokens per question, for each environment and beta.

    \b
    Examples:
      autotts evaluate --env Qwen3-4B/aime25.json --controller sc --param k=16
      autotts evaluate --env a.json --env b.json --controller cmc --beta 0:1:0.1
      autotts evaluate --env a.json --controller method.py:OptimalController --beta 0.5 --json

    Exits 2 on a bad option or file; episodes whose controller raised are counted as wrong and
    reported (exit 0), unless every episode raised (exit 2). With --sandbox, a controller the
    sandbox rejects or stops (policy, timeout, memory, crash, ...) is one error line, exit 2.
    """
    from ..controllers import ControllerSpec, make_solver
    from ..data import MATCH_MODES
    from ..evaluate import Protocol
    from ..evaluate import evaluate as run_evaluation

    env_files += more_env_files
    if not env_files:
        raise CliError("no environment given: use --env FILE...")
    env_files = env_paths(env_files)
    # everything that can be checked cheaply is checked before the files are read
    spec = ControllerSpec(controller, parse_params(params))
    proto = Protocol(protocol, replicates, seed)
    if match not in MATCH_MODES:
        raise CliError(f"unknown --match {match!r} (choose from {', '.join(MATCH_MODES)})")
    options: dict[str, Any] = dict(
        protocol=proto, match=match, kappa_probe=kappa_probe, budget=budget
    )
    show_progress = not as_json and sys.stderr.isatty()
    if sandbox:
        from ..sandbox import Limits

        limits = Limits(
            timeout or SANDBOX_TIMEOUT_S,
            memory_mb or SANDBOX_MEMORY_MB,
            episode_timeout_s=episode_timeout or Limits().episode_timeout_s,
            require_jail=require_jail,
        )
        results = _evaluate_sandboxed(
            spec, beta, env_files, workers, limits, show_progress, {**options, "strict": strict}
        )
    else:
        if timeout is not None or memory_mb is not None or episode_timeout is not None:
            raise CliError("--timeout, --memory-mb and --episode-timeout apply to --sandbox runs")
        if strict or require_jail:
            raise CliError("--strict and --require-jail apply to --sandbox runs")
        betas = _resolve_betas(controller, beta)
        for b in betas:
            make_solver(spec.with_beta(b))
        envs = load_envs(env_files)
        if not show_progress:
            results = run_evaluation(envs, spec, betas, workers=workers, **options)
        else:
            from .render import progress_bar

            total = sum(len(e) for e in envs) * len(betas) * replicates
            with progress_bar(total, f"{controller} on {len(envs)} env(s)") as advance:
                results = run_evaluation(
                    envs, spec, betas, workers=workers, progress=advance, **options
                )

    if as_json:
        for r in results:
            click.echo(_json_line(r))
    else:
        from .render import print_results

        print_results(results)
    report_errors(results)
