"""Starting a sandbox process and talking to it, from the trusted side.

:func:`run_child` starts a fresh interpreter (``python -I -B``: no user site, no ``PYTHON*``
variables, no bytecode writes; never a fork of this process) inside the jail (:mod:`.jail`)
when the host has one, in its own session and process group, with only pipes: the request
goes down stdin (which stays open for strict mode's replies), frames come back on stdout, the
tail of stderr is kept as the log. It has a fresh scratch directory (removed afterwards) and a
minimal environment (one BLAS/OpenMP thread, so ``RLIMIT_AS`` does not break numpy).

Clocks: the wall-clock limit for the whole run, and a per-episode limit restarted each time the
handler says an episode started; at either deadline the process group gets SIGKILL (the
jail's pid namespace takes every process in it along). The group is also killed after a
normal exit. Every ending is a :class:`SandboxOutcome` with a one-line reason.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .jail import jail_prefix, jail_status, warn_missing
from .outcome import STATUSES, Limits, Rejection, SandboxOutcome, one_line
from .wire import STATUS, FrameReader, WireError, json_frame, parse_json

LOG_TAIL_BYTES = 16_384
_THREAD_VARS = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
_MEMORY_HINTS = ("MemoryError", "Cannot allocate memory", "out of memory", "std::bad_alloc")


class Watch:
    """The per-episode clock, restarted by the frame handler."""

    def __init__(self, limit_s: float | None) -> None:
        self.limit_s = limit_s
        self.label: str | None = None
        self.episodes = 1
        self.deadline = float("inf")

    def episode_started(self, label: str, episodes: int = 1) -> None:
        """Restart the clock for ``episodes`` episodes played together (strict mode plays a
        question's replicates interleaved): each may take the limit, so they get it that many
        times over."""
        self.label = label
        self.episodes = max(1, episodes)
        if self.limit_s is not None:
            self.deadline = time.monotonic() + self.limit_s * self.episodes

    def idle(self) -> None:
        self.label, self.deadline = None, float("inf")


# on_frame(kind, payload, watch) -> bytes to send to the child, or None; raises Rejection
# (e.g. forged) to end the run.
FrameHandler = Callable[[bytes, bytes, Watch], "bytes | None"]


@dataclass(frozen=True)
class ChildSetup:
    """What to run: the envelope (request, candidate) and what the jail must show."""

    envelope: dict[str, Any]
    read_only: tuple[str, ...] = ()
    first: bytes = b""  # frames to send right after the request (strict mode's first episode)


def child_command(limits: Limits, jailed: bool = False) -> list[str]:
    """The child's command line: a fresh isolated interpreter that finds this autotts. In the
    jail its parent is bubblewrap's init (``--die-with-parent`` ties it to this process)."""
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    bootstrap = (
        f"import sys; sys.path.insert(0, {package_root!r}); "
        "from autotts.sandbox.child import main; main(sys.argv[1:])"
    )
    return [
        sys.executable,
        "-I",
        "-B",
        "-c",
        bootstrap,
        "--memory-mb",
        str(limits.memory_mb),
        "--cpu-s",
        repr(limits.cpu_limit_s),
        *(() if jailed else ("--parent", str(os.getpid()))),
    ]


def child_environment(scratch: str) -> dict[str, str]:
    env = {"PATH": os.defpath, "HOME": scratch, "TMPDIR": scratch, "LC_ALL": "C.UTF-8"}
    env.update(dict.fromkeys(_THREAD_VARS, "1"))
    return env


def run_child(setup: ChildSetup, limits: Limits, on_frame: FrameHandler) -> SandboxOutcome:
    """Run the sandbox child on ``setup`` and feed its frames to ``on_frame`` until it ends."""
    start = time.monotonic()
    status = jail_status()
    if not status.available:
        assert status.problem is not None
        if limits.require_jail:
            return SandboxOutcome(
                "error", f"no OS jail on this host: {status.problem} (--require-jail)", None, 0.0
            )
        warn_missing("OS namespaces (bubblewrap)", status.problem)
    seccomp = os.environ.get("AUTOTTS_SANDBOX_SECCOMP", "").lower() not in ("off", "0", "no")
    envelope = {**setup.envelope, "require_layers": limits.require_jail, "seccomp": seccomp}
    first = json_frame(b"Q", envelope) + setup.first
    with tempfile.TemporaryDirectory(prefix="autotts-sandbox-", ignore_cleanup_errors=True) as d:
        env = child_environment(d)
        argv = child_command(limits, jailed=status.bwrap is not None)
        if status.bwrap is not None:
            argv = [*jail_prefix(status.bwrap, d, list(setup.read_only), env), *argv]
        end = _converse(argv, first, d, env, limits, on_frame)
    if status.bwrap is not None and 128 < end.returncode < 128 + 65:
        end.returncode = 128 - end.returncode  # bubblewrap reports a child's signal as 128 + n
    return interpret(end, limits, time.monotonic() - start)


@dataclass
class _Ending:
    timed_out: str | None = None  # the reason
    rejected: Rejection | None = None
    malformed: str | None = None
    final: dict[str, Any] | None = None
    log: bytes = b""
    returncode: int = 0
    cpu_seconds: float = 0.0


def _converse(
    argv: list[str],
    first: bytes,
    cwd: str,
    env: dict[str, str],
    limits: Limits,
    on_frame: FrameHandler,
) -> _Ending:
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=env,
        close_fds=True,
        start_new_session=True,
    )
    assert proc.stdin and proc.stdout and proc.stderr
    with _LIVE_LOCK:
        _LIVE.add(proc.pid)
    end = _Ending()
    watch = Watch(limits.episode_timeout_s)
    deadline = time.monotonic() + limits.timeout_s
    reader = FrameReader(int(limits.output_mb * (1 << 20)))
    log = bytearray()
    pending = bytearray(first)
    sel = selectors.DefaultSelector()
    try:
        os.set_blocking(proc.stdin.fileno(), False)
        sel.register(proc.stdin, selectors.EVENT_WRITE)
        sel.register(proc.stdout, selectors.EVENT_READ)
        sel.register(proc.stderr, selectors.EVENT_READ)
        writing = True
        grace = float("inf")  # after the final frame, a moment for the rest of stderr
        quiet = False  # the last select returned nothing: time to look at the leader
        while proc.stdout in sel.get_map() or proc.stderr in sel.get_map():
            now = time.monotonic()
            if now >= grace or (quiet and end.final is None and _exited(proc.pid)):
                _kill_group(proc.pid)  # the leader is gone: nothing may keep our pipes open
                grace = min(grace, now + 0.5)
            if now >= grace + 0.5:
                break
            if now >= deadline:
                end.timed_out = f"timed out after {limits.timeout_s:g} s (wall clock): killed"
                break
            if now >= watch.deadline:
                limit = limits.episode_timeout_s or 0.0
                end.timed_out = (
                    f"{watch.label} ran longer than {limit:g} s (the per-episode limit): killed"
                    if watch.episodes == 1
                    else f"{watch.label} ran longer than {limit * watch.episodes:g} s (the "
                    f"per-episode limit, {limit:g} s, for each): killed"
                )
                break
            if pending and not writing:
                sel.register(proc.stdin, selectors.EVENT_WRITE)
                writing = True
            wait = min(0.05, deadline - now, max(0.0, watch.deadline - now))
            events = sel.select(wait)
            quiet = not events
            for key, _ in events:
                if key.fileobj is proc.stdin:
                    try:
                        del pending[: os.write(key.fd, pending[:65536])]
                    except (BrokenPipeError, BlockingIOError):
                        pending.clear()
                    if not pending:
                        sel.unregister(proc.stdin)
                        writing = False
                    continue
                chunk = os.read(key.fd, 1 << 20)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                if key.fileobj is proc.stderr:
                    log += chunk
                    if len(log) > 2 * LOG_TAIL_BYTES:
                        del log[:-LOG_TAIL_BYTES]
                    continue
                for kind, payload in reader.feed(chunk):
                    if kind == STATUS:
                        end.final = parse_json(payload, "the status frame")
                        grace = time.monotonic() + 0.5
                        continue
                    reply = on_frame(kind, payload, watch)
                    if reply:
                        pending += reply
                if pending and not writing:  # most replies fit the pipe at once
                    try:
                        del pending[: os.write(proc.stdin.fileno(), pending)]
                    except BlockingIOError:
                        pass
                    except BrokenPipeError:
                        pending.clear()
    except Rejection as r:
        end.rejected = r
    except WireError as e:
        end.malformed = str(e)
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(proc.pid)
        sel.close()
        _kill_group(proc.pid)
        with contextlib.suppress(ChildProcessError):
            _, st, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(st)
            end.cpu_seconds = usage.ru_utime + usage.ru_stime
        for f in (proc.stdin, proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                f.close()
    end.returncode = proc.returncode if proc.returncode is not None else -9
    end.log = bytes(log[-LOG_TAIL_BYTES:])
    return end


_LIVE: set[int] = set()  # process groups of running sandboxes
_LIVE_LOCK = threading.Lock()


def kill_all() -> int:
    """SIGKILL every running sandbox's process group (on Ctrl-C, say: the sandboxes are in
    their own sessions, so the terminal's SIGINT does not reach them); returns how many."""
    with _LIVE_LOCK:
        groups = list(_LIVE)
    for pgid in groups:
        _kill_group(pgid)
    return len(groups)


def _exited(pid: int) -> bool:
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def interpret(end: _Ending, limits: Limits, seconds: float) -> SandboxOutcome:
    """The outcome of a finished sandbox conversation."""
    log = end.log.decode("utf-8", "replace")

    def outcome(
        status: str, reason: str = "", data: Any = None, details: Any = ()
    ) -> SandboxOutcome:
        return SandboxOutcome(
            status, one_line(reason), data, round(seconds, 3), log, tuple(details)
        )

    if end.rejected is not None:
        r = end.rejected
        return outcome(r.status, r.reason, None, r.details)
    if end.timed_out:
        return outcome("timeout", end.timed_out)
    if end.malformed:
        return outcome("output", f"the sandbox's output is malformed ({end.malformed})")
    rc, cpu_limit = end.returncode, limits.cpu_limit_s
    msg = end.final
    if rc < 0 and msg is None:
        sig = signal.Signals(-rc)
        if sig == signal.SIGSYS:
            return outcome("policy", "the candidate made a system call the sandbox forbids")
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and end.cpu_seconds >= cpu_limit):
            return outcome("cpu", f"exceeded the CPU time limit of {cpu_limit:g} s")
        if any(h in log for h in _MEMORY_HINTS):
            return outcome("memory", f"ran out of memory (limit {limits.memory_mb} MB)")
        return outcome("crash", f"the process died of {sig.name} ({signal.strsignal(sig)})")
    if msg is None:
        if any(h in log for h in _MEMORY_HINTS):
            return outcome("memory", f"ran out of memory (limit {limits.memory_mb} MB)")
        last = log.strip().splitlines()[-1:] or ["no output"]
        return outcome("crash", f"the process exited with status {rc} without a result: {last[0]}")
    status = msg.get("status") if isinstance(msg, dict) else None
    if status not in STATUSES:
        return outcome("output", f"the result is malformed (status {status!r})")
    assert isinstance(msg, dict)
    for layer in msg.get("missing_layers") or ():
        warn_missing("seccomp / unprivileged user", str(layer))
    if status == "ok":
        data = msg.get("data")
        if not isinstance(data, dict):
            return outcome("output", "the job's result is not a JSON object")
        return outcome("ok", "", data)
    details = msg.get("details") or ()
    if not isinstance(details, list):
        details = ()
    return outcome(status, str(msg.get("reason", "")), None, [str(d) for d in details])
