"""``autotts serve``: an OpenAI-compatible chat endpoint in front of a model server, answering
each request with a test-time-scaling controller run live (what ``autotts solve`` does for one
question) and returning the aggregated answer.

starlette, uvicorn and prometheus-client are imported with this package, not with ``autotts``.
"""

from .app import create_app
from .engine import Cancel, Cancelled, Engine, Job, MeteredClient, Outcome, estimate_full_tokens
from .metrics import Metrics
from .protocol import ChatRequest, RequestError, ServeConfig, parse_chat, question_id
from .server import Service, listen

__all__ = [
    "Cancel",
    "Cancelled",
    "ChatRequest",
    "Engine",
    "Job",
    "MeteredClient",
    "Metrics",
    "Outcome",
    "RequestError",
    "ServeConfig",
    "Service",
    "create_app",
    "estimate_full_tokens",
    "listen",
    "parse_chat",
    "question_id",
]
