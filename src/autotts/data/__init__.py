"""Replay environment files: loading, validation, metadata, matching, synthesis."""

from .io import EnvFormatError, content_hash, hash_problem, import_released, load_env, write_env
from .locate import EnvNotFound, cache_dir, replay_dir, resolve_env_paths
from .matching import MATCH_MODES, apply_matching, math_key, normalize_answer
from .model import ERR, Environment, EnvMeta, Question, QuestionArrays
from .synth import synthesize

__all__ = [
    "ERR",
    "MATCH_MODES",
    "EnvFormatError",
    "EnvMeta",
    "EnvNotFound",
    "Environment",
    "Question",
    "QuestionArrays",
    "apply_matching",
    "cache_dir",
    "content_hash",
    "hash_problem",
    "import_released",
    "load_env",
    "math_key",
    "normalize_answer",
    "replay_dir",
    "resolve_env_paths",
    "synthesize",
    "write_env",
]
