"""Environment files where a sandbox needs them: on the node that runs it.

A sandbox reads its (gold-free) environment from a file, and the trusted verifier beside it
loads the full one from a file too. Locally those are the user's paths (:class:`LocalFiles`).
On a cluster the paths are the driver's, which another node need not have: the driver ships
each file's bytes once through Ray's object store (:class:`ShippedFiles`) and each node writes
them once, atomically, to a private cache named by their sha256, which is then the path every
sandbox on that node is given.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field


class LocalFiles:
    """The files are where the driver says they are."""

    def local(self, path: str) -> str:
        return path


@dataclass
class ShippedFiles:
    """path (absolute, on the driver) -> (sha256, content), pickled once into the object store."""

    blobs: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    @classmethod
    def of(cls, paths: Iterable[str]) -> ShippedFiles:
        blobs = {}
        for p in dict.fromkeys(os.path.abspath(p) for p in paths):
            with open(p, "rb") as f:
                data = f.read()
            blobs[p] = (hashlib.sha256(data).hexdigest(), data)
        return cls(blobs)

    def local(self, path: str) -> str:
        """This node's copy of the driver's ``path``, written on first use."""
        key = os.path.abspath(path)
        if key not in self.blobs:
            raise KeyError(f"{path}: not among the files shipped to the cluster")
        digest, data = self.blobs[key]
        folder = os.path.join(tempfile.gettempdir(), f"autotts-cluster-{os.getuid()}")
        os.makedirs(folder, mode=0o700, exist_ok=True)
        suffix = "".join(pathlib.PurePath(key).suffixes) or ".json"  # load_env reads by suffix
        target = os.path.join(folder, digest + suffix)
        if not _holds(target, len(data)):
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".part-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)  # atomic: a sandbox on this node never sees half a file
        return target


def _holds(path: str, size: int) -> bool:
    try:
        return os.path.getsize(path) == size
    except OSError:
        return False
