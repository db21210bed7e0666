"""Replay environment files: loading, validation, metadata, matching, synthesis."""

from .io import EnvFormatError, content_hash, load_env, write_env
from .matching import MATCH_MODES, apply_matching, normalize_answer
from .model import ERR, EnvMeta, Environment, Question, QuestionArrays

__all__ = [
    "ERR",
    "MATCH_MODES",
    "EnvFormatError",
    "EnvMeta",
    "Environment",
    "Question",
    "QuestionArrays",
    "apply_matching",
    "content_hash",
    "load_env",
    "normalize_answer",
    "write_env",
]
