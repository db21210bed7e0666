"""Strict mode's session: a thin proxy in the sandbox child over a session in the parent.

The child plays all replicates of a question at once, each in its own greenlet: every
greenlet runs until its next action, the actions of all of them go to the parent in one frame,
and the replies resume them — one round trip per step of the whole batch, not per action.

:class:`ProxySession` has the :class:`~autotts.env.Session` API (it subclasses it, so every
observation — ``live()``, ``chain_tokens``, ``last_revealed``, ``trace()``, costs — is the
session's own code over a mirror of the public state). Every action is sent to the parent,
which carries it out on a real session over the real chains and replies with what the action
revealed: the return value, the new log entries, the touched chains' public fields (depth,
charged tokens, state, last answer seen) and the probe count. Unrevealed chain data is never in
this process, so no trick of the candidate's can read it.

:func:`serve_action` is the parent's half: one action on a trusted session → the reply.
"""

from __future__ import annotations

import json
import marshal
import operator
import os
from typing import Any

from ..env import (
    BudgetExceeded,
    EpisodeOver,
    InvalidAction,
    NoChainsLeft,
    Session,
    SessionError,
    public_record,
)
from .wire import ACTION, REPLY, write_all

ERRORS: dict[str, type[Exception]] = {
    c.__name__: c
    for c in (
        SessionError,
        InvalidAction,
        NoChainsLeft,
        BudgetExceeded,
        EpisodeOver,
        TypeError,
        ValueError,
        IndexError,
    )
}


class Channel:
    """The child's end of the pipes to the parent: frames out, buffered frames in (one read
    usually holds a whole frame). Actions go out as JSON (the parent parses nothing else from
    the child); replies come back as marshal (fast; the child trusts its parent)."""

    def __init__(self, out: int, control: int) -> None:
        self.out, self.control = out, control
        self._dumps = json.JSONEncoder(separators=(",", ":")).encode
        self._buf = b""

    def send_actions(self, batch: list[Any]) -> list[tuple[Any, ...]]:
        """Send ``[[episode, action], ...]``; returns the replies, in the same order."""
        body = self._dumps(batch).encode()
        write_all(self.out, (len(body) + 1).to_bytes(4, "big") + ACTION + body)
        kind, payload = self.read_frame()
        if kind != REPLY:
            raise SessionError("the sandbox's action channel broke")
        replies: list[tuple[Any, ...]] = marshal.loads(payload)
        return replies

    def read_frame(self) -> tuple[bytes, bytes]:
        """The next frame from the parent."""
        buf = self._buf
        while len(buf) < 4 or len(buf) < 4 + int.from_bytes(buf[:4], "big"):
            chunk = os.read(self.control, 1 << 16)
            if not chunk:
                raise SessionError("the sandbox's action channel closed")
            buf += chunk
        n = int.from_bytes(buf[:4], "big")
        self._buf = buf[4 + n :]
        return buf[4:5], buf[5 : 4 + n]


def _index(x: Any) -> Any:
    """A chain index as JSON (an int-like object becomes its int; anything else its type name,
    which the real session refuses as it would the object)."""
    if isinstance(x, bool) or not hasattr(type(x), "__index__"):
        return x if isinstance(x, (int, str)) else f"<{type(x).__name__}>"
    return operator.index(x)


def _count(x: Any) -> Any:
    return x if type(x) is int else f"<{type(x).__name__}>"


class ProxySession(Session):
    """A session whose actions run in the trusted parent."""

    __slots__ = ("_remote",)

    def __init__(
        self, n_chains: int, interval: int, kappa_probe: float, budget: float | None
    ) -> None:
        super().__init__(
            [], [], [], range(n_chains), interval, kappa_probe=kappa_probe, budget=budget
        )
        self._remote: Any = None

    def attach(self, remote: Any) -> None:
        self._remote = remote

    def _act(self, *action: Any) -> Any:
        value, error, log, chains, n_probes, answered = self._remote(list(action))
        self._log += log
        for i, *fields in chains:
            self._mirror(i, *fields)
        self.n_probes = n_probes
        if answered is not None:
            self._answer = answered
        if error is not None:
            name, message = error
            if name == "BudgetExceeded":
                self.truncated = True
            raise ERRORS.get(name, SessionError)(message)
        return value

    def branch(self) -> int:
        value: int = self._act("branch")
        return value

    def advance(self, i: int, times: int = 1) -> bool:
        return bool(self._act("advance", _index(i), _count(times)))

    def probe(self, i: int) -> str:
        value: str = self._act("probe", _index(i))
        return value

    def step(self, i: int, times: int = 1) -> tuple[str, bool]:
        answer, done = self._act("step", _index(i), _count(times))
        return answer, done

    def prune(self, i: int) -> None:
        self._act("prune", _index(i))

    def read(self, k: int = 1) -> list[str]:
        return list(self._act("read", _count(k)))

    def answer(self, answer: str | None) -> None:
        if answer is not None and type(answer) is not str:  # as the real session refuses it
            raise InvalidAction(f"the answer must be a str, not {type(answer).__name__}")
        self._act("answer", answer)


# ------------------------------------------------------------------------------ parent
_METHODS = ("branch", "advance", "probe", "step", "prune", "read", "answer")


def serve_action(session: Session, action: Any) -> tuple[tuple[Any, ...], str | None, Any]:
    """Carry out one action the child asked for on the trusted ``session``: (the reply, the
    action's name, its return value; None for both if it was refused)."""
    n_log, n_open = len(session._log), session.n_open
    if (  # the hot path: step(i, n) on an opened chain
        type(action) is list
        and len(action) == 3
        and action[0] == "step"
        and type(action[1]) is int
        and type(action[2]) is int
        and 0 <= action[1] < n_open
    ):
        i = action[1]
        try:
            value: Any = session.step(i, action[2])
            error = None
        except SessionError as e:
            value, error = None, (type(e).__name__, str(e))
        record = (i, *public_record(session, i))
        fast: tuple[Any, ...] = (
            value,
            error,
            session._log[n_log:],
            [record],
            session.n_probes,
            session.answered,
        )
        return fast, ("step" if error is None else None), value
    value = None
    name = None
    error = None
    touched: list[int] = []
    try:
        if not (isinstance(action, list) and action and action[0] in _METHODS):
            raise InvalidAction(f"not an action: {str(action)[:60]}")
        name, args = action[0], action[1:]
        if len(args) > 2 or not all(isinstance(a, (int, str)) or a is None for a in args):
            raise InvalidAction(f"bad arguments to {name}")
        if name in ("advance", "probe", "step", "prune") and args:
            touched = [args[0]]  # (an advance refused by the budget may have moved it)
        value = getattr(session, name)(*args)
    except (SessionError, TypeError, ValueError, IndexError) as e:
        error = (type(e).__name__, str(e))
        name = value = None
    touched = sorted({*touched, *range(n_open, session.n_open)})
    chains = []
    for i in touched:
        if isinstance(i, int) and 0 <= i < session.n_open:
            chains.append((i, *public_record(session, i)))
    if isinstance(value, list):
        value = tuple(value)
    reply = (
        value,
        error,
        session._log[n_log:],
        chains,
        session.n_probes,
        session.answered,
    )
    return reply, name, value
