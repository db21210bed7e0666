"""``autotts episode``: the map of one episode (one question, one replicate) under controllers."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import click

from .common import CliError, check_output_path, env_paths, load_envs
from .options import GreedyOption, beta_option, command, option, settings_options

IMAGE_TYPES = (".png", ".svg", ".pdf")
DEFAULT_BETA = 0.5

if TYPE_CHECKING:
    from ..evaluate import EvalSettings


@command(short_help="Draw what controllers did on one question.")
@option("--env", "env_file", required=True, metavar="FILE", type=click.Path(),
              help="Environment file.")  # fmt: skip
@option("--question", required=True, type=int, metavar="N", help="Question index (from 0).")
@option(
    "--replicate", default=0, show_default=True, type=int, metavar="R",
    help="Replicate (chain order) index.",
)  # fmt: skip
@option(
    "--controller",
    "controllers",
    cls=GreedyOption,
    required=True,
    metavar="SPEC...",
    help="One or more controllers, side by side: NAME or FILE.py:CLASS, optionally "
    ":KEY=VALUE,... (e.g. cmc:beta=0.8, sc:k=16).",
)
@beta_option("Beta of beta-parameterized controllers without beta= in their spec.", DEFAULT_BETA)
@option(
    "-o", "--output", default=None, metavar="FILE.png|.svg|.pdf",
    help="Image to write (required unless --json).",
)  # fmt: skip
@settings_options(replicates=False)
@option(
    "--json", "as_json", is_flag=True,
    help="Print one JSON object per controller: cell counts, chain ends, probes, tokens.",
)  # fmt: skip
def episode(
    env_file: str,
    question: int,
    replicate: int,
    controllers: tuple[str, ...],
    beta: float,
    output: str | None,
    settings: EvalSettings,
    as_json: bool,
) -> None:
    """Draw the episode map of one question under one replicate's chain order: chains as rows,
    intervals as columns, each cell coloured by the answer the controller saw there (right,
    wrong, ERR) or grey when it did not look; × pruned, ● finished, ▶ running at the stop.
    Several controllers are drawn side by side on the same scales.

    \b
    Examples:
      autotts episode --env Qwen3-4B/aime25.json --question 3 --controller cmc sc -o map.png
      autotts episode --env a.json --question 0 --replicate 7 --controller cmc:beta=1 --json

    Fixed baselines are drawn at their default budget (sc k=64).
    """
    from dataclasses import replace

    from ..data import apply_matching
    from ..evaluate import Protocol, run_episode
    from ..report import (
        controller_colours,
        episode_figure,
        episode_grid,
        parse_controllers,
        save_one,
    )

    if output is None and not as_json:
        raise CliError("give -o FILE.png (or .svg, .pdf) for the map, or --json for its counts")
    if output is not None:
        if os.path.splitext(output)[1].lower() not in IMAGE_TYPES:
            raise CliError(f"{output}: the map is written as {', '.join(IMAGE_TYPES)}")
        check_output_path(output)
        if os.path.exists(output) and not os.access(output, os.W_OK):
            raise CliError(f"{output}: not writable")
        if not os.access(os.path.dirname(os.path.abspath(output)), os.W_OK):
            raise CliError(f"{output}: its directory is not writable")
    match = settings.match
    if replicate < 0:
        raise CliError(f"replicate {replicate} is out of range (from 0)")
    specs = parse_controllers(controllers, (beta,), sweeps={})
    for rc in specs:
        if len(rc.values) > 1:
            raise CliError(
                f"controller {rc.label!r}: a map shows one value of {rc.sweep}, not a sweep"
            )
    [env] = load_envs(env_paths([env_file]))
    env = apply_matching(env, match)
    if not 0 <= question < len(env):
        raise CliError(
            f"question {question} is out of range ({env.name} has {len(env)} questions: "
            f"0..{len(env) - 1})"
        )
    # replicate r's order needs r + 1 replicates
    proto = Protocol(settings.protocol.name, replicate + 1, settings.seed)
    rs = replace(settings, protocol=proto)
    grids = []
    colours = controller_colours(specs)
    by_point: dict[str, str] = {}
    for rc in specs:
        value = rc.map_value()
        played = run_episode(env, rc.point(value), question, replicate, rs)
        order = proto.orders(question, env.questions[question].n_chains)[replicate]
        grids.append(episode_grid(env, played, order, rc.point_label(value)))
        by_point[grids[-1].label] = colours[rc.label]
    if output is not None:
        from ..report import map_heading

        save_one(episode_figure(grids, by_point, map_heading(env, grids)), output)
    if as_json:
        for g in grids:
            click.echo(json.dumps({"env": env.path or env.name, **g.to_json()}))
    else:
        click.echo(f"wrote {output}")
