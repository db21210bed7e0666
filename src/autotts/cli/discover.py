"""``autotts discover``: propose, sandbox, measure and select controllers; judge on held-out."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from .common import CliError
from .discover_output import (
    default_run_dir,
    describe_settings,
    final_text,
    main_job_data,
    write_report,
)
from .options import GreedyOption

QUICK_REPLICATES = 20
QUICK_BETAS = "0:1:0.25"
MAIN_ROUNDS = 4  # the default run: about a minute on 2 cores (see the README)
_RESUME_OPTIONS = {"rounds", "budget_minutes", "workers", "run_dir", "resume", "as_json"}


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


@click.command(short_help="Discover a controller: propose, sandbox, select, judge on held-out.")
@click.option(
    "--search-env",
    "search",
    cls=GreedyOption,
    metavar="FILE...",
    help="Environments the proposer learns from (a shell glob works).",
)
@click.option(
    "--heldout-env",
    "heldout",
    cls=GreedyOption,
    metavar="FILE...",
    help="Environments for the final judgement only; never shown to the proposer.",
)
@click.option(
    "--proposer",
    default="evolve",
    show_default=True,
    metavar="evolve|openai|agent",
    help="Where candidates come from: evolve = LLM-free search (no model, $0).",
)
@click.option(
    "--budget-minutes",
    type=click.FloatRange(min=0, min_open=True),
    help="Stop starting new rounds once the rounds have taken this long (the baselines and "
    "the held-out evaluation come on top). Without --rounds, rounds are then unlimited.",
)
@click.option(
    "--population",
    default=12,
    show_default=True,
    type=click.IntRange(min=2),
    help="evolve: genomes bred and cheaply evaluated per round.",
)
@click.option("--model", help="openai: the model name at the endpoint.")
@click.option("--base-url", help="openai: an OpenAI-compatible endpoint (default: OpenAI's).")
@click.option(
    "--api-key-env",
    default="OPENAI_API_KEY",
    show_default=True,
    help="openai: the environment variable holding the API key.",
)
@click.option(
    "--price-in",
    default=0.0,
    show_default=True,
    type=float,
    help="openai: USD per million prompt tokens (for the cost ledger).",
)
@click.option(
    "--price-out",
    default=0.0,
    show_default=True,
    type=float,
    help="openai: USD per million completion tokens.",
)
@click.option("--max-cost-usd", type=float, help="Stop proposing once this much is spent.")
@click.option("--temperature", type=float, help="openai: sampling temperature.")
@click.option(
    "--llm-timeout",
    default=600.0,
    show_default=True,
    type=float,
    help="openai: seconds to wait for one reply.",
)
@click.option("--agent-cmd", help="agent: the coding-agent command, e.g. 'claude -p'.")
@click.option(
    "--agent-timeout",
    default=1800.0,
    show_default=True,
    type=float,
    help="agent: seconds one proposal may take.",
)
@click.option(
    "--rounds",
    default=5,
    show_default=True,
    type=click.IntRange(min=1),
    help="Rounds of proposals (with --budget-minutes and no --rounds: until the time is up).",
)
@click.option("--candidates-per-round", default=2, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--betas",
    default="0:1:0.1",
    show_default=True,
    metavar="SPEC",
    help="Beta sweep of every candidate (and of cmc).",
)
@click.option("--replicates", default=100, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--quick",
    is_flag=True,
    help=f"A first look: --replicates {QUICK_REPLICATES} and --betas {QUICK_BETAS} "
    "(unless given). The default run (no --search-env) uses it.",
)
@click.option("--protocol", default="official", show_default=True, metavar="official|subsample")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--match", default="exact", show_default=True, help="Answer matching mode.")
@click.option("--kappa-probe", default=0.0, show_default=True, type=float)
@click.option("--budget", type=float, metavar="TOKENS", help="Per-episode cost cap.")
@click.option(
    "--timeout",
    default=300.0,
    show_default=True,
    type=float,
    help="Sandbox wall-clock limit per (candidate, environment), seconds.",
)
@click.option(
    "--memory-mb",
    default=4096,
    show_default=True,
    type=int,
    help="Sandbox address-space limit, MB.",
)
@click.option(
    "--workers",
    default=os.cpu_count() or 1,
    type=click.IntRange(min=1),
    help="Parallel sandboxes / baseline workers [default: all cores].",
)
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False),
    help="Where the history, candidates, summary.json and the report go "
    "[default: runs/discover-<UTC time>].",
)
@click.option(
    "--demo-size",
    hidden=True,
    metavar="QUESTIONSxCHAINS",
    help="Size of each synthetic environment of the default (no --search-env) run.",
)
@click.option("--resume", is_flag=True, help="Continue the run in --run-dir.")
@click.option("--json", "as_json", is_flag=True, help="Print summary.json to stdout.")
def discover(
    search: tuple[str, ...],
    heldout: tuple[str, ...],
    proposer: str,
    budget_minutes: float | None,
    population: int,
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
    betas: str,
    replicates: int,
    quick: bool,
    protocol: str,
    seed: int,
    match: str,
    kappa_probe: float,
    budget: float | None,
    timeout: float,
    memory_mb: int,
    workers: int,
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
    from ..data import MATCH_MODES
    from ..discover import BaselineCache, DiscoverConfig, cache_dir
    from ..discover import discover as run_discovery
    from ..discover.summary import render_text
    from ..evaluate import parse_betas

    if resume and run_dir is None:
        raise CliError("--resume needs --run-dir: the run directory to continue")
    path = Path(run_dir) if run_dir is not None else default_run_dir()
    main_job = not resume and not search and not heldout
    data_note = ""
    if main_job:  # no data given: the whole product on the default data, quickly
        quick = True
        rounds = rounds if _given("rounds") else MAIN_ROUNDS
    if quick:
        replicates = replicates if _given("replicates") else QUICK_REPLICATES
        betas = betas if _given("betas") else QUICK_BETAS
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
                "--workers and --json apply)"
            )
    else:
        if match not in MATCH_MODES:
            raise CliError(f"unknown --match {match!r} (choose from {', '.join(MATCH_MODES)})")
        for f in (*search, *heldout):
            if not os.path.isfile(f):
                raise CliError(f"{f}: no such file")
        if main_job:
            search, heldout, data_note = main_job_data(path, demo_size)
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
        }
        cfg = DiscoverConfig(
            search_envs=[os.path.abspath(p) for p in search],
            heldout_envs=[os.path.abspath(p) for p in heldout],
            proposer=proposer,
            proposer_options={k: v for k, v in options.items() if v is not None},
            rounds=rounds if budget_minutes is None or _given("rounds") else None,
            budget_minutes=budget_minutes,
            candidates_per_round=candidates_per_round,
            betas=parse_betas(betas),
            replicates=replicates,
            protocol=protocol,
            seed=seed,
            match=match,
            kappa_probe=kappa_probe,
            budget=budget,
            timeout_s=timeout,
            memory_mb=memory_mb,
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
        from ..discover.history import describe_error

        raise CliError(describe_error(path / "history.sqlite", e)) from None
    except KeyboardInterrupt:
        reporter.done()
        raise CliError(
            f"interrupted; everything so far is kept: continue with "
            f"autotts discover --run-dir {run_dir} --resume"
        ) from None
    finally:
        reporter.done()
    index = write_report(path)
    if as_json:
        click.echo(json.dumps(summary, indent=2, sort_keys=True))
    else:
        click.echo(render_text(summary))
        seconds = time.monotonic() - started
        click.echo(final_text(summary, path, index, seconds, data_note, resume))
