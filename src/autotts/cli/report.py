"""``autotts report``: evaluate controllers over environments and write an HTML report folder."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from .common import CliError, warn

DEFAULT_BETAS = "0,0.25,0.5,0.75,1"
DEFAULT_REPLICATES = 20


class GreedyCommand(click.Command):
    """Options listed in ``greedy`` take every value up to the next option:
    ``--env a.json b.json --controller sc cmc`` is ``--env a.json --env b.json --controller sc
    --controller cmc`` (click options take one value each)."""

    greedy: tuple[str, ...] = ()

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        out: list[str] = []
        current: str | None = None  # the greedy option whose values are being read
        awaiting = False  # the option itself was just read: its first value comes next
        for n, arg in enumerate(args):
            name = arg.split("=", 1)[0]
            if arg == "--":  # everything after it is an argument
                out += args[n:]
                break
            if name in self.greedy:
                current, awaiting = name, "=" not in arg
                out.append(arg)
            elif arg.startswith("-") and arg != "-":
                current, awaiting = None, False
                out.append(arg)
            else:
                out += [current, arg] if current is not None and not awaiting else [arg]
                awaiting = False
        return super().parse_args(ctx, out)


def greedy_command(*names: str, **kwargs: Any) -> Any:
    """``@click.command`` whose options ``names`` take several values."""
    cls = type("Greedy", (GreedyCommand,), {"greedy": names})
    return click.command(cls=cls, **kwargs)


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


def _find_env(envs: list[Any], key: str | None) -> int:
    if key is None:
        return 0
    for i, e in enumerate(envs):
        if key in (e.name, e.path) or (e.path and os.path.abspath(key) == os.path.abspath(e.path)):
            return i
    names = ", ".join(e.name for e in envs)
    raise CliError(f"--map-env {key!r} is not one of the report's environments ({names})")


@greedy_command(
    "--env", "--controller", "--search-dataset", "--map-controller",
    short_help="Write an HTML report: frontier plots, tables, an episode map.",
)  # fmt: skip
@click.option(
    "--env",
    "env_files",
    multiple=True,
    required=True,
    metavar="FILE...",
    type=click.Path(),
    help="Environment files (one per model and dataset; a shell glob works).",
)
@click.option(
    "--controller",
    "controllers",
    multiple=True,
    required=True,
    metavar="SPEC...",
    help="Controllers: NAME or FILE.py:CLASS, optionally :KEY=VALUE,... (a key with several "
    "values is the sweep, e.g. sc:k=1,4,16,64; label=NAME names it).",
)
@click.option(
    "-o", "--output", required=True, metavar="DIR", help="Report folder (created if needed)."
)
@click.option(
    "--betas",
    default=DEFAULT_BETAS,
    show_default=True,
    metavar="B1,B2,...|START:STOP:STEP",
    help="Beta sweep of beta-parameterized controllers (a spec's beta=... overrides it).",
)
@click.option(
    "--replicates",
    default=DEFAULT_REPLICATES,
    show_default=True,
    type=click.IntRange(min=1),
    help="Chain orders per question (100 reproduces the papers' protocol).",
)
@click.option(
    "--protocol", default="official", show_default=True, metavar="official|subsample",
    help="Replicate chain orders.",
)  # fmt: skip
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Seed of --protocol subsample."
)
@click.option(
    "--match", default="exact", show_default=True, metavar="MODE",
    help="Answer matching, as in autotts evaluate (exact: string equality).",
)  # fmt: skip
@click.option(
    "--search-dataset",
    "search",
    multiple=True,
    metavar="DATASET...",
    help="Datasets of the search split in tables (default: the first dataset); the others "
    "are held out.",
)
@click.option(
    "--map-env", default=None, metavar="MODEL/DATASET|FILE",
    help="Environment of the episode map (default: the first).",
)  # fmt: skip
@click.option(
    "--map-question",
    default=None,
    type=int,
    metavar="N",
    help="Question of the episode map (default: the one whose chains end right closest to half "
    "the time).",
)
@click.option(
    "--map-replicate", default=0, show_default=True, type=int, metavar="R",
    help="Replicate of the episode map.",
)  # fmt: skip
@click.option(
    "--map-controller",
    "map_controllers",
    multiple=True,
    metavar="LABEL...",
    help="Controllers shown in the episode map (default: the first three).",
)
@click.option("--no-map", is_flag=True, help="Leave the episode map out.")
@click.option("--title", default="autotts report", show_default=True, help="Page title.")
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(min=1), help="Worker processes."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print a JSON summary (folder, files, counts)."
)
def report(
    env_files: tuple[str, ...],
    controllers: tuple[str, ...],
    output: str,
    betas: str,
    replicates: int,
    protocol: str,
    seed: int,
    match: str,
    search: tuple[str, ...],
    map_env: str | None,
    map_question: int | None,
    map_replicate: int,
    map_controllers: tuple[str, ...],
    no_map: bool,
    title: str,
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

    Sweeps: beta controllers over --betas; sc and asc over k / max_samples 1..64, esc over
    max_samples 8..64, parallel_probe over chains 8..64 (unless the spec sets that parameter).
    """
    from ..data import MATCH_MODES, load_env
    from ..evaluate import Protocol, parse_betas
    from ..report import (
        MapChoice,
        build_report,
        describe,
        episodes_needed,
        evaluate_report,
        evaluation_sections,
        parse_controllers,
        report_files,
    )
    from ..report.results import check_envs

    start = time.perf_counter()
    proto = Protocol(protocol, replicates, seed)
    if match not in MATCH_MODES:
        raise CliError(f"unknown --match {match!r} (choose from {', '.join(MATCH_MODES)})")
    specs = parse_controllers(controllers, tuple(parse_betas(betas)))
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
    envs = [load_env(path) for path in env_files]
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

    options: dict[str, Any] = dict(protocol=proto, match=match, workers=workers)
    if as_json or not sys.stderr.isatty():
        data = evaluate_report(envs, specs, **options)
    else:
        from .render import progress_bar

        total = episodes_needed(envs, specs, proto)
        with progress_bar(total, f"{len(specs)} controller(s) on {len(envs)} env(s)") as advance:
            data = evaluate_report(envs, specs, progress=advance, **options)
    sections = evaluation_sections(
        data, out, search=search or None, episode=choice, with_map=not no_map
    )
    index = build_report(out, sections, title, describe(data))
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
            "seconds": round(seconds, 2),
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
