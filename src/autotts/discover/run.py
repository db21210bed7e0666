"""Starting and resuming a discovery run in a run directory."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..locks import lock_directory
from ..procs import Workers
from .cache import BaselineCache
from .config import DiscoverConfig
from .history import History
from .loop import Discovery, Reporter, load_split
from .proposers import Proposer

PROPOSERS = ("evolve", "openai", "agent")


def make_proposer(
    cfg: DiscoverConfig, run_dir: Path, spent_usd: float, workers: Workers = 2
) -> Proposer:
    o = cfg.proposer_options
    if cfg.proposer == "evolve":
        from .evolve.search import GENERATIONS_PER_ROUND
        from .proposers.evolve import EvolveProposer, fitness_settings

        return EvolveProposer(
            run_dir,
            cfg.search_envs,
            fitness_settings(cfg),
            cfg.seed,
            cfg.candidates_per_round,
            population=o.get("population", 16),
            generations=o.get("generations", GENERATIONS_PER_ROUND),
            workers=workers,
        )
    if cfg.proposer == "openai":
        from .proposers.llm import OpenAIProposer

        if not o.get("model"):
            raise ValueError("the openai proposer needs --model")
        key_env = o.get("api_key_env") or "OPENAI_API_KEY"
        key = os.environ.get(key_env)
        if not key:
            if not o.get("base_url"):
                raise ValueError(
                    f"set {key_env} to the API key (or name another variable with --api-key-env)"
                )
            key = "EMPTY"  # local OpenAI-compatible servers (vLLM, llama.cpp) take any key
        return OpenAIProposer(
            model=o["model"],
            base_url=o.get("base_url"),
            api_key=key,
            price_in=o.get("price_in", 0.0),
            price_out=o.get("price_out", 0.0),
            max_cost_usd=o.get("max_cost_usd"),
            spent_usd=spent_usd,
            timeout_s=o.get("llm_timeout_s", 600.0),
            temperature=o.get("temperature"),
        )
    if cfg.proposer == "agent":
        from .proposers.agent import AgentProposer

        if not o.get("agent_cmd"):
            raise ValueError("the agent proposer needs --agent-cmd (e.g. 'claude -p')")
        return AgentProposer(o["agent_cmd"], run_dir / "workspace", o.get("agent_timeout_s", 1800))
    raise ValueError(f"unknown proposer {cfg.proposer!r} (choose from {', '.join(PROPOSERS)})")


def _has_run(run_dir: Path) -> bool:
    with History.open(run_dir) as h:
        return h.latest_run() is not None


def discover(
    run_dir: Path,
    cfg: DiscoverConfig | None,
    *,
    resume: bool = False,
    workers: Workers = 2,
    reporter: Reporter | None = None,
    proposer: Proposer | None = None,
    rounds: int | None = None,
    budget_minutes: float | None = None,
    cache: BaselineCache | None = None,
) -> dict[str, Any]:
    """Run (or, with ``resume``, continue) discovery in ``run_dir``; returns the summary, also
    written to ``run_dir/summary.json``. On resume, ``rounds`` and ``budget_minutes`` may let
    the run go on longer (:meth:`DiscoverConfig.extend`; earlier rounds are kept). ``cache``
    serves and keeps baseline measurements across runs (:class:`BaselineCache`). The run
    directory is locked while the run goes on: a second process on it gets
    :class:`~autotts.locks.DirectoryInUse` (``RUN_DIR is in use by pid N``)."""
    more = (rounds, budget_minutes)
    if run_dir.is_dir():  # lock first: what it holds may be another process's run
        with lock_directory(run_dir):
            proposer = _prepare(run_dir, cfg, resume, workers, proposer)
            return _run(run_dir, cfg, resume, workers, reporter, proposer, more, cache)
    proposer = _prepare(run_dir, cfg, resume, workers, proposer)  # bad input: no directory
    with lock_directory(run_dir):
        if not resume and _has_run(run_dir):  # another process ran there meanwhile
            raise ValueError(f"{run_dir} already holds a discovery run: add --resume")
        return _run(run_dir, cfg, resume, workers, reporter, proposer, more, cache)


def _prepare(
    run_dir: Path,
    cfg: DiscoverConfig | None,
    resume: bool,
    workers: Workers,
    proposer: Proposer | None,
) -> Proposer | None:
    """Check that the run can start (or resume); for a new run, load and hash its splits and
    make its proposer. Everything that can fail on bad input fails here, before any write."""
    db = run_dir / "history.sqlite"
    if resume:
        if not db.exists():
            raise ValueError(f"{run_dir}: no discovery run to resume (no history.sqlite)")
        return proposer
    if cfg is None:
        raise ValueError("a new run needs its configuration")
    if db.exists() and _has_run(run_dir):
        raise ValueError(
            f"{run_dir} already holds a discovery run: add --resume to continue it, or "
            "choose another --run-dir"
        )
    search, held = load_split(cfg.search_envs), load_split(cfg.heldout_envs)
    cfg.search_hashes, cfg.search_labels = search.hashes, search.labels
    cfg.heldout_hashes, cfg.heldout_labels = held.hashes, held.labels  # never shown
    return proposer or make_proposer(cfg, run_dir, 0.0, workers)


def _run(
    run_dir: Path,
    cfg: DiscoverConfig | None,
    resume: bool,
    workers: Workers,
    reporter: Reporter | None,
    proposer: Proposer | None,
    more: tuple[int | None, float | None],
    cache: BaselineCache | None,
) -> dict[str, Any]:
    with History.open(run_dir) as h:
        if resume:
            latest = h.latest_run()
            if latest is None:
                raise ValueError(f"{run_dir}: the history holds no run to resume")
            run, stored = latest
            cfg = DiscoverConfig.from_json(stored)
            if cfg.extend(*more, h.rounds_finished(run)):
                h.update_config(run, cfg.to_json())
            prop = proposer or make_proposer(cfg, run_dir, h.spent_usd(run), workers)
        else:
            assert cfg is not None and proposer is not None
            run = h.create_run(cfg.to_json())
            prop = proposer
        d = Discovery(run_dir, h, run, cfg, prop, workers=workers, reporter=reporter, cache=cache)
        if hasattr(prop, "reporter"):  # the evolve proposer draws its own progress bars
            prop.reporter = d.rep

        def heldout() -> Any:
            split = load_split(cfg.heldout_envs)
            if cfg.heldout_hashes and split.hashes != cfg.heldout_hashes:
                raise ValueError("a held-out environment changed since the run started")
            return split

        summary = d.execute(heldout)
    tmp = run_dir / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    tmp.replace(run_dir / "summary.json")
    return summary
