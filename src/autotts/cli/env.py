"""``autotts env``: make, import and inspect replay environment files."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from .common import check_output_path
from .options import MAX_REPLICATES, Command, Number, match_option, option

if TYPE_CHECKING:
    from ..data import Environment


def _summary(env: Environment, path: str, digest: str) -> str:
    chains = sorted({q.n_chains for q in env.questions})
    n_chains = str(chains[0]) if len(chains) == 1 else f"{chains[0]}-{chains[-1]}"
    return (
        f"wrote {path}: {env.name}, {len(env)} questions x {n_chains} chains, "
        f"interval {env.interval} tokens, {digest[:19]}"
    )


@click.group()
def env() -> None:
    """Make, import and inspect replay environment files."""


@env.command(cls=Command, short_help="Write a synthetic environment.")
@option("-o", "--output", required=True, metavar="FILE", help="Environment file to write.")
@option("--questions", default=30, show_default=True, type=click.IntRange(min=1), help="Questions.")
@option(
    "--chains",
    default=128,
    show_default=True,
    type=click.IntRange(min=1),
    help="Chains per question.",
)
@option(
    "--interval",
    default=500,
    show_default=True,
    type=click.IntRange(min=1),
    help="Probe interval in tokens.",
)
@option("--seed", default=0, show_default=True, type=int, help="Random seed.")
@option("--model", default="synthetic", show_default=True, help="Model name to record.")
@option("--dataset", default="synth", show_default=True, help="Dataset name to record.")
def synth(
    output: str, questions: int, chains: int, interval: int, seed: int, model: str, dataset: str
) -> None:
    """Write a synthetic environment (deterministic: the same options give the same bytes)."""
    check_output_path(output)
    from ..data import synthesize, write_env

    made = synthesize(
        n_questions=questions,
        n_chains=chains,
        interval=interval,
        seed=seed,
        model=model,
        dataset=dataset,
    )
    click.echo(_summary(made, output, write_env(made, output)))


@env.command("import", cls=Command, short_help="Import a released-format file with its provenance.")
@click.argument("released", metavar="RELEASED.json", type=click.Path())
@option("--model", required=True, help="Model that produced the chains.")
@option("--dataset", required=True, help="Dataset the questions come from.")
@option("-o", "--output", required=True, metavar="FILE", help="Environment file to write.")
@option("--temperature", type=Number(0), default=None, help="Sampling temperature used.")
@option(
    "--probe-prompt",
    default=None,
    metavar="TEXT",
    help="Prompt used to probe intermediate answers.",
)
def import_(
    released: str,
    model: str,
    dataset: str,
    output: str,
    temperature: float | None,
    probe_prompt: str | None,
) -> None:
    """Convert a released-format file (a JSON list of questions) into an autotts environment
    file with its provenance (model, dataset, temperature, probe prompt, source, hash)."""
    check_output_path(output)
    from ..data import import_released, write_env

    made = import_released(
        released, model=model, dataset=dataset, temperature=temperature, probe_prompt=probe_prompt
    )
    click.echo(_summary(made, output, write_env(made, output)))


@env.command(cls=Command, short_help="Show statistics of environment files.")
@click.argument("files", nargs=-1, required=True, metavar="FILE...", type=click.Path())
@option(
    "--json",
    "as_json",
    is_flag=True,
    envvar="AUTOTTS_ENV_INFO_JSON",
    help="One JSON object per file, one per line.",
)
@option(
    "--replicates",
    default=100,
    show_default=True,
    type=click.IntRange(1, MAX_REPLICATES),
    help="Chain orders averaged for majority@k.",
)
@match_option
def info(files: tuple[str, ...], as_json: bool, replicates: int, match: str) -> None:
    """Show what an environment holds: size, chain lengths, probes, ERR rate, pass@1 and
    majority@k (in percent)."""
    from dataclasses import replace

    from ..data import apply_matching, content_hash, load_env
    from ..evaluate import env_stats

    stats = []
    for path in files:
        env = load_env(path)
        if not env.meta.content_hash:  # released files carry none: hash the file's content
            env = replace(env, meta=replace(env.meta, content_hash=content_hash(env)))
        env = apply_matching(env, match)
        record = {**env_stats(env, replicates=replicates).to_json(), "match": match}
        if as_json:
            click.echo(json.dumps(record))  # as soon as it is ready: a script may stream
        else:
            stats.append(record)
    if not as_json:
        from .render import print_env_info

        print_env_info(stats)
