"""Proposers: where candidate controllers come from."""

from .base import (
    Context,
    CostLimitReached,
    NothingToPropose,
    Proposal,
    ProposalError,
    Proposer,
    controller_class_name,
    extract_code,
)

__all__ = [
    "Context",
    "CostLimitReached",
    "NothingToPropose",
    "Proposal",
    "ProposalError",
    "Proposer",
    "controller_class_name",
    "extract_code",
]
