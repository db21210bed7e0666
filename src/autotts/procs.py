"""Child processes that do not outlive their parent.

Worker pools and sandboxes are separate processes; if the process that started them is killed
(SIGKILL, or SIGTERM without cleanup), they would otherwise live on: forked pool workers wait
forever on a queue whose writers include themselves, and a sandbox runs until its CPU limit.
"""

from __future__ import annotations

import contextlib
import os
import signal


def die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when the thread that started it dies
    (``prctl(PR_SET_PDEATHSIG)``), and exit now if ``parent`` is already gone. Elsewhere it
    only does the latter."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
