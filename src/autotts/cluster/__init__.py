"""Running autotts's work units on a Ray cluster instead of local worker processes.

The local default stays the fork pool (:mod:`autotts.procs`); ``--ray [ADDRESS]`` connects a
:class:`RayPool` and hands it to the same functions wherever they take ``workers``. The work
units are the same ones local workers run (evaluation chunks, baseline points, genome
fitness, candidate sweeps in the sandbox), so the results are the same: every unit is a pure
function of its inputs and the driver files results by unit index, never by completion order.

Ray is optional: ``pip install 'autotts[ray]'``.
"""

from __future__ import annotations

from .files import LocalFiles, ShippedFiles
from .pool import ClusterError, ClusterLost, RayPool, connect, resolve_address

__all__ = [
    "ClusterError",
    "ClusterLost",
    "LocalFiles",
    "RayPool",
    "ShippedFiles",
    "connect",
    "resolve_address",
]
