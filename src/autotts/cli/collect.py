"""``autotts collect``: build a replay environment from a live model."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .common import CliError, Interrupted, check_output_path, warn
from .options import chains_option, command, model_options, option, sampling_options

if TYPE_CHECKING:
    from ..live import ModelClient, Progress, Sampler, SamplingSettings, ServerReport


def make_settings(opts: dict[str, Any]) -> SamplingSettings:
    """The sampling settings asked for (before :func:`make_sampler` fits them to the server):
    ``--prompt-template FILE`` is a raw prompt; otherwise the model's chat template is asked
    for, applied to ``--user-message``."""
    from ..live import (
        DEFAULT_PROBE_SUFFIX,
        DEFAULT_TEMPLATE,
        DEFAULT_USER_MESSAGE,
        SamplingSettings,
    )

    template, user = DEFAULT_TEMPLATE, opts.get("user_message") or DEFAULT_USER_MESSAGE
    path = opts["prompt_template"]
    if path is not None:
        if opts.get("user_message"):
            raise CliError("--prompt-template and --user-message exclude each other")
        template, user = _read_text(path, "the prompt template"), None
    elif user.startswith("@"):
        path = user[1:]
        user = _read_text(path, "the user message")
    try:
        return SamplingSettings(
            interval=opts["interval"],
            max_tokens=opts["max_tokens"],
            temperature=opts["temperature"],
            top_p=opts["top_p"],
            prompt_template=template,
            probe_suffix=opts["probe_suffix"] or DEFAULT_PROBE_SUFFIX,
            probe_tokens=opts["probe_tokens"],
            seed=opts["seed"],
            user_message=user,
        )
    except ValueError as e:
        if path and ("template" in str(e) or "user message" in str(e)):
            raise CliError(f"{path}: {e}") from None
        raise CliError(str(e)) from None


def _read_text(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise CliError(f"{path}: cannot read {what}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise CliError(f"{path}: {what} is not UTF-8 text: {e.reason}") from None


def make_sampler(
    client: ModelClient, settings: SamplingSettings, question: str, opts: dict[str, Any]
) -> tuple[Sampler, ServerReport]:
    """The sampler for this server: the prompt format and continuation it supports
    (``--continuation``, tried on ``question``), with what differs from exact collection
    stated on stderr."""
    from ..live import LiveError, Sampler, negotiate

    try:
        fitted, report = negotiate(client, settings, question, opts.get("continuation") or "auto")
    except LiveError as e:
        raise CliError(str(e)) from None
    for note in report.notes:
        if "(--continuation text)" not in note:
            warn(note)
    return Sampler(client, fitted), report


def make_client(opts: dict[str, Any]) -> ModelClient:
    """The client, after checking the server answers and serves the model."""
    from ..live import LiveError, ModelClient

    client = ModelClient(
        opts["base_url"],
        opts["model"],
        api_key=opts["api_key"],
        timeout=opts["request_timeout"],
        retries=opts["retries"],
        retry_wait=opts["retry_wait"],
    )
    try:
        client.check()
    except LiveError as e:
        raise CliError(str(e)) from None
    return client


@command(short_help="Build a replay environment from a live model.")
@model_options("COLLECT")
@option(
    "--questions",
    "questions_file",
    required=True,
    metavar="FILE.jsonl",
    type=click.Path(),
    help='One {"id", "question", "answer"} object per line.',
)
@chains_option("Chains per question.")
@sampling_options
@option("--dataset", default=None, help="Dataset name to record (default: file stem).")
@option(
    "--allow-unreproducible",
    is_flag=True,
    help="Collect even when the server fails the seed self-check (recorded in the file).",
)
@option("-o", "--output", required=True, metavar="ENV", help="Environment file to write.")
@option("--json", "as_json", is_flag=True, help="Print a JSON summary line.")
def collect(
    questions_file: str,
    chains: int,
    dataset: str | None,
    allow_unreproducible: bool,
    output: str,
    as_json: bool,
    **opts: Any,
) -> None:
    """Sample chains from a model and write a replay environment.

    Each of the --chains chains per question grows --interval tokens at a time through the
    completions endpoint and is probed after every step. Where the server allows it (vLLM,
    SGLang) the prompt is the model's own chat template and chains are continued by token
    ids; a seed self-check first makes sure the server reproduces seeded samples (so a
    resumed collect continues its chains as they were). Every step is journaled in
    ENV.journal as soon as it is done: run the same command again after an interruption and
    collect continues where it stopped (finished chains are never sampled again).

    \b
    Example (a vLLM server on this machine):
      autotts collect --base-url http://localhost:8000/v1 --model Qwen/Qwen3-4B \\
          --questions aime25.jsonl --chains 64 -o qwen3-4b-aime25.json
    """
    from ..live import (
        JournalError,
        LiveError,
        SeedsNotHonoured,
        check_seeds,
        journal_path,
        read_questions,
    )
    from ..live import collect as run_collect

    check_output_path(output)
    settings = make_settings(opts)
    items = read_questions(questions_file)
    client = make_client(opts)
    name = dataset or Path(questions_file).stem
    sampler, report = make_sampler(client, settings, items[0].question, opts)
    run = {"concurrency": opts["concurrency"], "dataset": name, "report": report}
    try:
        try:
            check_seeds(sampler, items[0].question, report)
        except SeedsNotHonoured as e:
            if not allow_unreproducible:
                raise CliError(str(e)) from None
            warn(f"{e}: collecting anyway (recorded in the environment)")
            report.notes.append(str(e))
        if as_json or not sys.stderr.isatty():
            result = run_collect(sampler, items, chains, output, **run)
        else:
            with _progress_bar(f"{opts['model']} on {name}") as on_progress:
                result = run_collect(sampler, items, chains, output, on_progress=on_progress, **run)
    except JournalError as e:  # resuming would fail the same way
        raise CliError(str(e)) from None
    except LiveError as e:
        raise CliError(
            f"{e} (the journal {journal_path(output)} keeps what was done: run the command "
            "again to resume)"
        ) from None
    except KeyboardInterrupt:
        raise Interrupted(
            f"{journal_path(output)} keeps every finished step: run the same command to continue"
        ) from None
    finally:
        client.close()
    if result.skipped_journal_lines:
        warn(
            f"{result.journal}: skipped {result.skipped_journal_lines} line(s) torn by a crash "
            "or no longer continuing their chain; what they recorded was sampled again"
        )
    if as_json:
        click.echo(json.dumps(result.to_json()))
        return
    r = result
    click.echo(
        f"wrote {output}: {r.env.name}, {len(r.env)} questions x {chains} chains, "
        f"{r.tokens:,} tokens + {r.probe_tokens:,} probe tokens in {r.seconds:.1f} s "
        f"({r.requests:,} requests, {r.retries} retried"
        + (f", {r.resumed_chains} chains from the journal" if r.resumed_chains else "")
        + f"), {r.content_hash[:19]}"
    )


@contextmanager
def _progress_bar(label: str) -> Iterator[Callable[[Progress], None]]:
    """A rich progress bar on stderr over chains, with tokens and tokens per second."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bar

    with Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chains  {task.fields[tokens]:,} tok  {task.fields[rate]:,.0f} tok/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None, tokens=0, rate=0.0)

        def update(p: Progress) -> None:
            bar.update(
                task,
                total=p.chains_total,
                completed=p.chains_done,
                tokens=p.tokens + p.probe_tokens,
                rate=p.tokens_per_second,
            )

        yield update
