"""Where environment files are found: the one resolver every ``--env`` goes through.

A value is used as given when it names an existing path (a file the shell globbed, a path
typed out). Otherwise it is looked up, in order, in

1. the replay data directory: ``$AUTOTTS_REPLAY_DIR``, by default ``../shared/replay`` beside
   the checkout autotts runs from;
2. the user cache: ``$AUTOTTS_CACHE_DIR/replay``, by default
   ``platformdirs.user_cache_dir("autotts")/replay`` (``~/.cache/autotts/replay`` on Linux),

as a short name (``Qwen3-4B/aime25``: ``.json`` is implied) or a quoted glob of short names
(``'*/aime25'``), which the resolver expands itself. The first directory that has a match
wins. A value that matches nothing is an :class:`EnvNotFound` naming every place looked in.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from pathlib import Path

from .io import EnvFormatError

REPLAY_DIR_VAR = "AUTOTTS_REPLAY_DIR"
CACHE_DIR_VAR = "AUTOTTS_CACHE_DIR"
SYNTH_HINT = "make one with 'autotts env synth -o demo.json'"

# src/autotts/data/locate.py -> the checkout's root (meaningless, and harmless, when installed)
_CHECKOUT = Path(__file__).resolve().parents[3]


class EnvNotFound(EnvFormatError):
    """An environment that is neither a path nor a name found in the data directories."""


def replay_dir() -> Path:
    """The replay data directory (it may not exist)."""
    given = os.environ.get(REPLAY_DIR_VAR)
    return Path(given).expanduser() if given else _CHECKOUT.parent / "shared" / "replay"


def cache_dir() -> Path:
    """autotts's cache directory; environments are looked up in its ``replay`` folder."""
    given = os.environ.get(CACHE_DIR_VAR)
    if given:
        return Path(given).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("autotts"))


def search_dirs() -> list[Path]:
    """Where short names are looked up, in order."""
    return [replay_dir(), cache_dir() / "replay"]


def _has_magic(text: str) -> bool:
    return any(c in text for c in "*?[")


def _candidates(directory: Path, spec: str) -> list[Path]:
    names = [spec] if spec.endswith(".json") else [spec + ".json", spec]
    for name in names:
        pattern = str(directory / name)
        found = sorted(glob.glob(pattern)) if _has_magic(name) else [pattern]
        files = [Path(p) for p in found if os.path.isfile(p)]
        if files:
            return files
    return []


def describe_search() -> str:
    """The places looked in, for error messages."""
    home = str(Path.home())

    def show(p: Path) -> str:
        s = str(p)
        return "~" + s[len(home) :] if home not in ("", "/") and s.startswith(home + os.sep) else s

    replay, cache = search_dirs()
    first = (
        f"${REPLAY_DIR_VAR}={os.environ[REPLAY_DIR_VAR]}"
        if os.environ.get(REPLAY_DIR_VAR)
        else f"{show(replay)} (set ${REPLAY_DIR_VAR})"
    )
    second = show(cache) + (f" (${CACHE_DIR_VAR})" if os.environ.get(CACHE_DIR_VAR) else "")
    return f"{first}, {second}"


def resolve_env_paths(specs: Iterable[str | os.PathLike[str]], option: str = "--env") -> list[Path]:
    """Every value of ``option`` as environment file paths, in the order given (a glob's
    matches sorted); raises :class:`EnvNotFound` for the first value that matches nothing
    (its message starts with ``option`` and the value, or with the value alone when
    ``option`` is empty)."""
    out: list[Path] = []
    for raw in specs:
        spec = os.fspath(raw)
        if os.path.lexists(spec):
            out.append(Path(spec))
            continue
        if _has_magic(spec):
            here = sorted(glob.glob(spec))
            if here:
                out.extend(Path(p) for p in here)
                continue
        found: list[Path] = []
        if not os.path.isabs(spec):
            for directory in search_dirs():
                found = _candidates(directory, spec)
                if found:
                    break
        if not found:
            problem = "no environment matches" if _has_magic(spec) else "no such file"
            where = (
                f"short names are looked up in {describe_search()}"
                if os.path.isabs(spec)
                else f"looked in ./, {describe_search()}"
            )
            label = f"{option} {spec!r}" if option else spec
            raise EnvNotFound(f"{label}: {problem} ({where}); {SYNTH_HINT}")
        out.extend(found)
    return out
