"""Evaluating controllers on replay environments: protocols, episodes, sweeps, statistics."""

from .compare import Comparison, EnvComparison, compare, compare_results
from .envinfo import EnvStats, env_stats
from .frontier import matched_advantage_over
from .protocol import PROTOCOLS, Protocol
from .runner import (
    ChunkResult,
    Episode,
    EpisodeError,
    RunSettings,
    new_session,
    play,
    run_chunk,
    run_episode,
)
from .sweep import EvalResult, bootstrap_ci, evaluate, merge_chunks, parse_betas

__all__ = [
    "PROTOCOLS",
    "ChunkResult",
    "Comparison",
    "EnvComparison",
    "EnvStats",
    "Episode",
    "EpisodeError",
    "EvalResult",
    "Protocol",
    "RunSettings",
    "bootstrap_ci",
    "compare",
    "compare_results",
    "env_stats",
    "evaluate",
    "matched_advantage_over",
    "merge_chunks",
    "new_session",
    "parse_betas",
    "play",
    "run_chunk",
    "run_episode",
]
