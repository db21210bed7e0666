"""A session's action log as compact codes, and replaying such a log in a trusted session.

A log entry packs into one integer ``chain << 3 | op`` (op as in :mod:`.session`, where a
CONTINUE+PROBE pair is one ``STEP`` entry); a batch read packs the number of chains read
instead of its first chain (which is implied: the chains already open). Replaying the codes
in a fresh session on the same chains and order repeats the episode exactly: every action is
checked and charged by the session itself, so the tokens, cost and answers revealed come from
the chains, never from whoever produced the codes.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

from .session import _READS, _STEP, ANSWER, BRANCH, CONTINUE, PROBE, PRUNE, Session, SessionError


class ReplayError(SessionError):
    """A log that does not replay (an action the session refuses, or an unknown code)."""


def log_codes(session: Session) -> list[int]:
    """The session's log so far as codes."""
    return [
        ((t if op == _READS else (i if op != ANSWER else 0)) << 3) | op for op, i, t in session._log
    ]


def pack_codes(codes: Sequence[int]) -> tuple[int, bytes]:
    """(bytes per code, the codes packed as uint16 or uint32 in this machine's byte order: the
    sandbox child and the parent that unpacks them are always on the same machine)."""
    width = 2 if not codes or max(codes) < 65536 else 4
    return width, array("H" if width == 2 else "I", codes).tobytes()


def unpack_codes(data: bytes, width: int) -> list[int]:
    """The inverse of :func:`pack_codes`; raises ValueError on a malformed buffer."""
    if width not in (2, 4) or len(data) % width:
        raise ValueError(f"a packed log of {len(data)} bytes at {width} bytes per code")
    codes = array("H" if width == 2 else "I")
    if codes.itemsize != width:
        raise ValueError("this platform's array item sizes differ from the packing")
    codes.frombytes(data)
    return codes.tolist()


def replay(session: Session, codes: Sequence[int], answer: str | None) -> set[str]:
    """Apply ``codes`` (ending with one ANSWER, which takes ``answer``) to a fresh ``session``;
    returns every answer the actions revealed. Raises :class:`ReplayError` if the log does not
    replay."""
    revealed: set[str] = set()
    add = revealed.add
    branch, advance, probe, step = session.branch, session.advance, session.probe, session.step
    n = len(codes)
    try:
        for k, code in enumerate(codes):
            op, i = code & 7, code >> 3
            if op == _STEP:
                add(step(i)[0])
            elif op == CONTINUE:
                advance(i)
            elif op == BRANCH:
                if branch() != i:
                    raise ReplayError(f"action {k}: opened chain {session.n_open - 1}, not {i}")
            elif op == PROBE:
                add(probe(i))
            elif op == _READS:
                revealed.update(session.read(i))
            elif op == PRUNE:
                session.prune(i)
            elif op == ANSWER and k == n - 1:
                session.answer(answer)
            else:
                raise ReplayError(f"action {k}: code {code} is not an action here")
    except ReplayError:
        raise
    except SessionError as e:
        raise ReplayError(f"action {k}: {type(e).__name__}: {e}") from None
    except (TypeError, ValueError, IndexError) as e:
        raise ReplayError(f"action {k}: {type(e).__name__}: {e}") from None
    if session.answered is None:
        raise ReplayError("the log does not end with the ANSWER action")
    return revealed
