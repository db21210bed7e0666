"""Exclusive locks with ``flock``: one writer per collect journal, one process per discovery
run directory. The lock belongs to an open file and goes away with it, so a process killed
with SIGKILL never leaves a stale lock behind."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["lock_directory", "try_lock"]


def try_lock(file: IO[str]) -> bool:
    """Take the exclusive lock on ``file`` without waiting; False if another open file holds
    it. Where there is no ``fcntl`` (not POSIX) nothing is locked and this returns True."""
    try:
        import fcntl
    except ImportError:
        return True
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class DirectoryInUse(ValueError):
    """Another process holds the directory's lock (a user error: one line on the CLI)."""


@contextmanager
def lock_directory(folder: Path, name: str = ".lock") -> Iterator[None]:
    """Hold ``folder/name`` locked, with this process's pid in it, for the ``with`` block;
    raises :class:`DirectoryInUse` naming the holder's pid if another process has it."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / name, "a+", encoding="ascii") as f:
        if not try_lock(f):
            f.seek(0)
            pid = f.read().strip() or "?"
            raise DirectoryInUse(f"{folder} is in use by pid {pid}")
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        yield
