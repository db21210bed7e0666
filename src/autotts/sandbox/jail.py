"""The outer OS layer: the sandbox child runs inside bubblewrap (``bwrap``) namespaces.

With bubblewrap the child gets new user, pid, network, ipc, uts and cgroup namespaces, uid 65534
without capabilities, a file system that holds only the Python installation, the autotts
package and the gold-free environment copies (all read-only) and its scratch directory, a
fresh ``/proc`` and a minimal ``/dev``. So whatever code runs in it cannot see or write the
rest of the file system, reach any network (its only interface is its own loopback), see or
signal processes outside it, or leave anything running: the namespace's init is killed with
the sandbox and takes every process in it along (``--die-with-parent``, pid namespace).

Without a working ``bwrap`` (not installed, user namespaces disabled, not Linux) this layer is
missing: :func:`jail_status` says so, the sandbox warns once per process, and
``require_jail`` (``--require-jail``, ``AUTOTTS_REQUIRE_JAIL=1``) turns that into an error.
``AUTOTTS_SANDBOX_JAIL=off`` switches the layer off on purpose (it is then reported missing too).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
import threading
from dataclasses import dataclass

SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc/ld.so.cache")
INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap)"


@dataclass(frozen=True)
class JailStatus:
    """Whether the namespace layer works here; ``problem`` says why not (one phrase)."""

    bwrap: str | None
    problem: str | None

    @property
    def available(self) -> bool:
        return self.problem is None


def _package_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def python_dirs() -> list[str]:
    """What the child's interpreter needs to start and import numpy and autotts."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, _package_root()}
    paths.add(os.path.dirname(os.path.realpath(sys.executable)))
    paths.add(os.path.dirname(os.path.abspath(sys.executable)))
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        p = sysconfig.get_path(key)
        if p:
            paths.add(p)
    out = []
    for p in sorted({os.path.realpath(p) for p in paths} | paths):
        if os.path.exists(p):
            out.append(p)
    return out


@functools.cache
def jail_status() -> JailStatus:
    """Probe bubblewrap once per process: found, and able to make the namespaces here."""
    if os.environ.get("AUTOTTS_SANDBOX_JAIL", "").lower() in ("off", "0", "no"):
        return JailStatus(None, "switched off by AUTOTTS_SANDBOX_JAIL=off")
    if not sys.platform.startswith("linux"):
        return JailStatus(None, f"bubblewrap needs Linux (this is {sys.platform})")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return JailStatus(None, f"bubblewrap (bwrap) is not installed: {INSTALL_HINT}")
    argv = [*jail_prefix(bwrap, "/", []), sys.executable, "-I", "-c", "pass"]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return JailStatus(None, f"bubblewrap could not be run ({e})")
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        return JailStatus(None, f"bubblewrap cannot make namespaces here: {why[0]}")
    return JailStatus(bwrap, None)


def jail_prefix(
    bwrap: str, scratch: str, read_only: list[str], env: dict[str, str] | None = None
) -> list[str]:
    """The bwrap command line that runs a program inside the jail: ``scratch`` writable (and
    the working directory), ``read_only`` paths besides the Python installation, and exactly
    the variables ``env``."""
    argv = [
        bwrap,
        "--unshare-all",  # user, ipc, pid, net, uts, cgroup
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--uid",
        "65534",
        "--gid",
        "65534",
        "--hostname",
        "sandbox",
        "--clearenv",
    ]
    argv += ["--tmpfs", "/tmp"]  # first: the binds below may lie under /tmp
    binds = [p for p in SYSTEM_DIRS if os.path.exists(p)]
    binds += python_dirs()
    binds += [p for p in read_only if os.path.exists(p)]
    for p in dict.fromkeys(binds):
        argv += ["--ro-bind", p, p]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    if scratch != "/":
        argv += ["--bind", scratch, scratch, "--chdir", scratch]
    for key, value in (env or {}).items():
        argv += ["--setenv", key, value]
    return [*argv, "--"]


_warned: set[str] = set()
_warn_lock = threading.Lock()


def warn_missing(layer: str, problem: str) -> None:
    """Say once per process, on stderr, that a layer is missing."""
    with _warn_lock:
        if layer in _warned:
            return
        _warned.add(layer)
    sys.stderr.write(
        f"autotts: warning: sandbox layer missing: {layer}: {problem}; candidate code runs "
        "without it (--require-jail makes this an error)\n"
    )
