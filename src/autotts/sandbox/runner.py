"""Running a job on candidate code in a sandbox process, from the trusted side.

:func:`run_sandboxed` checks the code statically, then starts a fresh interpreter
(``python -I -B``: no user site, no ``PYTHON*`` variables, no bytecode writes; not a fork of this
process) in its own session and process group, with only stdin/stdout/stderr pipes, a fresh
scratch directory as its working directory (removed afterwards) and a minimal environment (one
BLAS/OpenMP thread, so ``RLIMIT_AS`` does not break numpy). The child sets its own rlimits
(:mod:`.child`). The wall-clock limit is enforced here: at the deadline the whole process group
gets SIGKILL; the group is also killed after a normal exit, so nothing the candidate might have
started survives. Every ending is a :class:`SandboxOutcome` with a one-line reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any

from .loader import policy_reason
from .outcome import STATUSES, Limits, SandboxOutcome, one_line
from .policy import check_source

JOB_PATTERN = re.compile(r"autotts(\.[A-Za-z_]\w*)+:[A-Za-z_]\w*")
LOG_TAIL_BYTES = 16_384
_THREAD_VARS = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
_MEMORY_HINTS = ("MemoryError", "Cannot allocate memory", "out of memory", "std::bad_alloc")


def run_sandboxed(
    source: str,
    class_name: str,
    job: str,
    payload: dict[str, Any],
    limits: Limits = Limits(),  # noqa: B008  (frozen)
    *,
    filename: str = "controller.py",
    _unsafe_skip_policy: bool = False,
) -> SandboxOutcome:
    """Run ``job`` (``"autotts.module:function"``, trusted code) on candidate ``source`` in a
    sandbox process; its class is ``class_name``. The job is called there as
    ``job(payload, guard, load_controller)`` and returns JSON-able data.

    ``_unsafe_skip_policy`` (tests only) skips the static policy, here and in the child, to
    show that the run-time wall holds on its own."""
    start = time.monotonic()
    if not JOB_PATTERN.fullmatch(job):
        raise ValueError(f"job {job!r}: name a function in the autotts package, 'autotts.x:f'")
    if not _unsafe_skip_policy:
        violations = check_source(source, filename)
        if violations:
            return SandboxOutcome(
                "policy",
                policy_reason(violations),
                None,
                time.monotonic() - start,
                details=tuple(map(str, violations)),
            )
    if not class_name.isidentifier():
        return SandboxOutcome("error", f"{class_name!r} is not a class name", None, 0.0)
    request = {
        "source": source,
        "filename": filename,
        "class_name": class_name,
        "job": job,
        "payload": payload,
        "check_policy": not _unsafe_skip_policy,
    }
    stdin = json.dumps(request).encode()
    with tempfile.TemporaryDirectory(prefix="autotts-sandbox-", ignore_cleanup_errors=True) as d:
        done = run_process(
            child_command(limits),
            stdin,
            timeout_s=limits.timeout_s,
            cwd=d,
            env=child_environment(d),
            max_output=int(limits.output_mb * (1 << 20)),
        )
    return interpret(done, limits, time.monotonic() - start)


def child_command(limits: Limits) -> list[str]:
    """The child's command line: a fresh isolated interpreter that finds this autotts."""
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
        "--parent",
        str(os.getpid()),
    ]


def child_environment(scratch: str) -> dict[str, str]:
    env = {"PATH": os.defpath, "HOME": scratch, "TMPDIR": scratch, "LC_ALL": "C.UTF-8"}
    env.update(dict.fromkeys(_THREAD_VARS, "1"))
    return env


@dataclass(frozen=True)
class ProcessResult:
    returncode: int
    stdout: bytes
    log: bytes  # the tail of stderr
    timed_out: bool
    overflow: bool  # stdout exceeded max_output
    cpu_seconds: float


def run_process(
    argv: list[str],
    stdin: bytes,
    *,
    timeout_s: float,
    cwd: str,
    env: dict[str, str],
    max_output: int,
) -> ProcessResult:
    """Run ``argv`` in a new session with pipes only; feed ``stdin``; collect stdout (up to
    ``max_output`` bytes) and the tail of stderr; SIGKILL its process group at the deadline, on
    overflow, and once the leader has exited."""
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
    deadline = time.monotonic() + timeout_s
    out, log = bytearray(), bytearray()
    timed_out = overflow = False
    pending = memoryview(stdin)
    sel = selectors.DefaultSelector()
    try:
        os.set_blocking(proc.stdin.fileno(), False)
        sel.register(proc.stdin, selectors.EVENT_WRITE)
        sel.register(proc.stdout, selectors.EVENT_READ)
        sel.register(proc.stderr, selectors.EVENT_READ)
        leader_gone = False
        while sel.get_map() and not overflow:
            now = time.monotonic()
            if now >= deadline:
                timed_out = True
                break
            if not leader_gone and _exited(proc.pid):
                leader_gone = True
                _kill_group(proc.pid)  # anything left holding our pipes
            for key, _ in sel.select(min(0.05, deadline - now)):
                if key.fileobj is proc.stdin:
                    try:
                        pending = pending[os.write(key.fd, pending[:65536]) :]
                    except BrokenPipeError:
                        pending = pending[:0]
                    if not pending:
                        sel.unregister(proc.stdin)
                        proc.stdin.close()
                    continue
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                elif key.fileobj is proc.stdout:
                    out += chunk
                    overflow = len(out) > max_output
                else:
                    log += chunk
                    if len(log) > 2 * LOG_TAIL_BYTES:
                        del log[:-LOG_TAIL_BYTES]
        if timed_out or overflow:
            _kill_group(proc.pid)
        while not _exited(proc.pid):  # pipes closed: wait for the leader, without reaping it
            if time.monotonic() >= deadline and not timed_out:
                timed_out = True
                _kill_group(proc.pid)
            time.sleep(0.005)
        _kill_group(proc.pid)  # the unreaped leader keeps the group id from being reused
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(proc.pid)
        sel.close()
        if proc.returncode is None:
            _kill_group(proc.pid)
            proc.wait()
        for f in (proc.stdin, proc.stdout, proc.stderr):
            f.close()
    return ProcessResult(
        proc.returncode,
        bytes(out),
        bytes(log[-LOG_TAIL_BYTES:]),
        timed_out,
        overflow,
        usage.ru_utime + usage.ru_stime,
    )


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


def interpret(done: ProcessResult, limits: Limits, seconds: float) -> SandboxOutcome:
    """The outcome of a finished sandbox process."""
    log = done.log.decode("utf-8", "replace")

    def outcome(
        status: str, reason: str = "", data: Any = None, details: Any = ()
    ) -> SandboxOutcome:
        return SandboxOutcome(
            status, one_line(reason), data, round(seconds, 3), log, tuple(details)
        )

    if done.timed_out:
        return outcome("timeout", f"timed out after {limits.timeout_s:g} s (wall clock): killed")
    if done.overflow:
        return outcome("output", f"the result exceeded {limits.output_mb:g} MB")
    rc, cpu_limit = done.returncode, limits.cpu_limit_s
    if rc < 0:
        sig = signal.Signals(-rc)
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and done.cpu_seconds >= cpu_limit):
            return outcome("cpu", f"exceeded the CPU time limit of {cpu_limit:g} s")
        if any(h in log for h in _MEMORY_HINTS):
            return outcome("memory", f"ran out of memory (limit {limits.memory_mb} MB)")
        return outcome("crash", f"the process died of {sig.name} ({signal.strsignal(sig)})")
    text = done.stdout.strip()
    if not text:
        if any(h in log for h in _MEMORY_HINTS):
            return outcome("memory", f"ran out of memory (limit {limits.memory_mb} MB)")
        last = log.strip().splitlines()[-1:] or ["no output"]
        return outcome("crash", f"the process exited with status {rc} without a result: {last[0]}")
    try:
        msg = json.loads(text)
        status = msg["status"]
        if status not in STATUSES or "\n" in text.decode():
            raise ValueError(f"unknown status {status!r}" if status not in STATUSES else "2 lines")
    except (ValueError, KeyError, TypeError) as e:
        return outcome("output", f"the result is malformed ({type(e).__name__}: {e})")
    if status == "ok":
        if not isinstance(msg.get("data"), dict):
            return outcome("output", "the job's result is not a JSON object")
        return outcome("ok", "", msg["data"])
    return outcome(status, str(msg.get("reason", "")), None, msg.get("details") or ())
