"""The replay session (one question × one replicate chain order) and its actions."""

from .replay import ReplayError, log_codes, pack_codes, replay, unpack_codes
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
    public_record,
)

__all__ = [
    "ACTION_NAMES",
    "Action",
    "BudgetExceeded",
    "EpisodeOver",
    "InvalidAction",
    "NoChainsLeft",
    "ReadRecords",
    "ReplayError",
    "Session",
    "SessionError",
    "full_read_records",
    "log_codes",
    "pack_codes",
    "public_record",
    "replay",
    "unpack_codes",
]
