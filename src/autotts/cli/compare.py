"""``autotts compare``: two controllers on the same chain orders, and how much better B is than
A at matched token counts."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from .common import CliError, env_paths, load_envs, parse_params, warn
from .evaluate import read_file_controller, report_errors, sandbox_settings
from .options import (
    DEFAULT_BETAS_TEXT,
    betas_option,
    command,
    env_option,
    option,
    params_option,
    sandbox_limits,
    sandbox_options,
    settings_options,
    workers_option,
)

if TYPE_CHECKING:
    from ..controllers import ControllerSpec
    from ..data import Environment
    from ..evaluate import Comparison, EvalResult, EvalSettings, Side
    from ..sandbox import Limits

Progress = Callable[[int], None] | None  # an episodes counter


@dataclass(frozen=True)
class _Plan:
    """One side: what to run, at which betas, and its code when it runs in the sandbox."""

    spec: ControllerSpec
    betas: list[float | None]
    source: str | None = None
    class_name: str = ""


def _is_file(spec: str) -> bool:
    from ..controllers import split_file_spec

    return split_file_spec(spec) is not None


def _plan(spec: ControllerSpec, betas: tuple[float, ...] | None, limits: Limits | None) -> _Plan:
    """Resolve one side's betas; fail now on a controller that cannot be built. With ``limits``
    a file controller is only read here and described by a sandbox, never imported."""
    from ..controllers import make_solver, uses_beta
    from ..evaluate import side_betas

    if limits is None or not _is_file(spec.spec):
        plan = _Plan(spec, side_betas(uses_beta(spec.spec), betas))
        for b in plan.betas:
            make_solver(spec.with_beta(b))
        return plan
    from ..controllers import split_file_spec
    from ..sandbox import Candidate, describe_candidate

    file = split_file_spec(spec.spec)
    assert file is not None
    path, class_name, source = read_file_controller(*file)
    facts = describe_candidate(Candidate(source, class_name, path), limits=limits)
    if not facts.ok or facts.data is None:
        raise CliError(facts.reason)
    return _Plan(spec, side_betas(facts.data["uses_beta"], betas), source, class_name)


def _sweep(
    plan: _Plan,
    envs: list[Environment],
    workers: int,
    limits: Limits | None,
    progress: Progress,
    settings: EvalSettings,
) -> list[EvalResult]:
    """One side's sweep: in this process, or in ``workers`` sandboxes for a sandboxed file."""
    if plan.source is None or limits is None:
        from ..evaluate import evaluate

        return evaluate(
            envs, plan.spec, plan.betas, settings=settings, workers=workers, progress=progress
        )
    from ..controllers import split_file_spec
    from ..sandbox import evaluate_sandboxed

    file = split_file_spec(plan.spec.spec)
    assert file is not None
    path = file[0]
    outcome, results = evaluate_sandboxed(
        plan.source,
        plan.class_name,
        [e.path or "" for e in envs],
        plan.betas,
        params=plan.spec.params,
        limits=limits,
        label=plan.spec.spec,
        workers=workers,
        progress=progress,
        filename=path,
        **sandbox_settings(settings),
    )
    if not outcome.ok:
        raise CliError(outcome.reason)
    return results


def _sweep_both(
    plans: list[_Plan],
    envs: list[Environment],
    workers: int,
    limits: Limits | None,
    show_progress: bool,
    settings: EvalSettings,
) -> list[list[EvalResult]]:
    """Both sides, one progress bar (on stderr, only on a terminal) over all their episodes."""
    if not show_progress:
        return [_sweep(p, envs, workers, limits, None, settings) for p in plans]
    from .render import progress_bar

    per_beta = sum(len(e) for e in envs) * settings.replicates
    total = per_beta * sum(len(p.betas) for p in plans)
    label = f"{plans[0].spec.spec} vs {plans[1].spec.spec} on {len(envs)} env(s)"
    with progress_bar(total, label) as advance:
        return [_sweep(p, envs, workers, limits, advance, settings) for p in plans]


def _tokens(side: Side) -> str:
    lo, hi = side.tokens
    return f"{lo:,.0f}" if round(lo) == round(hi) else f"{lo:,.0f}–{hi:,.0f}"


def _advantage(value: float | None, ci: tuple[float, float] | None) -> tuple[str, str]:
    if value is None:
        return "n/a", ""
    return f"{value:+.2f}", "" if ci is None else f"{ci[0]:+.2f} … {ci[1]:+.2f}"


def _ratio(value: float | None, ci: tuple[float, float] | None) -> tuple[str, str]:
    if value is None:
        return "n/a", ""
    return f"{value:.2f}", "" if ci is None else f"{ci[0]:.2f} … {ci[1]:.2f}"


def _cells(a: Side, b: Side) -> list[str]:
    return [
        _tokens(a),
        _tokens(b),
        f"{a.peak:.2f}",
        f"{b.peak:.2f}",
        f"{a.top:.2f}",
        f"{b.top:.2f}",
    ]


def print_comparison(c: Comparison) -> None:
    """The table: one row per environment, then the overall row."""
    from rich import box
    from rich.table import Table

    from .render import stdout_console

    first = c.rows[0].a_results[0]
    by_path = len({(r.model, r.dataset) for r in c.rows}) < len(c.rows)
    table = Table(
        title=f"A = {c.a}, B = {c.b}: {first.protocol} protocol, {first.replicates} "
        f"replicates, {first.match} matching",
        caption="accuracy in %, tokens per question. B−A: matched-token advantage, the mean "
        "over A's points within B's token range of B's accuracy (interpolated in log tokens) "
        "minus A's; points: how many of A's (or, marked B, the mirror: B's points within A's "
        "range, when none of A's is). B/A tok: matched-accuracy token ratio, the geometric "
        "mean over A's points that B reaches of the tokens B needs for A's accuracy over A's "
        "tokens (below 1: B is cheaper; an upper bound where B's cheapest point already "
        "reaches it); reached: how many of A's points. 95% CIs: paired bootstrap over "
        f"questions, {c.resamples} resamples.",
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
    )
    table.add_column("env", overflow="fold", min_width=8)
    for name in (
        "A tokens",
        "B tokens",
        "A peak",
        "B peak",
        "A@β max",
        "B@β max",
        "B−A",
        "95% CI",
        "points",
        "B/A tok",
        "95% CI",
        "reached",
    ):
        table.add_column(name, justify="right", no_wrap=True)
    for r in c.rows:
        used = f"{r.points_used}" + (" B" if r.basis == "b" else "")
        name = r.env if by_path else f"{r.model}/{r.dataset}"
        table.add_row(
            name,
            *_cells(r.a, r.b),
            *_advantage(r.advantage, r.ci95),
            used,
            *_ratio(r.ratio, r.ratio_ci95),
            f"{r.ratio_points}",
        )
    o = c.overall
    table.add_section()
    plural = "s" if o.envs > 1 else ""
    table.add_row(
        "overall",
        *_cells(o.a, o.b),
        *_advantage(o.advantage, o.ci95),
        f"{o.envs_used}/{o.envs} env{plural}",
        *_ratio(o.ratio, o.ratio_ci95),
        f"{o.ratio_envs_used}/{o.envs} env{plural}",
        style="bold",
    )
    stdout_console().print(table)


@command(short_help="Compare two controllers at matched token counts.")
@env_option(help="Environment file(s), as for autotts evaluate (a shell glob works).")
@option(
    "--a",
    "a",
    required=True,
    metavar="NAME|FILE.py[:CLASS]",
    help="Controller A, the reference: sc, asc, esc, parallel_probe, cmc, or a class in a file.",
)
@option(
    "--b",
    "b",
    required=True,
    metavar="NAME|FILE.py[:CLASS]",
    help="Controller B, the one whose advantage over A is reported.",
)
@params_option("--a-param", "a_params", "A parameter of A (repeatable), as --param of evaluate.")
@params_option("--b-param", "b_params", "A parameter of B (repeatable).")
@betas_option(
    f"Betas of beta-parameterized controllers [default: {DEFAULT_BETAS_TEXT}]; fixed baselines "
    "(e.g. sc) give one point; file classes get them (as config['beta']) only if given."
)
@settings_options()
@workers_option
@option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON document (per env, overall, raw points), not a table.",
)
@option("--sandbox", is_flag=True, help="Run the FILE.py:CLASS side(s) only in sandbox processes.")
@sandbox_options
def compare(
    env_files: tuple[str, ...],
    a: str,
    b: str,
    a_params: tuple[str, ...],
    b_params: tuple[str, ...],
    betas: tuple[float, ...] | None,
    settings: EvalSettings,
    workers: int,
    as_json: bool,
    sandbox: bool,
    timeout: float | None,
    memory_mb: int | None,
) -> None:
    """Sweep controllers A and B on the same chain orders and report, per environment and
    overall, the matched-token advantage of B over A: the mean over A's points within B's token
    range of (B's accuracy interpolated linearly in log tokens there − A's accuracy); and the
    matched-accuracy token ratio of B to A: the geometric mean over A's points that B reaches
    of (tokens B needs for that accuracy / A's tokens), below 1 when B is cheaper. Each has a
    paired bootstrap 95% interval over questions; each side's token range, peak accuracy and
    accuracy at the highest beta are shown too. Overall: the mean advantage and the geometric
    mean ratio over the environments where each is defined (n/a where it is nowhere).

    \b
    Examples:
      autotts compare --env replay/*/aime25.json --a sc --b cmc --replicates 20
      autotts compare --env a.json --a esc --b cmc --betas 0:1:0.25 --json
      autotts compare --env a.json --a cmc --b mine.py:Mine --sandbox

    Exits 2 on a bad option or file, or when every episode of a side raised.
    """
    from ..controllers import ControllerSpec
    from ..evaluate import compare_results

    if not env_files:
        raise CliError("no environment given: use --env FILE...")
    env_files = env_paths(env_files)
    specs = [ControllerSpec(a, parse_params(a_params)), ControllerSpec(b, parse_params(b_params))]
    limits = _limits(sandbox, timeout, memory_mb, specs)
    plans = [_plan(spec, betas, limits) for spec in specs]
    if betas and all(p.betas == [None] for p in plans):
        warn("--betas is ignored: neither controller takes a beta")
    _check_distinct(env_files)
    envs = load_envs(env_files)
    show_progress = not as_json and sys.stderr.isatty()
    results_a, results_b = _sweep_both(plans, envs, workers, limits, show_progress, settings)
    report_errors(results_a, "A: ")
    report_errors(results_b, "B: ")
    comparison = compare_results(results_a, results_b, len(envs), seed=settings.seed)
    if as_json:
        click.echo(json.dumps(comparison.to_json()))
    else:
        print_comparison(comparison)


def _limits(
    sandbox: bool, timeout: float | None, memory_mb: int | None, specs: list[ControllerSpec]
) -> Limits | None:
    if not sandbox:
        if timeout is not None or memory_mb is not None:
            raise CliError("--timeout and --memory-mb apply to --sandbox runs")
        return None
    if not any(_is_file(s.spec) for s in specs):
        raise CliError("--sandbox runs controllers from files (FILE.py:CLASS); neither side is one")
    from ..sandbox import Limits

    return Limits(*sandbox_limits(timeout, memory_mb))


def _check_distinct(env_files: tuple[str, ...]) -> None:
    import os

    seen: set[str] = set()
    for path in env_files:
        key = os.path.realpath(path)
        if key in seen:
            raise CliError(f"{path}: given twice (each environment counts once in the overall)")
        seen.add(key)
