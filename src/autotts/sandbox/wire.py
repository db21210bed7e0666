"""What crosses the pipes between the trusted parent and the sandbox child.

Frames: a 4-byte big-endian length, one kind byte, the payload. The parent treats every byte it
reads as untrusted (the candidate can write to its own pipes): frames are size-capped, parsed as
JSON or fixed structs only (never pickle or marshal), and nothing in them is believed until
:mod:`.verify` has checked it.

Requests are typed (:class:`DescribeRequest`, :class:`EpisodesRequest`); the child answers a
describe with one ``S`` frame, and episodes with a stream: ``H`` (an episode starts: env, beta,
question, replicate — the parent's per-episode clock), ``R`` (one question's replicates:
answers, claimed figures and packed action logs) and a final ``S`` (status). In strict mode the
child's session actions travel as ``A`` frames and the parent answers each with ``V``.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import asdict, dataclass, field
from typing import Any

MAX_FRAME = 256 << 20
HEARTBEAT = struct.Struct(">HHII")  # env, beta, question, replicate
HEADER_LEN = struct.Struct(">I")

REQUEST, HEARTBEAT_KIND, RESULTS, STATUS, ACTION, REPLY, EPISODE, DONE = (
    b"Q", b"H", b"R", b"S", b"A", b"V", b"E", b"Z"
)  # fmt: skip


class WireError(Exception):
    """A frame that does not parse (from the child: the candidate's doing)."""


@dataclass(frozen=True)
class RunSpec:
    """How episodes are run: protocol, probe charge and budget (matching was applied by the
    parent before the environments were written for the child)."""

    protocol: str = "official"
    replicates: int = 100
    seed: int = 0
    kappa_probe: float = 0.0
    budget: float | None = None


@dataclass(frozen=True)
class DescribeRequest:
    """What the class is, whether its schedule holds at ``betas``, and (``contract``) the
    one-knob problems discovery refuses."""

    betas: tuple[float | None, ...] = ()
    contract: bool = False
    kind: str = "describe"


@dataclass(frozen=True)
class EpisodesRequest:
    """Play every episode of ``envs`` (gold-free files) × ``betas`` × questions × replicates;
    ``strict``: the sessions live in the parent and the child gets a proxy."""

    envs: tuple[str, ...]
    betas: tuple[float | None, ...]
    run: RunSpec = field(default_factory=RunSpec)
    params: dict[str, Any] = field(default_factory=dict)
    name: str = "candidate"
    strict: bool = False
    contract: bool = False
    kind: str = "episodes"


Request = DescribeRequest | EpisodesRequest


def request_to_json(req: Request) -> dict[str, Any]:
    return asdict(req)


def request_from_json(d: dict[str, Any]) -> Request:
    if d.get("kind") == "describe":
        return DescribeRequest(tuple(d["betas"]), bool(d["contract"]))
    return EpisodesRequest(
        tuple(d["envs"]),
        tuple(d["betas"]),
        RunSpec(**d["run"]),
        dict(d["params"]),
        d["name"],
        bool(d["strict"]),
        bool(d["contract"]),
    )


# ----------------------------------------------------------------------------- frames
def frame(kind: bytes, payload: bytes) -> bytes:
    return HEADER_LEN.pack(len(payload) + 1) + kind + payload


def json_frame(kind: bytes, obj: Any) -> bytes:
    return frame(kind, json.dumps(obj, separators=(",", ":")).encode())


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def read_exact(fd: int, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, n - got)
        if not chunk:
            raise EOFError("the pipe closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> tuple[bytes, bytes]:
    """Blocking read of one frame (the child reading what the trusted parent sent)."""
    (n,) = HEADER_LEN.unpack(read_exact(fd, 4))
    body = read_exact(fd, n)
    return body[:1], body[1:]


class FrameReader:
    """Splits a byte stream into frames (the parent's side: size-checked)."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._buf = bytearray()
        self.max_frame = max_frame

    def feed(self, data: bytes) -> list[tuple[bytes, bytes]]:
        self._buf += data
        out = []
        while len(self._buf) >= 4:
            (n,) = HEADER_LEN.unpack_from(self._buf)
            if n < 1 or n > self.max_frame:
                raise WireError(f"a frame of {n:,} bytes (at most {self.max_frame:,})")
            if len(self._buf) < 4 + n:
                break
            body = bytes(self._buf[4 : 4 + n])
            del self._buf[: 4 + n]
            out.append((body[:1], body[1:]))
        return out

    @property
    def pending(self) -> int:
        return len(self._buf)


def parse_json(payload: bytes, what: str) -> Any:
    try:
        return json.loads(payload)
    except (ValueError, RecursionError) as e:
        raise WireError(f"{what}: not JSON ({type(e).__name__})") from None
