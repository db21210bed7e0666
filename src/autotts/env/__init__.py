"""The replay session (one question × one replicate chain order) and its actions."""

from .session import (
    ACTION_NAMES,
    Action,
    BudgetExceeded,
    EpisodeOver,
    InvalidAction,
    NoChainsLeft,
    ReadRecords,
    Session,
    SessionError,
    full_read_records,
)

__all__ = [
    "ACTION_NAMES",
    "Action",
    "BudgetExceeded",
    "EpisodeOver",
    "InvalidAction",
    "NoChainsLeft",
    "ReadRecords",
    "Session",
    "SessionError",
    "full_read_records",
]
