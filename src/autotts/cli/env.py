"""``autotts env``: make, import and inspect replay environment files, and write their questions."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from .common import CliError, check_output_path, env_paths, warn
from .options import MAX_REPLICATES, Command, Number, match_option, option
from .pull import pull

if TYPE_CHECKING:
    from ..data import Environment


def _summary(env: Environment, path: str, digest: str) -> str:
    chains = sorted({q.n_chains for q in env.questions})
    n_chains = str(chains[0]) if len(chains) == 1 else f"{chains[0]}-{chains[-1]}"
    return (
        f"wrote {path}: {env.name}, {len(env)} questions x {n_chains} chains, "
        f"interval {env.interval} tokens, {digest[:19]}"
    )


def _hash_check(stored: str, computed: str) -> str:
    if not stored:
        return "none stored"
    return "ok" if stored == computed else f"MISMATCH (stored {stored}, computed {computed})"


@click.group()
def env() -> None:
    """Make, import, download and inspect replay environment files."""


env.add_command(pull)


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

    [released] = env_paths([released], "")
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
    majority@k (in percent), and its content hash, checked against the one stored in the file
    ("hash": "ok", "MISMATCH (stored X, computed Y)", or "none stored" for released files).
    Files may be given by name, as --env (Qwen3-4B/aime25)."""
    from dataclasses import replace

    from ..data import apply_matching, content_hash, load_env
    from ..evaluate import env_stats

    stats = []
    for path in env_paths(files, ""):
        env = load_env(path)
        stored, computed = env.meta.content_hash, content_hash(env)
        env = replace(env, meta=replace(env.meta, content_hash=computed))
        env = apply_matching(env, match)
        record = {**env_stats(env, replicates=replicates).to_json(), "match": match}
        record["hash"] = _hash_check(stored, computed)
        if as_json:
            click.echo(json.dumps(record))  # as soon as it is ready: a script may stream
        else:
            stats.append(record)
    if not as_json:
        from .render import print_env_info

        print_env_info(stats)


@env.command(cls=Command, short_help="Write the questions file collect and solve read.")
@click.argument("env_file", metavar="ENV")
@click.option("-o", "--output", required=True, metavar="FILE.jsonl", help="Questions file.")
@click.option(
    "--skip-missing",
    is_flag=True,
    help="Leave out questions the environment has no text for (else: an error, nothing written).",
)
def questions(env_file: str, output: str, skip_missing: bool) -> None:
    """Write an environment's questions as JSONL, one {"id", "question", "answer"} per line:
    the --questions file of autotts collect and autotts solve. Ids are those collect recorded,
    else DATASET-INDEX (from 0); answers are the gold answers. ENV may be a short name
    (Qwen3-4B/aime25). Question text is never made up: questions without text are an error
    (or, with --skip-missing, left out with a warning)."""
    check_output_path(output)
    from ..data import load_env
    from ..live import env_questions, write_questions

    [path] = env_paths([env_file], "")
    env = load_env(path, verify=True)
    items, missing = env_questions(env)
    if missing and (not skip_missing or not items):
        first = missing[0]
        raise CliError(
            f"{path}: {len(missing)} of {len(env)} questions have no text (first: question "
            f"{first}): the environment does not record what was asked, so no questions file "
            "can be made from it"
            + ("; --skip-missing writes the others" if items and not skip_missing else "")
            + " (nothing written)"
        )
    if missing:
        warn(f"{path}: left out {len(missing)} question(s) without text: {missing[:10]}")
    write_questions(items, output)
    click.echo(
        f"wrote {output}: {len(items)} questions of {env.name} (ids {items[0].id} .. "
        f"{items[-1].id}), {sum(q.answer is not None for q in items)} with an answer"
    )
