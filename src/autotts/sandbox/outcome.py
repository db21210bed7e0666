"""What a sandbox run is given (:class:`Limits`) and what it returns (:class:`SandboxOutcome`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

STATUSES = (
    "ok",
    "policy",
    "timeout",
    "memory",
    "cpu",
    "crash",
    "error",
    "invalid",
    "output",
    "forged",  # what the candidate's process reported does not survive the trusted replay
    "cheat",  # strict mode (no unrevealed data in its memory) gives other results than fast
)
MAX_REASON = 400


@dataclass(frozen=True)
class Limits:
    """Limits of one sandbox process: wall clock, address space (``RLIMIT_AS``), CPU time
    (``RLIMIT_CPU``; ``None`` means the wall-clock limit), the size of one frame the child
    sends (``output_mb``; one question's results is far smaller), the time one episode may take
    (``None``: no per-episode limit), and whether a missing OS layer is an error."""

    timeout_s: float = 300.0
    memory_mb: int = 4096
    cpu_s: float | None = None
    output_mb: float = 16.0
    episode_timeout_s: float | None = 5.0
    require_jail: bool = field(
        default_factory=lambda: (
            os.environ.get("AUTOTTS_REQUIRE_JAIL", "").lower() in ("1", "true", "yes", "on")
        )
    )

    def __post_init__(self) -> None:
        if self.episode_timeout_s is not None and not self.episode_timeout_s > 0:
            got = self.episode_timeout_s
            raise ValueError(f"Limits.episode_timeout_s must be positive or None, got {got!r}")
        for name in ("timeout_s", "memory_mb", "output_mb"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Limits.{name} must be positive, got {getattr(self, name)!r}")
        if self.cpu_s is not None and not self.cpu_s > 0:
            raise ValueError(f"Limits.cpu_s must be positive or None, got {self.cpu_s!r}")

    @property
    def cpu_limit_s(self) -> float:
        return self.cpu_s if self.cpu_s is not None else self.timeout_s


@dataclass(frozen=True)
class SandboxOutcome:
    """The result of one sandbox run. ``status`` is one of :data:`STATUSES`; ``reason`` is one
    line ("" when ok); ``data`` is the job's JSON result when ok; ``log`` is the tail of the
    process's stderr (the controller's prints, tracebacks); ``details`` lists every policy
    violation when there were several."""

    status: str
    reason: str
    data: dict[str, Any] | None
    seconds: float
    log: str = ""
    details: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class Rejection(BaseException):
    """Raised by trusted code in the sandbox child to end the run with ``status``/``reason``.
    A ``BaseException``, so the evaluator's per-episode ``except Exception`` lets it through."""

    def __init__(self, status: str, reason: str, details: tuple[str, ...] = ()) -> None:
        assert status in STATUSES and status != "ok", status
        super().__init__(reason)
        self.status = status
        self.reason = one_line(reason)
        self.details = details


def one_line(text: str, limit: int = MAX_REASON) -> str:
    """``text`` on a single line, shortened to ``limit`` characters."""
    line = " ".join(part.strip() for part in str(text).splitlines() if part.strip())
    return line if len(line) <= limit else line[: limit - 1] + "…"
