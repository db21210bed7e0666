"""``autotts check-controller``: static policy and beta contract, one line per problem."""

from __future__ import annotations

import json
import os
import tempfile

import click

from .common import CliError, env_paths, load_envs
from .options import (
    DEFAULT_BETAS_TEXT,
    MAX_REPLICATES,
    betas_option,
    command,
    env_option,
    option,
    sandbox_limits,
    sandbox_options,
)

CHECK_REPLICATES = 8  # a quick lint, not an evaluation: the contract needs only the trend


@command(name="check-controller", short_help="Check a controller file: policy and beta contract.")
@click.argument("target", metavar="FILE.py[:CLASS]")
@env_option(
    "--env", "envs", help="Environments to measure the beta sweep on [default: a synthetic one]."
)
@betas_option(f"The beta sweep checked [default: {DEFAULT_BETAS_TEXT}].")
@option(
    "--replicates",
    default=CHECK_REPLICATES,
    show_default=True,
    type=click.IntRange(1, MAX_REPLICATES),
    help="Chain orders per question (a quick check; evaluate and discover use 100).",
)
@sandbox_options
@option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check_controller(
    target: str,
    envs: tuple[str, ...],
    betas: tuple[float, ...] | None,
    replicates: int,
    timeout: float | None,
    memory_mb: int | None,
    as_json: bool,
) -> None:
    """Check a controller the way discovery checks candidates: the sandbox's static policy
    (allowed imports, no introspection; every violation with its line), then, in the sandbox,
    the beta contract — one knob, average tokens rising strictly with beta by at most 2x per
    step, a meaningful budget range — on the given environments (a synthetic 30-question one
    by default).

    Prints one line per problem and exits 1 if there is any; exits 0 and says OK otherwise.
    """
    from ..data import synthesize, write_env
    from ..discover import MeasureSettings
    from ..discover import check_controller as run_check
    from ..evaluate import DEFAULT_BETAS, Protocol

    path, class_name = target, ""
    if ":" in target and target.rsplit(":", 1)[0].endswith(".py"):
        path, class_name = target.rsplit(":", 1)
    if not os.path.isfile(path):
        raise CliError(f"{path}: no such file")
    with open(path, encoding="utf-8") as f:
        source = f.read()
    sweep_betas = list(betas or DEFAULT_BETAS)
    timeout_s, memory = sandbox_limits(timeout, memory_mb)
    settings = MeasureSettings(Protocol("official", replicates), trace_replicates=1)
    with tempfile.TemporaryDirectory(prefix="autotts-check-") as tmp:
        if envs:
            paths = [os.path.abspath(e) for e in env_paths(envs)]
            labels = [f"{(m := e.meta).model}/{m.dataset}" for e in load_envs(paths)]
        else:
            synthetic = os.path.join(tmp, "synthetic.json")
            write_env(synthesize(n_questions=30, n_chains=64, seed=0), synthetic)
            paths, labels = [synthetic], ["synthetic"]
        report = run_check(
            source,
            os.path.basename(path),
            class_name or None,
            paths,
            labels,
            sweep_betas,
            settings,
            timeout_s=timeout_s,
            memory_mb=memory,
        )
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        for p in report.problems:
            click.echo(p)
        if report.ok:
            spans = ", ".join(
                f"{env}: {pts[0][2]:.0f} → {pts[-1][2]:.0f} tokens"
                for env, pts in report.sweep.items()
            )
            click.echo(
                f"OK: {path}:{report.class_name} passes the policy and the beta contract ({spans})"
            )
    if not report.ok:
        raise SystemExit(1)
