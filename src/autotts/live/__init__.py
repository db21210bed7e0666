"""Real models: building replay environments from a live model (``collect``) and running a
controller against one (``LiveSession``, ``solve_live``), through an OpenAI-compatible server.

The ``openai`` SDK is imported only when the first request is made.
"""

from .client import ClientStats, Completion, LiveError, ModelClient
from .collect import (
    CollectResult,
    Progress,
    QuestionItem,
    QuestionsError,
    collect,
    journal_path,
    read_questions,
)
from .extract import DEFAULT_PROBE_SUFFIX, extract_final, extract_probe
from .journal import JournalError
from .questions import env_questions, write_questions
from .sampler import (
    DEFAULT_TEMPLATE,
    DEFAULT_USER_MESSAGE,
    Probe,
    Prompt,
    Sampler,
    SamplingSettings,
    Step,
    request_seed,
)
from .server import SeedsNotHonoured, ServerReport, check_seeds, negotiate
from .session import LiveSession
from .solve import LiveOptions, LiveResult, solve_live, trace_records

__all__ = [
    "DEFAULT_PROBE_SUFFIX",
    "DEFAULT_TEMPLATE",
    "DEFAULT_USER_MESSAGE",
    "ClientStats",
    "CollectResult",
    "Completion",
    "JournalError",
    "LiveError",
    "LiveOptions",
    "LiveResult",
    "LiveSession",
    "ModelClient",
    "Probe",
    "Progress",
    "Prompt",
    "QuestionItem",
    "QuestionsError",
    "Sampler",
    "SamplingSettings",
    "SeedsNotHonoured",
    "ServerReport",
    "Step",
    "check_seeds",
    "collect",
    "env_questions",
    "extract_final",
    "extract_probe",
    "journal_path",
    "negotiate",
    "read_questions",
    "request_seed",
    "solve_live",
    "trace_records",
    "write_questions",
]
