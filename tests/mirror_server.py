"""A local stand-in for raw.githubusercontent.com: an HTTP server on 127.0.0.1 (port 0) serving
a directory laid out as ``owner/repo/commit/path``, counting the requests it gets, with faults
that can be queued per path (a 503, a truncated body, a stall until released); and the
fixtures of the ``env pull`` tests (a plugin of tests/conftest.py): ``mirror``, a running
server, and ``synthetic_table``, two small synthetic files served from it with their own table.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from autotts.data import ReleasedFile, synthesize, write_env

FIRST, SECOND = "o/AutoTTS/c1/env/", "o/Parallel-Probe/c2/eval/"


class Mirror:
    """The running server. ``url`` is the base to give as ``--mirror``; ``requests`` the paths
    asked for, in order; ``fail(path, *faults)`` queues faults for the next requests of
    ``path``: ``"503"``, ``"truncate"`` (the full Content-Length, half the body, then the
    connection closed) or ``"stall"`` (half the body, then wait until :meth:`release`;
    ``stalled`` is set once the half is sent)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        self.faults: dict[str, list[str]] = {}
        self.stalled = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        handler = functools.partial(_Handler, self, directory=str(root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def put(self, path: str, data: bytes) -> None:
        """Serve ``data`` at ``path`` (``owner/repo/commit/...``)."""
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    def link(self, path: str, source: Path) -> None:
        """Serve the file ``source`` at ``path`` without copying it."""
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(source)

    def fail(self, path: str, *faults: str) -> None:
        with self._lock:
            self.faults.setdefault("/" + path, []).extend(faults)

    def release(self) -> None:
        self._release.set()

    def _next_fault(self, path: str) -> str | None:
        with self._lock:
            self.requests.append(path)
            queue = self.faults.get(path)
            return queue.pop(0) if queue else None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)


class _Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, mirror: Mirror, *args: Any, **kwargs: Any) -> None:
        self.mirror = mirror
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        fault = self.mirror._next_fault(self.path)
        if fault is None:
            super().do_GET()
            return
        if fault == "503":
            self.send_error(503, "Service Unavailable")
            return
        data = (self.mirror.root / self.path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        if fault == "stall":
            self.mirror.stalled.set()
            self.mirror._release.wait(timeout=60)
        self.close_connection = True


@contextmanager
def serve_mirror(root: Path) -> Iterator[Mirror]:
    """A started :class:`Mirror` over ``root``, stopped afterwards."""
    root.mkdir(parents=True, exist_ok=True)
    mirror = Mirror(root)
    mirror.start()
    try:
        yield mirror
    finally:
        mirror.stop()


def synthetic_bytes(tmp_path: Path, seed: int) -> bytes:
    path = tmp_path / f"synth-{seed}.json"
    write_env(synthesize(n_questions=2, n_chains=4, seed=seed), path)
    return path.read_bytes()


def entry_for(model: str, dataset: str, data: bytes, mirrored: bool = False) -> ReleasedFile:
    """A table entry for ``data`` under the first source, and a second when ``mirrored``."""
    sources = [f"{FIRST}{model}/{dataset}.json"]
    if mirrored:
        sources.append(f"{SECOND}{dataset}.json")
    return ReleasedFile(model, dataset, hashlib.sha256(data).hexdigest(), len(data), tuple(sources))


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mirror]:
    """A running :class:`Mirror` over an empty directory; retries do not wait."""
    from autotts.data import pull

    monkeypatch.setattr(pull, "BACKOFF_S", 0.0)
    with serve_mirror(tmp_path / "mirror") as m:
        yield m


@pytest.fixture
def synthetic_table(tmp_path: Path, mirror: Mirror) -> list[ReleasedFile]:
    """M1/a (one source) and M2/b (two sources), both served from their first source."""
    a, b = synthetic_bytes(tmp_path, 1), synthetic_bytes(tmp_path, 2)
    entries = [entry_for("M1", "a", a), entry_for("M2", "b", b, mirrored=True)]
    for e, data in zip(entries, (a, b), strict=True):
        mirror.put(e.sources[0], data)
    return entries
