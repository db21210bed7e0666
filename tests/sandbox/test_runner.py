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

from autotts.sandbox import Limits, Rejection, SandboxOutcome
from autotts.sandbox.runner import _converse, _Ending, child_command, child_environment, interpret
from autotts.sandbox.wire import RESULTS, STATUS, frame

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


def _sh(script: str, tmp_path: Path, timeout_s: float = 30.0, first: bytes = b"") -> Any:
    seen: list[tuple[bytes, bytes]] = []

    def on_frame(kind: bytes, payload: bytes, watch: Any) -> None:
        seen.append((kind, payload))

    end = _converse(
        ["/bin/sh", "-c", script],
        first,
        str(tmp_path),
        {"PATH": os.defpath},
        Limits(timeout_s=timeout_s),
        on_frame,
    )
    end.frames = seen  # type: ignore[attr-defined]
    return end


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
    status = frame(STATUS, b'{"status": "ok", "data": {}}')
    script = f"sleep 60 & echo $! > {pidfile}; head -c {len(status)}"
    done = _converse(
        ["/bin/sh", "-c", script],
        status,
        str(tmp_path),
        {"PATH": os.defpath},
        Limits(timeout_s=30.0),
        lambda *a: None,
    )
    assert not done.timed_out and done.final == {"status": "ok", "data": {}}
    assert time.monotonic() - start < 20
    assert _wait_dead(int(pidfile.read_text()))


def test_frames_flow_both_ways(tmp_path: Path) -> None:
    big = os.urandom(300_000)  # larger than a pipe buffer: written while reading
    first = frame(RESULTS, big) + frame(STATUS, b'{"status": "ok", "data": {}}')
    done = _sh("cat", tmp_path, first=first)
    assert done.frames == [(RESULTS, big)] and done.final == {"status": "ok", "data": {}}


def test_an_oversized_frame_is_malformed(tmp_path: Path) -> None:
    done = _sh("printf '\\377\\377\\377\\377'; sleep 5", tmp_path)
    assert done.malformed and "bytes" in done.malformed


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
    assert child_command(Limits(memory_mb=300, cpu_s=7), jailed=True)[-4:] == [
        "--memory-mb", "300", "--cpu-s", "7"
    ]  # fmt: skip


def _ending(**kw: Any) -> _Ending:
    end = _Ending(cpu_seconds=0.1)
    for k, v in kw.items():
        setattr(end, k, v)
    return end


OK = {"status": "ok", "data": {"x": 1}}


@pytest.mark.parametrize(
    ("kw", "status", "fragment"),
    [
        ({"timed_out": "timed out after 30 s (wall clock): killed"}, "timeout", "after 30 s"),
        ({"malformed": "a frame of 9 bytes"}, "output", "malformed (a frame of 9"),
        ({"rejected": Rejection("forged", "q 1: lies")}, "forged", "q 1: lies"),
        ({"returncode": -signal.SIGXCPU}, "cpu", "CPU time limit of 30 s"),
        ({"returncode": -signal.SIGKILL, "cpu_seconds": 31.0}, "cpu", "CPU time limit"),
        ({"returncode": -signal.SIGKILL}, "crash", "died of SIGKILL"),
        ({"returncode": -signal.SIGSEGV}, "crash", "died of SIGSEGV (Segmentation fault)"),
        ({"returncode": -signal.SIGSYS}, "policy", "system call the sandbox forbids"),
        ({"returncode": -signal.SIGABRT, "log": b"MemoryError\n"}, "memory", "limit 768 MB"),
        ({"returncode": 1, "log": b"boom\nlast words\n"}, "crash", "status 1 without a "),
        ({"final": {"status": "fine"}}, "output", "status 'fine'"),
        ({"final": {"status": "ok", "data": [1]}}, "output", "not a JSON object"),
        ({"final": {"status": "invalid", "reason": "NaN"}}, "invalid", "NaN"),
        ({"final": OK}, "ok", ""),
    ],
)
def test_endings_map_to_statuses(kw: dict[str, Any], status: str, fragment: str) -> None:
    out = interpret(_ending(**kw), LIMITS, 1.0)
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
    with pytest.raises(ValueError, match="episode_timeout_s"):
        Limits(episode_timeout_s=0)
    assert Limits(timeout_s=5).cpu_limit_s == 5 and Limits(cpu_s=2).cpu_limit_s == 2


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
    out = run(candidate("return None"), payload, class_name="Nope")
    assert (out.status, out.reason) == (
        "error",
        "controller.py defines no class 'Nope' (classes defined there: C)",
    )
    out = run(candidate("return None"), payload, class_name="C; x")
    assert out.status == "error" and "not a class name" in out.reason


def test_outcome_ok_property() -> None:
    assert SandboxOutcome("ok", "", {}, 0.1).ok
    assert not SandboxOutcome("timeout", "t", None, 0.1).ok


PARENT = '''
from autotts.sandbox import Candidate, Limits, sweep_candidate

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
sweep_candidate(Candidate(source, "Spin"), [ENV], [0.5], limits=Limits(timeout_s=300))
'''


def _descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (bubblewrap, the sandbox interpreter, ...)."""
    children: dict[int, list[int]] = {}
    for d in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(") ", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
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
        while not _descendants(parent.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # let it reach the candidate's loop
        sandbox = _descendants(parent.pid)
        assert sandbox, "the sandbox did not start"
    finally:
        parent.kill()
        parent.wait()
    assert all(_wait_dead(pid) for pid in sandbox)


def test_output_mb_caps_each_frame(tmp_path: Path) -> None:
    big = frame(RESULTS, b"x" * 3_000_000)
    end = _converse(
        ["/bin/sh", "-c", "cat"],
        big,
        str(tmp_path),
        {"PATH": os.defpath},
        Limits(timeout_s=30.0, output_mb=1.0),
        lambda *a: None,
    )
    assert end.malformed and "at most 1,048,576" in end.malformed


def test_the_episode_clock_gives_episodes_played_together_the_limit_each() -> None:
    """Strict mode plays a question's replicates interleaved: 100 of them get 100 limits."""
    import time

    from autotts.sandbox.runner import Watch

    w = Watch(2.0)
    before = time.monotonic()
    w.episode_started("question 3 (its 100 replicates, played together)", 100)
    assert before + 200.0 <= w.deadline <= time.monotonic() + 200.0 and w.episodes == 100
    w.episode_started("question 3, replicate 0")
    assert w.deadline <= time.monotonic() + 2.0 and w.episodes == 1
    w.idle()
    assert w.deadline == float("inf")
