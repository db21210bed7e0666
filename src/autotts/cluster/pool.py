"""A Ray cluster as a pool of workers: the same ``map`` the local fork pool offers.

``RayPool.map(fn, shared, tasks, on_done)`` calls ``fn(shared, task)`` for every task as a Ray
task and ``on_done(task index, result)`` here as each one ends. ``shared`` (the environments,
encoded environments or environment files of a run) is put in the object store once per pool,
so it travels to each node once, and is unpickled once per worker process.

The Ray driver is a child process (:mod:`.bridge`), because Ray ends its driver outright when
the cluster goes away; here that is end-of-file on a pipe, and :class:`ClusterLost` says how
far the run got (callers have filed every finished unit by then). Faults short of that are
Ray's: a task whose worker dies runs again (:data:`.bridge.TASK_RETRIES`); an exception the
work raised is re-raised here as itself.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from .bridge import read_frame, write_frame

ENV_VAR = "AUTOTTS_RAY_ADDRESS"


class ClusterError(RuntimeError):
    """The cluster cannot be used: Ray missing, nothing at the address, autotts not on a node."""


class ClusterLost(ClusterError):
    """The cluster went away during a run."""


def resolve_address(given: str | None) -> str:
    """``--ray ADDRESS`` as given, else ``$AUTOTTS_RAY_ADDRESS``, else ``auto`` (the cluster
    this machine belongs to, as ``ray start`` recorded it)."""
    return (given or "").strip() or os.environ.get(ENV_VAR, "").strip() or "auto"


def connect(address: str | None = None) -> RayPool:
    """Connect to the Ray cluster at ``address`` (see :func:`resolve_address`) and check that
    every node can run autotts. Never starts a cluster: nothing there is a ClusterError."""
    if importlib.util.find_spec("ray") is None:
        raise ClusterError("--ray needs Ray: pip install 'autotts[ray]'")
    where = resolve_address(address)
    host, _, port = where.rpartition(":")
    if host and port.isdigit() and "://" not in where:  # Ray would retry for minutes
        try:
            socket.create_connection((host, int(port)), timeout=5).close()
        except OSError as e:
            raise ClusterError(f"no Ray cluster at {where}: {e.strerror or e}") from None
    return RayPool(where)


class _Raised(Exception):
    def __init__(self, error: BaseException) -> None:
        self.error = error


class RayPool:
    """Workers on a Ray cluster, driven through a :mod:`.bridge` child process."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.lost = False
        self._log = tempfile.TemporaryFile()  # noqa: SIM115  (Ray's messages, kept off the terminal)
        env = {**os.environ, "RAY_gcs_rpc_server_reconnect_timeout_s": "30"}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "autotts.cluster.bridge", address, str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=env,
        )  # fmt: skip
        self._refs: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._next = 0
        try:
            msg = self._read(0, 0)
        except ClusterLost:
            self.close()
            raise ClusterError(f"no Ray cluster at {address}: the connection ended") from None
        if msg[0] == "fail":
            self.close()
            raise ClusterError(msg[1])
        self.slots: int = int(msg[1])

    def _send(self, msg: Any) -> None:
        assert self._proc.stdin is not None
        try:
            write_frame(self._proc.stdin, msg)
        except (BrokenPipeError, OSError):
            self._lost(0, 0)

    def _read(self, done: int, total: int) -> Any:
        out = self._proc.stdout
        assert out is not None
        try:
            return read_frame(out)
        except (EOFError, OSError):
            self._lost(done, total)

    def _lost(self, done: int, total: int) -> Any:
        self.lost = True
        self._proc.kill()
        self._proc.wait()
        far = f" ({done} of {total} tasks had finished; what finished is kept)" if total else ""
        raise ClusterLost(f"the Ray cluster at {self.address} went away{far}")

    def _put(self, shared: Any) -> int:
        # a tuple of the same objects (environments, settings) is the same shared value
        key: Any = tuple(map(id, shared)) if type(shared) is tuple else id(shared)
        if key in self._refs:
            self._refs.move_to_end(key)
            return self._refs[key][1]
        self._next += 1
        self._send(("put", self._next, shared))
        self._refs[key] = (shared, self._next)  # holding ``shared`` keeps its id unused
        while len(self._refs) > 8:
            _, (_, old) = self._refs.popitem(last=False)
            self._send(("drop", old))
        return self._next

    def map(
        self,
        fn: Callable[[Any, Any], Any],
        shared: Any,
        tasks: Sequence[Any],
        on_done: Callable[[int, Any], None],
    ) -> None:
        """``fn(shared, task)`` for every task on the cluster; ``on_done(index, result)`` here
        as each ends (in completion order: callers file results by index)."""
        if not tasks:
            return
        if self.lost:
            raise ClusterLost(f"the Ray cluster at {self.address} went away")
        self._send(("map", fn, self._put(shared), list(tasks)))
        done = 0
        try:
            while True:
                msg = self._read(done, len(tasks))
                if msg[0] == "end":
                    return
                if msg[0] == "raise":  # the bridge cancelled the rest and waits for more work
                    raise _Raised(msg[1])
                on_done(msg[1], msg[2])
                done += 1
        except _Raised as r:
            raise r.error from None
        except ClusterLost:
            raise
        except BaseException:
            self.close(force=True)  # Ctrl-C or a failing callback: the bridge and tasks end now
            raise

    def close(self, force: bool = False) -> None:
        if force and self._proc.poll() is None:
            self._proc.kill()
        if self._proc.poll() is None:
            with contextlib.suppress(OSError):
                if self._proc.stdin is not None:
                    self._proc.stdin.close()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._log.close()

    def __enter__(self) -> RayPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["ENV_VAR", "ClusterError", "ClusterLost", "RayPool", "connect", "resolve_address"]
