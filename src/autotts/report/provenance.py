"""What made a report: the autotts version, the command line and the time, recorded in its
HTML page and in every JSON file it writes."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .html import esc


@dataclass(frozen=True)
class Provenance:
    version: str
    command: str
    created: str  # UTC, ISO 8601, to the second

    @classmethod
    def now(cls, argv: Sequence[str] | None = None) -> Provenance:
        """For the running process; ``argv`` are the command's arguments after ``autotts``
        (default: this process's own)."""
        from .. import __version__

        args = list(sys.argv[1:] if argv is None else argv)
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return cls(__version__, shlex.join(["autotts", *args]), created)

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "command": self.command, "created": self.created}

    def html(self) -> str:
        return (
            f"<p class='note'>Made by autotts {esc(self.version)} at {esc(self.created)} with "
            f"<code>{esc(self.command)}</code>.</p>"
        )
