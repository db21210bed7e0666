"""Controllers written for the live tests (loaded as ``path.py:Class``)."""

from __future__ import annotations

from autotts.controllers import Controller
from autotts.env import Session


class BranchThenRaise(Controller):
    """Opens one chain, then fails like a buggy controller."""

    name = "branch_then_raise"

    def solve(self, session: Session) -> str | None:
        session.branch()
        raise RuntimeError("a bug in the controller")
