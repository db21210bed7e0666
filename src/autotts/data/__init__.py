"""Replay environment files: loading, validation, metadata, matching, synthesis, and pulling
the released ones into the user cache."""

from .io import EnvFormatError, content_hash, hash_problem, import_released, load_env, write_env
from .locate import EnvNotFound, cache_dir, replay_dir, resolve_env_paths
from .matching import MATCH_MODES, apply_matching, math_key, normalize_answer
from .model import ERR, Environment, EnvMeta, Question, QuestionArrays
from .pull import (
    PullError,
    PullResult,
    cached_state,
    mirror_base,
    pull_released,
    release_path,
    release_root,
    select_released,
)
from .released import RELEASED, ReleasedFile
from .synth import synthesize

__all__ = [
    "ERR",
    "MATCH_MODES",
    "RELEASED",
    "EnvFormatError",
    "EnvMeta",
    "EnvNotFound",
    "Environment",
    "PullError",
    "PullResult",
    "Question",
    "QuestionArrays",
    "ReleasedFile",
    "apply_matching",
    "cache_dir",
    "cached_state",
    "content_hash",
    "hash_problem",
    "import_released",
    "load_env",
    "math_key",
    "mirror_base",
    "normalize_answer",
    "pull_released",
    "release_path",
    "release_root",
    "replay_dir",
    "resolve_env_paths",
    "select_released",
    "synthesize",
    "write_env",
]
