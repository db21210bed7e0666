"""The sandbox process from the outside: process-group kills, output caps, how endings map to
statuses, the child's environment, and the API's argument checks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from autotts.sandbox import Limits, SandboxOutcome, run_sandboxed
from autotts.sandbox.runner import (
    ProcessResult,
    child_command,
    child_environment,
    interpret,
    run_process,
)

from .conftest import LIMITS, candidate, run


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); it is dead for our purposes
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ", 1)[1][0] != "Z"


def _wait_dead(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.02)
    return False


def _sh(script: str, tmp_path: Path, timeout_s: float = 30.0, **kw: Any) -> ProcessResult:
    return run_process(
        ["/bin/sh", "-c", script],
        kw.pop("stdin", b""),
        timeout_s=timeout_s,
        cwd=str(tmp_path),
        env={"PATH": os.defpath},
        max_output=kw.pop("max_output", 1 << 20),
    )


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild"
    start = time.monotonic()
    done = _sh(f"sleep 60 & echo $! > {pidfile}; wait", tmp_path, timeout_s=1.0)
    assert done.timed_out and time.monotonic() - start < 20
    assert _wait_dead(int(pidfile.read_text()))


def test_group_is_killed_after_a_normal_exit(tmp_path: Path) -> None:
    # the grandchild keeps stdout open; the leader's exit must not leave it (or us) waiting
    pidfile = tmp_path / "grandchild"
    start = time.monotonic()
    done = _sh(f"sleep 60 & echo $! > {pidfile}; echo done", tmp_path, timeout_s=30.0)
    assert not done.timed_out and done.returncode == 0 and done.stdout == b"done\n"
    assert time.monotonic() - start < 20
    assert _wait_dead(int(pidfile.read_text()))


def test_stdin_is_delivered_and_stdout_capped(tmp_path: Path) -> None:
    data = os.urandom(300_000)  # larger than a pipe buffer: written while reading
    done = _sh("cat", tmp_path, stdin=data, max_output=1 << 20)
    assert done.stdout == data and not done.overflow
    done = _sh("yes", tmp_path, max_output=100_000)
    assert done.overflow and not done.timed_out


def test_stderr_keeps_its_tail(tmp_path: Path) -> None:
    done = _sh("i=0; while [ $i -lt 3000 ]; do echo line $i >&2; i=$((i+1)); done", tmp_path)
    assert done.log.endswith(b"line 2999\n") and len(done.log) <= 16_384


def test_child_environment_is_minimal(tmp_path: Path) -> None:
    env = child_environment(str(tmp_path))
    assert env["OPENBLAS_NUM_THREADS"] == env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1"
    assert env["HOME"] == env["TMPDIR"] == str(tmp_path)
    assert not any(k.startswith(("PYTHON", "AUTOTTS")) for k in env)
    cmd = child_command(Limits(memory_mb=300, cpu_s=7))
    assert cmd[:3] == [sys.executable, "-I", "-B"]
    assert cmd[-6:] == ["--memory-mb", "300", "--cpu-s", "7", "--parent", str(os.getpid())]


def _result(**kw: Any) -> ProcessResult:
    base: dict[str, Any] = dict(
        returncode=0, stdout=b"", log=b"", timed_out=False, overflow=False, cpu_seconds=0.1
    )
    return ProcessResult(**{**base, **kw})


@pytest.mark.parametrize(
    ("kw", "status", "fragment"),
    [
        ({"timed_out": True, "returncode": -9}, "timeout", "timed out after 30 s"),
        ({"overflow": True}, "output", "exceeded 16 MB"),
        ({"returncode": -signal.SIGXCPU}, "cpu", "CPU time limit of 30 s"),
        ({"returncode": -signal.SIGKILL, "cpu_seconds": 31.0}, "cpu", "CPU time limit"),
        ({"returncode": -signal.SIGKILL}, "crash", "died of SIGKILL"),
        ({"returncode": -signal.SIGSEGV}, "crash", "died of SIGSEGV (Segmentation fault)"),
        ({"returncode": -signal.SIGABRT, "log": b"MemoryError\n"}, "memory", "limit 768 MB"),
        ({"returncode": 1, "log": b"boom\nlast words\n"}, "crash", "status 1 without a "),
        ({"stdout": b"not json"}, "output", "malformed"),
        ({"stdout": b'{"status": "fine"}'}, "output", "unknown status 'fine'"),
        ({"stdout": b'{"status": "ok", "data": [1]}'}, "output", "not a JSON object"),
        ({"stdout": b'{"status": "ok", "data": {}}\n{"status": "ok", "data": {}}'}, "output", ""),
        ({"stdout": b'{"status": "invalid", "reason": "NaN"}'}, "invalid", "NaN"),
        ({"stdout": b'{"status": "ok", "data": {"x": 1}}'}, "ok", ""),
    ],
)
def test_endings_map_to_statuses(kw: dict[str, Any], status: str, fragment: str) -> None:
    out = interpret(_result(**kw), LIMITS, 1.0)
    assert (out.status, out.ok) == (status, status == "ok")
    assert fragment in out.reason and "\n" not in out.reason
    if status == "ok":
        assert out.data == {"x": 1} and out.reason == ""
    else:
        assert out.data is None


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        Limits(timeout_s=0)
    with pytest.raises(ValueError, match="cpu_s"):
        Limits(cpu_s=-1)
    assert Limits(timeout_s=5).cpu_limit_s == 5 and Limits(cpu_s=2).cpu_limit_s == 2


def test_only_autotts_jobs_can_be_named(payload: dict[str, Any]) -> None:
    source = candidate("return None")
    for job in ("os:system", "tests.jobs:run", "autotts.sandbox.jobs", "autotts:x;y"):
        with pytest.raises(ValueError, match="autotts package"):
            run_sandboxed(source, "C", job, payload)
    out = run_sandboxed(source, "C", "autotts.sandbox.jobs:no_such_job", payload, LIMITS)
    assert (out.status, out.reason) == (
        "error",
        "job 'autotts.sandbox.jobs:no_such_job' does not exist",
    )


def test_policy_is_checked_before_any_process(payload: dict[str, Any]) -> None:
    out = run(candidate("return None", header="import os"), payload)
    assert out.status == "policy" and out.seconds < 1.0
    assert out.reason.startswith("controller.py:2: import of 'os' is not allowed")
    assert out.details == (out.reason,)


def test_several_violations_are_all_listed(payload: dict[str, Any]) -> None:
    out = run(candidate("return eval('1')", header="import os\nimport sys"), payload)
    assert out.status == "policy" and out.reason.endswith("(and 2 more)")
    assert [d.split(":")[1] for d in out.details] == ["2", "3", "11"]


def test_bad_class_name(payload: dict[str, Any]) -> None:
    out = run_sandboxed(candidate("return None"), "Nope", "autotts.sandbox.jobs:evaluate_job",
                        payload, LIMITS)  # fmt: skip
    assert (out.status, out.reason) == (
        "error",
        "controller.py defines no class 'Nope' (classes defined there: C)",
    )
    out = run_sandboxed(candidate("return None"), "C; x", "autotts.sandbox.jobs:evaluate_job",
                        payload, LIMITS)  # fmt: skip
    assert out.status == "error" and "not a class name" in out.reason


def test_outcome_ok_property() -> None:
    assert SandboxOutcome("ok", "", {}, 0.1).ok
    assert not SandboxOutcome("timeout", "t", None, 0.1).ok


PARENT = '''
from autotts.sandbox import Limits, run_sandboxed

source = """from autotts.controllers import Controller


class Spin(Controller):
    name = "spin"
    uses_beta = True

    @classmethod
    def schedule(cls, beta):
        return {}

    def solve(self, session):
        while True:
            pass
"""
payload = {"envs": [ENV], "betas": [0.5], "protocol": {"name": "official", "replicates": 1,
           "seed": 0}, "match": "exact", "kappa_probe": 0.0, "budget": None, "params": {}}
run_sandboxed(source, "Spin", "autotts.sandbox.jobs:evaluate_job", payload, Limits(timeout_s=300))
'''


def _sandboxes_of(pid: int) -> list[int]:
    """Sandbox processes started by ``pid`` (their command line names it with --parent)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if b"--parent" in argv and argv[argv.index(b"--parent") + 1] == str(pid).encode():
            out.append(int(d))
    return out


def test_a_killed_caller_leaves_no_sandbox_running(tmp_path: Path) -> None:
    """The sandbox has its own session, so the caller's SIGKILL would orphan it until its CPU
    limit; it must die with the caller instead."""
    from autotts.data import write_env
    from tests.builders import make_env

    env = tmp_path / "env.json"
    write_env(make_env([([(["A", "A"], 1000, "A")], "A")]), env)
    parent = subprocess.Popen([sys.executable, "-c", PARENT.replace("ENV", repr(str(env)))])
    try:
        deadline = time.monotonic() + 30
        while not _sandboxes_of(parent.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _sandboxes_of(parent.pid), "the sandbox did not start"
        time.sleep(0.5)  # let it reach the candidate's loop
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 10
    while _sandboxes_of(parent.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _sandboxes_of(parent.pid) == []
