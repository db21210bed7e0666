"""``autotts report``: an HTML report folder, either of controllers evaluated over environments
(``--env``/``--controller``) or of a discovery run directory (``--run``)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .common import CliError, env_paths, load_envs, warn
from .options import (
    DEFAULT_BETAS_TEXT,
    GreedyOption,
    betas_option,
    command,
    env_option,
    option,
    settings_options,
    workers_option,
)

if TYPE_CHECKING:
    from ..evaluate import EvalSettings
    from ..report import Provenance


def made_by() -> Provenance:
    """This command's provenance: version, command line (as parsed by the group), time."""
    from ..report import Provenance

    return Provenance.now(click.get_current_context().meta.get("autotts.argv"))


def prepare_output_dir(path: str) -> Path:
    """Create the report folder (and its parents) now, so a bad -o fails before any work."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise CliError(f"{path}: exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CliError(f"{path}: cannot create the report folder: {e.strerror}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise CliError(f"{path}: the report folder is not writable")
    return out


# options of the --env/--controller form: with --run there is nothing to evaluate
EVALUATION_ONLY = (
    "betas", "replicates", "protocol", "seed", "match", "kappa_probe", "budget", "search",
    "map_env", "map_question", "map_replicate", "map_controllers", "no_map", "workers",
)  # fmt: skip


def _check_run_options(
    ctx: click.Context, env_files: tuple[str, ...], controllers: tuple[str, ...]
) -> None:
    if env_files or controllers:
        given = "--env" if env_files else "--controller"
        raise CliError(
            f"--run reports on a discovery run and cannot be combined with {given} "
            "(give either --run RUN_DIR or --env FILE... --controller SPEC...)"
        )
    for param in ctx.command.params:
        if param.name in EVALUATION_ONLY and (
            ctx.get_parameter_source(param.name) == click.core.ParameterSource.COMMANDLINE
        ):
            raise CliError(
                f"{param.opts[0]} does not apply to --run (a run's report evaluates nothing)"
            )


def _report_run(run_dir: str, output: str, title: str | None, as_json: bool) -> None:
    """The --run form: read the run directory, write its sections."""
    import sqlite3

    from ..discover import load_run
    from ..report import write_run_report

    start = time.perf_counter()
    path = Path(run_dir)
    if not path.is_dir():
        raise CliError(f"{run_dir}: no such directory")
    try:
        view = load_run(path)
    except sqlite3.DatabaseError as e:
        raise CliError(f"{path / 'history.sqlite'}: cannot read the history: {e}") from None
    if Path(output).resolve() == path.resolve():
        raise CliError(f"{output}: is the run directory; write the report elsewhere (e.g. -o "
                       f"{os.path.join(run_dir, 'report')})")  # fmt: skip
    out = prepare_output_dir(output)
    made = made_by()
    index, files = write_run_report(view, path, out, title, made)
    seconds = time.perf_counter() - start
    selected = (view.summary or {}).get("selected") or {}
    if as_json:
        summary = {
            "output": str(out),
            "index": str(index),
            "files": files,
            "run": str(path),
            "finished": view.summary is not None,
            "candidates": len(view.candidates),
            "measured": len(view.search),
            "selected": selected.get("id"),
            "autotts": made.to_json(),
        }
        click.echo(json.dumps(summary))
    else:
        click.echo(f"wrote {index} ({len(files)} files, {seconds:.1f} s)")
    if view.summary is None:
        warn(f"{run_dir}: the run has not finished (no summary.json): the report shows the "
             "history so far and no held-out comparison")  # fmt: skip


def _find_env(envs: list[Any], key: str | None) -> int:
    if key is None:
        return 0
    for i, e in enumerate(envs):
        if key in (e.name, e.path) or (e.path and os.path.abspath(key) == os.path.abspath(e.path)):
            return i
    names = ", ".join(e.name for e in envs)
    raise CliError(f"--map-env {key!r} is not one of the report's environments ({names})")


@command(short_help="Write an HTML report of controllers (--env) or a discovery run (--run).")
@env_option(help="Environment files (one per model and dataset; a shell glob works).")
@option(
    "--controller",
    "controllers",
    cls=GreedyOption,
    metavar="SPEC...",
    help="Controllers: NAME or FILE.py:CLASS, optionally :KEY=VALUE,... (a key with several "
    "values is the sweep, e.g. sc:k=1,4,16,64; label=NAME names it).",
)
@option(
    "--run",
    "run_dir",
    default=None,
    metavar="RUN_DIR",
    type=click.Path(),
    help="Report on a discovery run directory instead (made by autotts discover): progress per "
    "round, candidates, held-out comparison. Not with --env/--controller.",
)
@option("-o", "--output", required=True, metavar="DIR", help="Report folder (created if needed).")
@betas_option(
    f"Beta sweep of beta-parameterized controllers [default: {DEFAULT_BETAS_TEXT}] (a spec's "
    "beta=... overrides it)."
)
@settings_options()
@option(
    "--search-dataset",
    "search",
    cls=GreedyOption,
    metavar="DATASET...",
    help="Datasets of the search split in tables (default: the first dataset); the others "
    "are held out.",
)
@option(
    "--map-env", default=None, metavar="MODEL/DATASET|FILE",
    help="Environment of the episode map (default: the first).",
)  # fmt: skip
@option(
    "--map-question",
    default=None,
    type=int,
    metavar="N",
    help="Question of the episode map (default: the one whose chains end right closest to half "
    "the time).",
)
@option(
    "--map-replicate", default=0, show_default=True, type=int, metavar="R",
    help="Replicate of the episode map.",
)  # fmt: skip
@option(
    "--map-controller",
    "map_controllers",
    cls=GreedyOption,
    metavar="LABEL...",
    help="Controllers shown in the episode map (default: the first three).",
)
@option("--no-map", is_flag=True, help="Leave the episode map out.")
@option("--title", default=None, help="Page title [default: autotts report, or the run's name].")
@workers_option
@option("--json", "as_json", is_flag=True, help="Print a JSON summary (folder, files, counts).")
@click.pass_context
def report(
    ctx: click.Context,
    env_files: tuple[str, ...],
    controllers: tuple[str, ...],
    run_dir: str | None,
    output: str,
    betas: tuple[float, ...] | None,
    settings: EvalSettings,
    search: tuple[str, ...],
    map_env: str | None,
    map_question: int | None,
    map_replicate: int,
    map_controllers: tuple[str, ...],
    no_map: bool,
    title: str | None,
    workers: int,
    as_json: bool,
) -> None:
    """Evaluate controllers on environments and write a report folder: index.html with
    frontier plots (accuracy vs tokens and vs sequential tokens, one panel per environment),
    paper-style tables (also Markdown, CSV, LaTeX), an episode map, and every number
    (results.csv/.json). Open index.html in any browser.

    \b
    Examples:
      autotts report --env replay/*/aime24.json replay/*/aime25.json \\
          --controller sc cmc parallel_probe -o report --workers 2
      autotts report --env a.json --controller sc:k=1,4,16,64 cmc:beta=0,0.5,1 \\
          parallel_probe:T=40,prune_patience=7,warm_up=15,label=pp-T40 -o report
      autotts report --run runs/r1 -o runs/r1-report

    Sweeps: beta controllers over --betas; sc and asc over k / max_samples 1..64, esc over
    max_samples 8..64, parallel_probe over chains 8..64 (unless the spec sets that parameter).

    With --run the report reads a discovery run directory and evaluates nothing: search-split
    accuracy vs tokens per round with the best score so far, every candidate (status, score,
    cost, code) and the held-out comparison of summary.json (absent while the run is unfinished).
    """
    if run_dir is not None:
        _check_run_options(ctx, env_files, controllers)
        _report_run(run_dir, output, title, as_json)
        return
    if not env_files or not controllers:
        missing = "--env FILE..." if not env_files else "--controller SPEC..."
        raise CliError(f"give {missing} (or --run RUN_DIR to report on a discovery run)")
    title = title or "autotts report"
    from ..evaluate import DEFAULT_BETAS
    from ..report import (
        MapChoice,
        build_report,
        check_envs,
        describe,
        episodes_needed,
        evaluate_report,
        evaluation_sections,
        parse_controllers,
        report_files,
    )

    start = time.perf_counter()
    proto = settings.protocol
    replicates = proto.replicates
    specs = parse_controllers(controllers, betas or DEFAULT_BETAS)
    labels = [c.label for c in specs]
    for label in map_controllers:
        if label not in labels:
            raise CliError(
                f"--map-controller {label!r} is not a controller label ({', '.join(labels)})"
            )
    if not 0 <= map_replicate < replicates:
        raise CliError(
            f"--map-replicate {map_replicate} is out of range (--replicates {replicates})"
        )
    out = prepare_output_dir(output)
    envs = load_envs(env_paths(env_files))
    check_envs(envs)
    choice = MapChoice(_find_env(envs, map_env), map_question, map_replicate, map_controllers)
    if map_question is not None and not 0 <= map_question < len(envs[choice.env]):
        raise CliError(
            f"--map-question {map_question} is out of range ({envs[choice.env].name} has "
            f"{len(envs[choice.env])} questions)"
        )
    datasets = list(dict.fromkeys(e.meta.dataset for e in envs))
    for d in search:
        if d not in datasets:
            raise CliError(
                f"--search-dataset {d!r} is not a dataset of the environments "
                f"({', '.join(datasets)})"
            )

    options: dict[str, Any] = dict(settings=settings, workers=workers)
    if as_json or not sys.stderr.isatty():
        data = evaluate_report(envs, specs, **options)
    else:
        from .render import progress_bar

        total = episodes_needed(envs, specs, proto)
        with progress_bar(total, f"{len(specs)} controller(s) on {len(envs)} env(s)") as advance:
            data = evaluate_report(envs, specs, progress=advance, **options)
    made = made_by()
    sections = evaluation_sections(
        data, out, search=search or None, episode=choice, with_map=not no_map, provenance=made
    )
    index = build_report(out, sections, title, describe(data), made)
    files = report_files(sections)
    seconds = time.perf_counter() - start
    if as_json:
        summary = {
            "output": str(out),
            "index": str(index),
            "files": files,
            "points": len(data.points),
            "episodes": episodes_needed(envs, specs, proto),
            "errors": sum(p.result.errors for p in data.points),
            "autotts": made.to_json(),
        }
        click.echo(json.dumps(summary))
    else:
        click.echo(f"wrote {index} ({len(files)} files, {seconds:.1f} s)")
    total = sum(p.result.episodes for p in data.points)
    if total and sum(p.result.errors for p in data.points) == total:
        raise CliError(f"every one of the {total} episodes raised an exception (see {index})")
    for p in data.points:
        r = p.result
        if r.errors:
            warn(
                f"{r.model}/{r.dataset} {data.controller(p.controller).point_label(p.value)}: "
                f"{r.errors} of {r.episodes} episodes raised; first: {r.error_examples[0]}"
            )
