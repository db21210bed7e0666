"""A Ray cluster as a pool of workers: the same ``map`` the local fork pool offers.

``RayPool.map(fn, shared, tasks, on_done)`` calls ``fn(shared, task)`` for every task as a Ray
task and ``on_done(task index, result)`` on the driver as each one ends. ``shared`` (the
environments, encoded environments or environment files of a run) is put in the object store
once per pool, so it travels to each node once, and is unpickled once per worker process.

Faults: a task whose worker dies is retried by Ray (:data:`TASK_RETRIES`); an exception the
work raises is re-raised here as itself. The driver watches the cluster's control service
while it waits: when it stops answering, :class:`ClusterLost` says how far the run got (the
callers have filed every finished unit by then) instead of Ray ending the process a minute
later.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

ENV_VAR = "AUTOTTS_RAY_ADDRESS"
TASK_RETRIES = 5  # a worker killed mid-task: its task runs again, elsewhere if need be
LOST_AFTER_S = 6.0  # the control service unreachable this long: the cluster is gone
_POLL_S = 1.0


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
    try:
        import ray
    except ImportError:
        raise ClusterError("--ray needs Ray: pip install 'autotts[ray]'") from None
    where = resolve_address(address)
    # Ray ends a driver that lost its cluster after this long; this pool notices first
    os.environ.setdefault("RAY_gcs_rpc_server_reconnect_timeout_s", "3600")
    if ray.is_initialized():
        ray.shutdown()
    try:
        ray.init(
            address=where,
            namespace="autotts",
            logging_level=logging.ERROR,
            log_to_driver=False,
            configure_logging=False,
        )
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ClusterError(f"no Ray cluster at {where}: {first}") from None
    pool = RayPool(where)
    pool.check_nodes()
    return pool


class RayPool:
    """Workers on a connected Ray cluster (see :func:`connect`)."""

    def __init__(self, address: str) -> None:
        import ray

        self.address = address
        self._ray = ray
        self._remote = ray.remote(num_cpus=1, max_retries=TASK_RETRIES, retry_exceptions=False)(
            _run_unit
        )
        self._refs: OrderedDict[Any, tuple[Any, Any]] = OrderedDict()
        self.lost = False
        self._gcs = _gcs_address(ray)

    @property
    def slots(self) -> int:
        """Tasks the cluster runs at once: its CPUs."""
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def check_nodes(self) -> None:
        """One task on every alive node: autotts must import there, at this version."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from .. import __version__

        nodes = [n for n in self._ray.nodes() if n.get("Alive")]
        probe = self._ray.remote(num_cpus=0, max_retries=0)(_node_version)
        refs = [
            probe.options(
                scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
            ).remote()
            for n in nodes
        ]
        for node, ref in zip(nodes, refs, strict=True):
            where = node.get("NodeManagerAddress", "?")
            try:
                version = self._ray.get(ref, timeout=120)
            except Exception as e:
                raise ClusterError(
                    f"node {where} of the Ray cluster at {self.address} cannot run autotts "
                    f"(install autotts there, the same version): {type(e).__name__}"
                ) from None
            if version != __version__:
                raise ClusterError(
                    f"node {where} of the Ray cluster at {self.address} has autotts "
                    f"{version}, this driver {__version__}: install the same version"
                )

    def _put(self, shared: Any) -> Any:
        # a tuple of the same objects (environments, settings) is the same shared value
        key: Any = tuple(map(id, shared)) if type(shared) is tuple else id(shared)
        if key in self._refs:
            self._refs.move_to_end(key)
            return self._refs[key][1]
        ref = self._ray.put(shared)
        self._refs[key] = (shared, ref)  # holding ``shared`` keeps its id from being reused
        while len(self._refs) > 8:
            self._refs.popitem(last=False)
        return ref

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
        ray = self._ray
        box = [self._put(shared)]  # in a list, so Ray passes the reference, not the value
        index = {ref: n for n, ref in enumerate(self._remote.remote(box, fn, t) for t in tasks)}
        pending = list(index)
        unreachable_since: float | None = None
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1, timeout=_POLL_S)
                if not ready:
                    unreachable_since = self._watch(unreachable_since, len(tasks), len(pending))
                    continue
                unreachable_since = None
                for ref in ready:
                    on_done(index[ref], self._result(ref))
        except BaseException:
            for ref in pending:
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
            raise

    def _result(self, ref: Any) -> Any:
        exc = self._ray.exceptions
        try:
            return self._ray.get(ref)
        except exc.RayTaskError as e:
            cause = getattr(e, "cause", None)
            if isinstance(cause, Exception):
                raise cause from None
            raise
        except (exc.WorkerCrashedError, exc.NodeDiedError, exc.ObjectLostError) as e:
            raise ClusterError(
                f"a task failed on the Ray cluster at {self.address} after {TASK_RETRIES} "
                f"retries: {type(e).__name__}"
            ) from None

    def _watch(self, since: float | None, total: int, left: int) -> float | None:
        """Probe the control service; raise :class:`ClusterLost` once it has been unreachable
        for :data:`LOST_AFTER_S`."""
        if self._gcs is None or _reachable(self._gcs):
            return None
        now = time.monotonic()
        if since is None:
            return now
        if now - since >= LOST_AFTER_S:
            self.lost = True
            raise ClusterLost(
                f"the Ray cluster at {self.address} went away ({total - left} of {total} "
                "tasks had finished; what finished is kept)"
            )
        return since

    def close(self) -> None:
        if not self.lost:
            with contextlib.suppress(Exception):
                self._ray.shutdown()

    def __enter__(self) -> RayPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _gcs_address(ray: Any) -> tuple[str, int] | None:
    try:
        text = ray.get_runtime_context().gcs_address
    except Exception:
        return None
    host, _, port = str(text).rpartition(":")
    return (host, int(port)) if host and port.isdigit() else None


def _reachable(addr: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(addr, timeout=1.0):
            return True
    except OSError:
        return False


# ------------------------------------------------------------------ on the workers
_SHARED: OrderedDict[str, Any] = OrderedDict()


def _run_unit(box: list[Any], fn: Callable[[Any, Any], Any], task: Any) -> Any:
    import ray

    ref = box[0]
    key = ref.hex()
    if key not in _SHARED:
        _SHARED[key] = ray.get(ref)
        while len(_SHARED) > 4:
            _SHARED.popitem(last=False)
    return fn(_SHARED[key], task)


def _node_version() -> str:
    from .. import __version__

    return __version__
