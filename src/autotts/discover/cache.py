"""A cache of baseline measurements shared by every discovery run of this user.

The baselines (sc, asc, esc, parallel_probe, cmc) are trusted built-in code: measured once under
given settings on a given environment, they give the same record in any run directory. Each
record is one JSON file under ``<cache dir>/baselines/``, named by the sha256 of its key:
the controller and its parameters, beta, the environment's content hash, protocol, replicates,
seed, match, kappa_probe, budget, trace replicates, and a fingerprint of the autotts version and
of the source of every module that makes the record (controllers, env, evaluate, data, the
measuring code, and ``discover/baselines.py``, which holds the list of baseline points), so any
change to that code or to the point list invalidates the cache. A point's own parameters are
in its key too (asc at threshold 0.9 and at 0.95 are two records).

Writes are atomic (a temporary file renamed into place). An entry that cannot be read or does
not hold what its key says is ignored with a warning and measured again; a cache directory that
cannot be written is a warning too. The cache never stops a run.

The directory is ``$AUTOTTS_CACHE_DIR``, else ``platformdirs.user_cache_dir("autotts")``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .measure import MeasureSettings

ENV_VAR = "AUTOTTS_CACHE_DIR"
_SOURCES = (
    "controllers",
    "env",
    "evaluate",
    "data",
    "discover/measure.py",
    "discover/baselines.py",
)


def cache_dir() -> Path:
    """``$AUTOTTS_CACHE_DIR``, else the user cache directory for autotts."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("autotts"))


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """sha256 of the autotts version and the source of the code that makes a baseline record."""
    from .. import __version__

    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256(__version__.encode())
    for name in _SOURCES:
        path = root / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for f in files:
            h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


class BaselineCache:
    """Baseline records by key, in ``root/baselines``; ``warn`` receives one-line warnings.
    ``hits`` and ``misses`` count lookups."""

    def __init__(self, root: Path, warn: Callable[[str], None] | None = None) -> None:
        self.folder = root / "baselines"
        self.warn = warn or (lambda text: None)
        self.hits = 0
        self.misses = 0
        self._unwritable = False

    def key(
        self, code: str, beta: float | None, env_hash: str, s: MeasureSettings
    ) -> dict[str, Any]:
        return {
            "code": code,
            "beta": beta,
            "env_hash": env_hash,
            **s.to_json(),
            "fingerprint": code_fingerprint(),
        }

    def _path(self, key: Mapping[str, Any]) -> Path:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
        return self.folder / digest[:2] / f"{digest}.json"

    def get(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        """The stored record ``{"beta", "result", "trace"}``, or None (missing or unreadable)."""
        path = self._path(key)
        try:
            entry = json.loads(path.read_text())
            if entry["key"] != dict(key):
                raise ValueError("it holds another key")
            record = entry["record"]
            if not (isinstance(record["result"], dict) and isinstance(record["trace"], dict)):
                raise ValueError("no result and trace")
        except (FileNotFoundError, NotADirectoryError):
            self.misses += 1
            return None
        except (OSError, ValueError, KeyError, TypeError) as e:
            self.misses += 1
            self.warn(f"warning: ignoring the corrupt cache entry {path} ({e}); measuring again")
            return None
        self.hits += 1
        return {"beta": key["beta"], "result": record["result"], "trace": record["trace"]}

    def put(self, key: Mapping[str, Any], record: Mapping[str, Any]) -> None:
        if self._unwritable:
            return
        path = self._path(key)
        entry = {"key": dict(key), "record": {"result": record["result"], "trace": record["trace"]}}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w") as f:
                    json.dump(entry, f, sort_keys=True)
                os.replace(tmp, path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError as e:
            self._unwritable = True
            self.warn(
                f"warning: cannot write the baseline cache in {self.folder} ({e}); not caching"
            )

    def entries(self) -> list[Path]:
        return sorted(self.folder.glob("*/*.json")) if self.folder.is_dir() else []

    def clear(self) -> int:
        """Delete every entry; returns how many there were."""
        files = self.entries()
        for f in files:
            f.unlink(missing_ok=True)
        return len(files)
