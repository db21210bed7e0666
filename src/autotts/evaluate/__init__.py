"""Evaluating controllers on replay environments: protocols, episodes, sweeps, statistics."""

from .envinfo import EnvStats, env_stats
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
from .sweep import EvalResult, bootstrap_ci, evaluate, parse_betas

__all__ = [
    "PROTOCOLS",
    "ChunkResult",
    "EnvStats",
    "Episode",
    "EpisodeError",
    "EvalResult",
    "Protocol",
    "RunSettings",
    "bootstrap_ci",
    "env_stats",
    "evaluate",
    "new_session",
    "parse_betas",
    "play",
    "run_chunk",
    "run_episode",
]
