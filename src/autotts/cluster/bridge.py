"""The process that holds the Ray connection (``python -m autotts.cluster.bridge``).

Ray ends a driver process outright when its node's raylet or the cluster's control service
goes away. So autotts is not that driver: this child is. It connects, checks the nodes, and
then serves the parent over its stdin/stdout, one pickled frame at a time:

- parent → bridge: ``("put", key, value)``, ``("map", fn, key, tasks)``;
- bridge → parent: ``("ready", slots)`` or ``("fail", message)`` once, then per map
  ``("done", index, result)`` ... ``("end",)``, or ``("raise", exception)``.

If Ray ends it, the parent reads end-of-file and reports the cluster lost, with everything
filed so far kept.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import struct
import sys
from collections import OrderedDict
from typing import IO, Any

TASK_RETRIES = 5  # a worker killed mid-task: its task runs again, elsewhere if need be


def write_frame(out: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(struct.pack("<Q", len(data)) + data)
    out.flush()


def read_frame(inp: IO[bytes]) -> Any:
    head = inp.read(8)
    if len(head) < 8:
        raise EOFError
    (n,) = struct.unpack("<Q", head)
    data = inp.read(n)
    if len(data) < n:
        raise EOFError
    return pickle.loads(data)


def main(address: str, parent: int) -> None:
    from ..procs import die_with_parent

    die_with_parent(parent)
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing Ray prints may reach the frames
    try:
        import ray
    except ImportError:
        write_frame(out, ("fail", "--ray needs Ray: pip install 'autotts[ray]'"))
        return
    try:
        ray.init(address=address, namespace="autotts", logging_level=logging.ERROR,
                 log_to_driver=False, configure_logging=False)  # fmt: skip
    except Exception as e:
        text = str(e).strip()
        first = text.splitlines()[0] if text else type(e).__name__
        write_frame(out, ("fail", f"no Ray cluster at {address}: {first}"))
        return
    problem = _check_nodes(ray, address)
    if problem:
        write_frame(out, ("fail", problem))
        return
    write_frame(out, ("ready", max(1, int(ray.cluster_resources().get("CPU", 1)))))
    remote = ray.remote(num_cpus=1, max_retries=TASK_RETRIES, retry_exceptions=False)(_run_unit)
    refs: dict[Any, Any] = {}
    while True:
        try:
            msg = read_frame(inp)
        except EOFError:
            return
        except Exception as e:  # the parent hears at its next map
            _raise(out, RuntimeError(f"the Ray driver cannot read a request ({type(e).__name__}: "
                                     f"{e}); work units must be importable functions"))  # fmt: skip
            continue
        try:
            if msg[0] == "put":
                refs[msg[1]] = ray.put(msg[2])
            elif msg[0] == "drop":
                refs.pop(msg[1], None)
            elif msg[0] == "map":
                _, fn, key, tasks = msg
                _map(ray, remote, fn, refs[key], tasks, out, address)
        except Exception as e:
            _raise(out, e)


def _map(ray: Any, remote: Any, fn: Any, ref: Any, tasks: list[Any], out: IO[bytes],
         address: str) -> None:  # fmt: skip
    index = {r: n for n, r in enumerate(remote.remote([ref], fn, t) for t in tasks)}
    pending = list(index)
    exc = ray.exceptions
    while pending:
        ready, pending = ray.wait(pending, num_returns=1, timeout=1.0)
        for r in ready:
            try:
                result = ray.get(r)
            except exc.RayTaskError as e:
                cause = getattr(e, "cause", None)
                _raise(out, cause if isinstance(cause, Exception) else RuntimeError(str(e)))
                _cancel(ray, pending)
                return
            except Exception as e:  # a worker that died every retry, a lost object
                why = f"after {TASK_RETRIES} retries: {type(e).__name__}"
                _raise(out, RuntimeError(f"a task failed on the Ray cluster at {address} {why}"))
                _cancel(ray, pending)
                return
            write_frame(out, ("done", index[r], result))
    write_frame(out, ("end",))


def _raise(out: IO[bytes], e: BaseException) -> None:
    try:
        write_frame(out, ("raise", e))
    except Exception:  # an exception that does not pickle: its text
        write_frame(out, ("raise", RuntimeError(f"{type(e).__name__}: {e}")))


def _cancel(ray: Any, refs: list[Any]) -> None:
    for r in refs:
        with contextlib.suppress(Exception):
            ray.cancel(r, force=True)


def _check_nodes(ray: Any, address: str) -> str | None:
    """One task on every alive node: autotts must import there, at this version."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from .. import __version__

    nodes = [n for n in ray.nodes() if n.get("Alive")]
    probe = ray.remote(num_cpus=0, max_retries=0)(_node_version)
    refs = [
        probe.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
        ).remote()
        for n in nodes
    ]
    for node, ref in zip(nodes, refs, strict=True):
        where = node.get("NodeManagerAddress", "?")
        try:
            version = ray.get(ref, timeout=120)
        except Exception as e:
            return (f"node {where} of the Ray cluster at {address} cannot run autotts (install "
                    f"autotts there, the same version): {type(e).__name__}")  # fmt: skip
        if version != __version__:
            return (f"node {where} of the Ray cluster at {address} has autotts {version}, this "
                    f"driver {__version__}: install the same version")  # fmt: skip
    return None


# ------------------------------------------------------------------ on the workers
_SHARED: OrderedDict[str, Any] = OrderedDict()


def _run_unit(box: list[Any], fn: Any, task: Any) -> Any:
    """A work unit on a worker: the shared value is unpickled once per worker process."""
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


if __name__ == "__main__":
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    from autotts.cluster.bridge import main as _main  # the module, not __main__: Ray pickles
    # its functions by reference, so workers import them (and keep their caches)

    _main(sys.argv[1], int(sys.argv[2]))
