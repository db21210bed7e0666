"""``autotts discover``: propose, sandbox, measure and select controllers; judge on held-out."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from .common import CliError, Interrupted, env_paths
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

_RESUME_OPTIONS = {"rounds", "workers", "run_dir", "resume", "as_json"}


def _given(name: str) -> bool:
    source = click.get_current_context().get_parameter_source(name)
    return source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


class _Reporter:
    """Rich progress bars per phase on a terminal; plain notes on stderr otherwise."""

    def __init__(self, bars: bool) -> None:
        self.bars = bars
        self.progress: Any = None
        self.task: Any = None

    def phase(self, title: str, total: int) -> None:
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
    default=12,
    show_default=True,
    type=click.IntRange(min=2),
    help="evolve: genomes bred and cheaply evaluated per round.",
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
@settings_options()
@sandbox_options
@workers_option
@option(
    "--run-dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Where the history, candidates and summary.json go.",
)
@option("--resume", is_flag=True, help="Continue the run in --run-dir.")
@option("--json", "as_json", is_flag=True, help="Print summary.json to stdout.")
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
    betas: tuple[float, ...] | None,
    settings: EvalSettings,
    timeout: float | None,
    memory_mb: int | None,
    workers: int,
    run_dir: str,
    resume: bool,
    as_json: bool,
) -> None:
    """Discover a test-time-scaling controller.

    Each round the proposer writes candidate controllers; each is checked statically, run in
    the sandbox over the beta sweep on the search split, checked against the beta contract and
    scored against the baselines' frontier. The proposer sees curves and trace digests of the
    search split only. At the end the best candidate and the baselines are evaluated once on
    the held-out split; the run directory then holds summary.json, history.sqlite and
    candidates/<id>/controller.py.

    \b
    Examples:
      autotts discover --search-env replay/*/aime24.json --heldout-env replay/*/aime25.json \\
          --proposer openai --model gpt-x --base-url http://localhost:8000/v1 --run-dir runs/r1
      autotts discover --run-dir runs/r1 --resume
    """
    from ..discover import DiscoverConfig, render_text
    from ..discover import discover as run_discovery
    from ..evaluate import DEFAULT_BETAS

    path = Path(run_dir)
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
                "it started with (only --rounds, to add rounds, --workers and --json apply)"
            )
    else:
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
        }
        cfg = DiscoverConfig(
            search_envs=[os.path.abspath(p) for p in search],
            heldout_envs=[os.path.abspath(p) for p in heldout],
            proposer=proposer,
            proposer_options={k: v for k, v in options.items() if v is not None},
            rounds=rounds if budget_minutes is None or _given("rounds") else 100_000,
            budget_minutes=budget_minutes,
            candidates_per_round=candidates_per_round,
            betas=list(betas or DEFAULT_BETAS),
            **settings.to_json(),
            timeout_s=sandbox_limits(timeout, memory_mb)[0],
            memory_mb=sandbox_limits(timeout, memory_mb)[1],
        )
    reporter = _Reporter(bars=sys.stderr.isatty())

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # SIGTERM: stop as cleanly as on Ctrl-C

    signal.signal(signal.SIGTERM, terminate)
    try:
        summary = run_discovery(
            path,
            cfg,
            resume=resume,
            workers=workers,
            reporter=reporter,
            rounds=rounds if resume and _given("rounds") else None,
        )
    except KeyboardInterrupt:
        reporter.done()
        raise Interrupted(
            f"everything so far is kept in {run_dir}: run autotts discover --run-dir {run_dir} "
            "--resume to continue"
        ) from None
    finally:
        reporter.done()
    if as_json:
        click.echo(json.dumps(summary, indent=2, sort_keys=True))
    else:
        click.echo(render_text(summary))
        click.echo(f"summary: {path / 'summary.json'}")
