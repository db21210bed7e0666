"""``autotts discover``: propose, sandbox, measure and select controllers; judge on held-out."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from .common import CliError, Interrupted, env_paths
from .discover_output import (
    default_run_dir,
    describe_settings,
    final_text,
    main_job_data,
    write_report,
)
from .options import (
    DEFAULT_BETAS_TEXT,
    Number,
    betas_option,
    command,
    env_option,
    option,
    sandbox_limits,
    sandbox_options,
    settings_options,
    workers_option,
)

if TYPE_CHECKING:
    from ..evaluate import EvalSettings

QUICK_REPLICATES = 20
QUICK_BETAS = "0:1:0.25"
QUICK_GENERATIONS = 2
MAIN_ROUNDS = 4  # the default run: about a minute on 2 cores (see the README)
_RESUME_OPTIONS = {
    "rounds",
    "budget_minutes",
    "workers",
    "ray_address",
    "run_dir",
    "resume",
    "as_json",
}


def _given(name: str) -> bool:
    source = click.get_current_context().get_parameter_source(name)
    return source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


class _Reporter:
    """Rich progress bars per phase on a terminal; plain notes on stderr otherwise."""

    def __init__(self, bars: bool) -> None:
        self.bars = bars
        self.progress: Any = None
        self.task: Any = None
        self.first_note = ""  # said when the run has really started (input checked, dir locked)

    def _start(self) -> None:
        if self.first_note:
            text, self.first_note = self.first_note, ""
            self.note(text)

    def phase(self, title: str, total: int) -> None:
        self._start()
        self.done()
        if not self.bars:
            click.echo(f"autotts: {title} ({total} units)", err=True)
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.progress.start()
        self.task = self.progress.add_task(title, total=total)

    def advance(self, n: int = 1) -> None:
        if self.progress is not None:
            self.progress.advance(self.task, n)

    def note(self, text: str) -> None:
        self._start()
        if self.progress is not None:
            self.progress.console.print(text)
        else:
            click.echo(f"autotts: {text}", err=True)

    def done(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


@command(short_help="Discover a controller: propose, sandbox, select, judge on held-out.")
@env_option(
    "--search-env", "search", help="Environments the proposer learns from (a shell glob works)."
)
@env_option(
    "--heldout-env",
    "heldout",
    help="Environments for the final judgement only; never shown to the proposer.",
)
@option(
    "--proposer",
    default="evolve",
    show_default=True,
    type=click.Choice(("evolve", "openai", "agent")),
    help="Where candidates come from: evolve = LLM-free search (no model, $0).",
)
@option(
    "--budget-minutes",
    type=Number(0, above=True),
    help="Stop starting new rounds once the rounds have taken this long (the baselines and "
    "the held-out evaluation come on top). Without --rounds, rounds are then unlimited.",
)
@option(
    "--population",
    default=16,
    show_default=True,
    type=click.IntRange(min=2),
    help="evolve: genomes bred per generation (each scored exactly at the run's protocol).",
)
@option(
    "--generations",
    default=24,
    show_default=True,
    type=click.IntRange(min=1),
    help="evolve: generations per round; a round then promotes at most one genome.",
)
@option("--model", help="openai: the model name at the endpoint.")
@option("--base-url", help="openai: an OpenAI-compatible endpoint (default: OpenAI's).")
@option(
    "--api-key-env",
    default="OPENAI_API_KEY",
    show_default=True,
    help="openai: the environment variable holding the API key.",
)
@option(
    "--price-in",
    default=0.0,
    show_default=True,
    type=Number(0),
    help="openai: USD per million prompt tokens (for the cost ledger).",
)
@option(
    "--price-out",
    default=0.0,
    show_default=True,
    type=Number(0),
    help="openai: USD per million completion tokens.",
)
@option("--max-cost-usd", type=Number(0), help="Stop proposing once this much is spent.")
@option("--temperature", type=Number(0), help="openai: sampling temperature.")
@option(
    "--llm-timeout",
    default=600.0,
    show_default=True,
    type=Number(0, above=True),
    help="openai: seconds to wait for one reply.",
)
@option("--agent-cmd", help="agent: the coding-agent command, e.g. 'claude -p'.")
@option(
    "--agent-timeout",
    default=1800.0,
    show_default=True,
    type=Number(0, above=True),
    help="agent: seconds one proposal may take.",
)
@option(
    "--rounds",
    default=5,
    show_default=True,
    type=click.IntRange(min=1),
    help="Rounds of proposals (with --budget-minutes and no --rounds: until the time is up).",
)
@option("--candidates-per-round", default=2, show_default=True, type=click.IntRange(min=1))
@betas_option(f"Beta sweep of every candidate (and of cmc) [default: {DEFAULT_BETAS_TEXT}].")
@option(
    "--quick",
    is_flag=True,
    help=f"A first look: --replicates {QUICK_REPLICATES}, --betas {QUICK_BETAS} and (evolve) "
    f"--generations {QUICK_GENERATIONS} (unless given). The default run (no --search-env) uses "
    "it.",
)
@settings_options()
@sandbox_options
@workers_option
@option(
    "--run-dir",
    type=click.Path(file_okay=False),
    help="Where the history, candidates, summary.json and the report go "
    "[default: runs/discover-<UTC time>].",
)
@option(
    "--demo-size",
    hidden=True,
    metavar="QUESTIONSxCHAINS",
    help="Size of each synthetic environment of the default (no --search-env) run.",
)
@option("--resume", is_flag=True, help="Continue the run in --run-dir.")
@option("--json", "as_json", is_flag=True, help="Print summary.json to stdout.")
def discover(
    search: tuple[str, ...],
    heldout: tuple[str, ...],
    proposer: str,
    budget_minutes: float | None,
    population: int,
    generations: int,
    model: str | None,
    base_url: str | None,
    api_key_env: str,
    price_in: float,
    price_out: float,
    max_cost_usd: float | None,
    temperature: float | None,
    llm_timeout: float,
    agent_cmd: str | None,
    agent_timeout: float,
    rounds: int,
    candidates_per_round: int,
    betas: tuple[float, ...] | None,
    quick: bool,
    settings: EvalSettings,
    timeout: float | None,
    memory_mb: int | None,
    workers: Any,
    run_dir: str | None,
    demo_size: str | None,
    resume: bool,
    as_json: bool,
) -> None:
    """Discover a test-time-scaling controller.

    Each round the proposer writes candidate controllers; each is checked statically, run in
    the sandbox over the beta sweep on the search split, checked against the beta contract and
    scored against the baselines' frontier. The proposer sees curves and trace digests of the
    search split only. At the end the best candidate and the baselines are evaluated once on
    the held-out split; the run directory then holds summary.json, history.sqlite,
    candidates/<id>/controller.py and the HTML report (report/index.html).

    With no --search-env/--heldout-env it runs on the default data: the replay data's aime24
    (search) and aime25 (held-out) files when $AUTOTTS_REPLAY_DIR holds them, else a synthetic
    search split and a synthetic held-out split (different seeds), with --quick and --rounds 4.

    \b
    Examples:
      autotts discover                      # the main job on the default data, about a minute
      autotts discover --search-env replay/*/aime24.json --heldout-env replay/*/aime25.json \\
          --proposer openai --model gpt-x --base-url http://localhost:8000/v1 --run-dir runs/r1
      autotts discover --run-dir runs/r1 --resume
    """
    from dataclasses import replace

    from ..cluster import ClusterLost
    from ..discover import BaselineCache, DiscoverConfig, cache_dir
    from ..discover import discover as run_discovery
    from ..evaluate import DEFAULT_BETAS, Protocol, parse_betas

    if resume and run_dir is None:
        raise CliError("--resume needs --run-dir: the run directory to continue")
    path = Path(run_dir) if run_dir is not None else default_run_dir()
    run_dir = str(path)
    main_job = not resume and not search and not heldout
    data_note = ""
    if main_job:  # no data given: the whole product on the default data, quickly
        quick = True
        rounds = rounds if _given("rounds") else MAIN_ROUNDS
        if isinstance(workers, int) and not _given("workers"):
            workers = min(2, os.cpu_count() or 1)
    if quick:
        if not _given("replicates"):
            p = settings.protocol
            settings = replace(settings, protocol=Protocol(p.name, QUICK_REPLICATES, p.seed))
        if not _given("betas"):
            betas = tuple(parse_betas(QUICK_BETAS))
        if not _given("generations"):
            generations = QUICK_GENERATIONS
    cfg = None
    if resume:
        ctx = click.get_current_context()
        given = [
            p.opts[0]
            for p in ctx.command.params
            if p.name and p.name not in _RESUME_OPTIONS and _given(p.name)
        ]
        if given:
            raise CliError(
                f"{given[0]} cannot be changed when resuming: the run keeps the configuration "
                "it started with (only --rounds or --budget-minutes, to let it go on longer, "
                "--workers, --ray and --json apply)"
            )
    else:
        if main_job:
            search, heldout, data_note = main_job_data(path, demo_size)
        search = env_paths(search, "--search-env")
        heldout = env_paths(heldout, "--heldout-env")
        options = {
            "model": model,
            "base_url": base_url,
            "api_key_env": api_key_env,
            "price_in": price_in,
            "price_out": price_out,
            "max_cost_usd": max_cost_usd,
            "temperature": temperature,
            "llm_timeout_s": llm_timeout,
            "agent_cmd": agent_cmd,
            "agent_timeout_s": agent_timeout,
            "population": population,
            "generations": generations,
        }
        cfg = DiscoverConfig(
            search_envs=[os.path.abspath(p) for p in search],
            heldout_envs=[os.path.abspath(p) for p in heldout],
            proposer=proposer,
            proposer_options={k: v for k, v in options.items() if v is not None},
            rounds=rounds if budget_minutes is None or _given("rounds") else None,
            budget_minutes=budget_minutes,
            candidates_per_round=candidates_per_round,
            betas=list(betas or DEFAULT_BETAS),
            **settings.to_json(),
            timeout_s=sandbox_limits(timeout, memory_mb)[0],
            memory_mb=sandbox_limits(timeout, memory_mb)[1],
        )
    reporter = _Reporter(bars=sys.stderr.isatty())
    if cfg is not None:
        reporter.first_note = f"run directory {path}: {describe_settings(cfg, data_note)}"
    started = time.monotonic()

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # SIGTERM: stop as cleanly as on Ctrl-C

    signal.signal(signal.SIGTERM, terminate)
    import sqlite3

    try:
        summary = run_discovery(
            path,
            cfg,
            resume=resume,
            workers=workers,
            reporter=reporter,
            rounds=rounds if resume and _given("rounds") else None,
            budget_minutes=budget_minutes if resume else None,
            cache=BaselineCache(cache_dir(), warn=reporter.note),
        )
    except sqlite3.DatabaseError as e:  # the history failed during the run (e.g. disk full)
        from ..discover import describe_error

        raise CliError(describe_error(path / "history.sqlite", e)) from None
    except ClusterLost as e:
        reporter.done()
        raise CliError(
            f"{e}: run autotts discover --run-dir {run_dir} --resume to continue"
        ) from None
    except KeyboardInterrupt:
        reporter.done()
        raise Interrupted(
            f"everything so far is kept in {run_dir}: run autotts discover --run-dir {run_dir} "
            "--resume to continue"
        ) from None
    finally:
        reporter.done()
    index = write_report(path)
    if as_json:
        click.echo(json.dumps(summary, indent=2, sort_keys=True))
    else:
        from ..discover import render_text

        click.echo(render_text(summary))
        seconds = time.monotonic() - started
        click.echo(final_text(summary, path, index, seconds, data_note, resume))
