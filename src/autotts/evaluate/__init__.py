"""Evaluating controllers on replay environments: protocols, episodes, sweeps, statistics."""

from .compare import (
    Comparison,
    EnvComparison,
    Side,
    advantage,
    compare,
    compare_results,
    side_betas,
    token_ratio,
)
from .envinfo import EnvStats, env_stats
from .frontier import (
    Point,
    envelope,
    interpolate,
    joint_frontier,
    matched_accuracy,
    matched_advantage,
    matched_count,
    measured_curve,
    reached_count,
    tokens_to_reach,
)
from .protocol import MAX_REPLICATES, PROTOCOLS, Protocol
from .runner import ChunkResult, Episode, EpisodeError, new_session, play, run_chunk, run_episode
from .settings import DEFAULT_BETAS, MAX_BETAS, EvalSettings, merge_betas, parse_betas
from .sweep import EvalResult, bootstrap_ci, evaluate, merge_chunks, settings_from

__all__ = [
    "DEFAULT_BETAS",
    "MAX_BETAS",
    "MAX_REPLICATES",
    "PROTOCOLS",
    "ChunkResult",
    "Comparison",
    "EnvComparison",
    "EnvStats",
    "Episode",
    "EpisodeError",
    "EvalResult",
    "EvalSettings",
    "Point",
    "Protocol",
    "Side",
    "advantage",
    "bootstrap_ci",
    "compare",
    "compare_results",
    "env_stats",
    "envelope",
    "evaluate",
    "interpolate",
    "joint_frontier",
    "matched_accuracy",
    "matched_advantage",
    "matched_count",
    "measured_curve",
    "merge_betas",
    "merge_chunks",
    "new_session",
    "parse_betas",
    "play",
    "reached_count",
    "run_chunk",
    "run_episode",
    "settings_from",
    "side_betas",
    "token_ratio",
    "tokens_to_reach",
]
