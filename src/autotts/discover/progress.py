"""Progress hooks of a discovery run: the CLI draws bars; tests and scripts stay silent."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    """Progress hooks: the CLI draws bars; tests and scripts get :class:`Silent`."""

    def phase(self, title: str, total: int) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def note(self, text: str) -> None: ...
    def done(self) -> None: ...


class Silent:
    def phase(self, title: str, total: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def done(self) -> None:
        pass


__all__ = ["Reporter", "Silent"]
