"""``autotts evaluate``: run a controller over replay environments and report accuracy/tokens."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from .common import CliError, env_paths, load_envs, parse_params, warn
from .options import (
    DEFAULT_BETAS_TEXT,
    betas_option,
    command,
    env_option,
    jail_options,
    option,
    params_option,
    sandbox_limits,
    sandbox_options,
    settings_options,
    workers_option,
)

if TYPE_CHECKING:
    from ..controllers import ControllerSpec
    from ..evaluate import EvalResult, EvalSettings
    from ..sandbox import Limits


def _resolve_betas(controller: str, given: tuple[float, ...] | None) -> list[float | None]:
    """The betas to run: the default sweep for a beta controller without --betas; none for
    fixed baselines; for original-style file classes the betas are passed only when given."""
    from ..controllers import controller_class, uses_beta

    betas: list[float | None] = list(given or ())
    takes_beta = uses_beta(controller)
    defaults = getattr(controller_class(controller), "defaults", {}) if takes_beta is False else {}
    return _choose_betas(controller, betas, takes_beta, defaults)


def _choose_betas(
    controller: str, betas: list[float | None], takes_beta: bool | None, defaults: dict[str, Any]
) -> list[float | None]:
    if takes_beta is True:
        from ..evaluate import DEFAULT_BETAS

        return betas or list(DEFAULT_BETAS)
    if takes_beta is False and betas:
        fixed = ", ".join(f"{k}={v}" for k, v in defaults.items())
        raise CliError(
            f"controller {controller!r} takes no beta (it is a fixed baseline"
            + (f" with parameters {fixed}" if fixed else "")
            + "); drop --betas or set parameters with --param"
        )
    return betas or [None]


def _evaluate_sandboxed(
    spec: ControllerSpec,
    given: tuple[float, ...] | None,
    env_files: tuple[str, ...],
    workers: int,
    limits: Limits,
    show_progress: bool,
    settings: EvalSettings,
    strict: bool = False,
) -> list[EvalResult]:
    """``--sandbox``: the file controller's code runs only in sandbox processes (this process
    reads it as text); the (env, beta) grid is split over ``workers`` sandboxes; ``strict``:
    sessions stay here and the candidate gets a proxy."""
    from ..controllers import split_file_spec
    from ..sandbox import Candidate, describe_candidate, evaluate_sandboxed

    file = split_file_spec(spec.spec)
    if file is None:
        raise CliError(f"--sandbox runs controllers from files (FILE.py:CLASS), not {spec.spec!r}")
    path, class_name, source = read_file_controller(*file)
    betas: list[float | None] = list(given or ())
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
            strict=strict,
            **sandbox_settings(settings),
        )
        if not outcome.ok:
            raise CliError(outcome.reason)
        return results

    if not show_progress:
        return run(None)
    from .render import progress_bar

    total = sum(len(e) for e in envs) * len(betas) * settings.replicates
    with progress_bar(total, f"{spec.spec} on {len(envs)} env(s), sandboxed") as advance:
        return run(advance)


def read_file_controller(path: str, class_name: str | None) -> tuple[str, str, str]:
    """(path, class name, source) of a file controller that will run only in the sandbox: read
    as text, its class found without running it when the spec names none."""
    from ..controllers import source_controller_class

    try:
        with open(path, encoding="utf-8") as f:
            source = f.read()
    except FileNotFoundError:
        raise CliError(f"controller file not found: {path}") from None
    return path, class_name or source_controller_class(path, source), source


def sandbox_settings(settings: EvalSettings) -> dict[str, Any]:
    """The separate keywords ``autotts.sandbox.evaluate_sandboxed`` takes."""
    return dict(
        protocol=settings.protocol,
        match=settings.match,
        kappa_probe=settings.kappa_probe,
        budget=settings.budget,
    )


def _json_line(r: EvalResult) -> str:
    record = r.to_json(wall_clock=False)
    for key in ("per_question_accuracy", "per_question_tokens", "per_question_sequential"):
        record.pop(key, None)  # keeps lines short; the CLI reports aggregates
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


@command(short_help="Evaluate a controller on replay environments.")
@env_option()
@option(
    "--controller",
    required=True,
    metavar="NAME|FILE.py[:CLASS]",
    help="A registered controller (sc, asc, esc, parallel_probe, cmc, evolved) or a class in a "
    "file (the file's one controller class when :CLASS is left out).",
)
@params_option()
@betas_option(
    f"Betas in [0, 1] of beta-parameterized controllers [default: {DEFAULT_BETAS_TEXT}]; fixed "
    "baselines (e.g. sc) take no beta; file classes get one (as config['beta']) only if given."
)
@settings_options()
@workers_option
@option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per line per (env, beta) instead of a table.",
)
@option(
    "--sandbox",
    is_flag=True,
    help="Run the file controller only in sandbox processes (static policy, then a separate "
    "interpreter with limits), for code you do not trust; --workers sandboxes in parallel.",
)
@sandbox_options
@jail_options
def evaluate(
    env_files: tuple[str, ...],
    controller: str,
    params: tuple[str, ...],
    betas: tuple[float, ...] | None,
    settings: EvalSettings,
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
      autotts evaluate --env a.json --env b.json --controller cmc --betas 0:1:0.1
      autotts evaluate --env a.json --controller method.py:OptimalController --betas 0.5 --json

    Exits 2 on a bad option or file; episodes whose controller raised are counted as wrong and
    reported (exit 0), unless every episode raised (exit 2). With --sandbox, a controller the
    sandbox rejects or stops (policy, timeout, memory, crash, ...) is one error line, exit 2.
    """
    from ..controllers import ControllerSpec, make_solver
    from ..evaluate import evaluate as run_evaluation

    if not env_files:
        raise CliError("no environment given: use --env FILE...")
    env_files = env_paths(env_files)
    # everything that can be checked cheaply is checked before the files are read
    spec = ControllerSpec(controller, parse_params(params))
    show_progress = not as_json and sys.stderr.isatty()
    if sandbox:
        from ..sandbox import Limits

        limits = Limits(
            *sandbox_limits(timeout, memory_mb),
            episode_timeout_s=episode_timeout or Limits().episode_timeout_s,
            require_jail=require_jail or Limits().require_jail,
        )
        results = _evaluate_sandboxed(
            spec, betas, env_files, workers, limits, show_progress, settings, strict
        )
    else:
        if timeout is not None or memory_mb is not None or episode_timeout is not None:
            raise CliError("--timeout, --memory-mb and --episode-timeout apply to --sandbox runs")
        if strict or require_jail:
            raise CliError("--strict and --require-jail apply to --sandbox runs")
        points = _resolve_betas(controller, betas)
        for b in points:
            make_solver(spec.with_beta(b))
        envs = load_envs(env_files)
        if not show_progress:
            results = run_evaluation(envs, spec, points, settings=settings, workers=workers)
        else:
            from .render import progress_bar

            total = sum(len(e) for e in envs) * len(points) * settings.replicates
            with progress_bar(total, f"{controller} on {len(envs)} env(s)") as advance:
                results = run_evaluation(
                    envs, spec, points, settings=settings, workers=workers, progress=advance
                )

    if as_json:
        for r in results:
            click.echo(_json_line(r))
    else:
        from .render import print_results

        print_results(results)
    report_errors(results)
