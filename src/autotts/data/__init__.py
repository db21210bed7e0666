"""Replay environment files: loading, validation, metadata, matching, synthesis."""

from .io import EnvFormatError, content_hash, import_released, load_env, write_env
from .matching import MATCH_MODES, apply_matching, math_key, normalize_answer
from .model import ERR, Environment, EnvMeta, Question, QuestionArrays
from .synth import synthesize

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
    "import_released",
    "load_env",
    "math_key",
    "normalize_answer",
    "synthesize",
    "write_env",
]
