"""The sandbox with its Python policy and guard switched off (a test-only complete bypass):
arbitrary code runs in the child, and the host must see nothing of it. Each attack runs with
every OS layer, with the jail alone and with seccomp alone, so no single layer is carrying it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autotts.evaluate import Protocol, evaluate
from autotts.sandbox import Candidate, Limits, jail_status, sweep_candidate

from .conftest import LIMITS, candidate

JAIL = jail_status()
# CI sets AUTOTTS_TEST_REQUIRE_JAIL=1: there a missing jail fails these tests; elsewhere they
# are skipped with the reason, and the suite's summary says the jail was not tested.
REQUIRE_JAIL = os.environ.get("AUTOTTS_TEST_REQUIRE_JAIL") == "1"
needs_jail = pytest.mark.skipif(
    not JAIL.available and not REQUIRE_JAIL, reason=f"no OS jail on this host: {JAIL.problem}"
)
LAYERS = {
    "all layers": {},
    "jail only": {"AUTOTTS_SANDBOX_SECCOMP": "off"},
    "seccomp only": {"AUTOTTS_SANDBOX_JAIL": "off"},
}


@pytest.fixture(params=list(LAYERS))
def layers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name: str = request.param
    if name != "seccomp only" and not JAIL.available:
        message = f"no OS jail on this host ({JAIL.problem})"
        if REQUIRE_JAIL:
            pytest.fail(message)
        pytest.skip(message)
    for key, value in LAYERS[name].items():
        monkeypatch.setenv(key, value)
    jail_status.cache_clear()
    yield name
    jail_status.cache_clear()


def bypass(source: str, env_file: Path, strict: bool = False, **kw: Any) -> Any:
    return sweep_candidate(
        Candidate(source, "C"),
        [env_file],
        [0.5],
        protocol=Protocol(replicates=2),
        strict=strict,
        limits=kw.pop("limits", LIMITS),
        _unsafe_bypass=True,
        **kw,
    )


def attack(body: str, after: str = "return vote(session.read(2))") -> str:
    """A candidate whose solve() runs ``body`` (arbitrary Python) then answers honestly."""
    return candidate(f"{body}\n{after}")


def test_files_outside_scratch_stay_untouched(layers: str, env_file: Path, tmp_path: Path) -> None:
    target = tmp_path / f"pwned-{uuid.uuid4().hex}"
    out = bypass(attack(f"open({str(target)!r}, 'w').write('x')"), env_file)
    assert not target.exists()
    assert out.outcome.status in ("policy", "ok"), out.outcome.reason  # killed, or OSError


def test_no_process_outlives_the_sandbox(layers: str, env_file: Path) -> None:
    marker = f"autotts-marker-{uuid.uuid4().hex[:12]}"
    body = (
        "import subprocess\n"
        f"subprocess.Popen(['/bin/sh', '-c', 'exec -a {marker} sleep 120'],"
        " start_new_session=True)\n"
        "import os\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        f"    os.execv('/bin/sh', ['sh', '-c', 'exec -a {marker}-forked sleep 120'])"
    )
    bypass(attack(body), env_file)
    time.sleep(0.3)
    assert not _processes_matching(marker)


def _processes_matching(text: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            if text.encode() in cmdline and int(pid) != os.getpid():
                found.append(int(pid))
    return found


def test_no_network_not_even_loopback(layers: str, env_file: Path) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(3)
    port = server.getsockname()[1]
    accepted: list[Any] = []

    def serve() -> None:
        with contextlib.suppress(OSError):
            accepted.append(server.accept())

    t = threading.Thread(target=serve)
    t.start()
    body = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).send(b'x')"
    try:
        bypass(attack(body), env_file)
    finally:
        t.join()
        server.close()
    assert accepted == []


def test_no_signals_outside(layers: str, env_file: Path) -> None:
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        body = (
            "import os, signal\n"
            f"for pid in ({victim.pid}, {os.getpid()}, os.getppid(), 1):\n"
            "    try:\n"
            "        os.kill(pid, signal.SIGKILL if pid != 1 else signal.SIGTERM)\n"
            "    except OSError:\n"
            "        pass"
        )
        bypass(attack(body), env_file)
        time.sleep(0.2)
        assert victim.poll() is None  # alive, and so are we
    finally:
        victim.kill()
        victim.wait()


def test_it_never_runs_as_root(layers: str, env_file: Path) -> None:
    body = "import os\nraise RuntimeError(f'uid {os.getuid()} euid {os.geteuid()}')"
    out = bypass(attack(body, after=""), env_file)
    assert out.outcome.ok, out.outcome.reason
    example = out.results[0].error_examples[0]
    assert "uid 65534 euid 65534" in example, example


def test_the_gold_is_not_in_its_process(layers: str, env_file: Path) -> None:
    """It finds every Question object in memory: their gold answers are empty."""
    body = (
        "import gc\n"
        "golds = {q.gold for q in gc.get_objects() if type(q).__name__ == 'Question'}\n"
        "raise RuntimeError(f'golds {sorted(golds)!r}')"
    )
    out = bypass(attack(body, after=""), env_file)
    assert out.outcome.ok, out.outcome.reason
    assert "golds ['']" in out.results[0].error_examples[0]


@needs_jail
def test_the_environment_file_is_not_visible_in_the_jail(env_file: Path) -> None:
    body = f"open({str(env_file)!r}).read()"
    out = bypass(attack(body, after=""), env_file)
    assert out.outcome.ok, out.outcome.reason
    assert "FileNotFoundError" in out.results[0].error_examples[0]


def test_reported_figures_are_the_verified_ones(layers: str, env_file: Path) -> None:
    """An honest controller, run with no policy at all, reports exactly what the trusted
    evaluator measures (the parent re-derives every figure)."""
    from autotts.controllers import ControllerSpec
    from autotts.data import load_env

    source = (Path(__file__).parents[2] / "examples" / "quorum.py").read_text()
    out = sweep_candidate(
        Candidate(source, "Quorum"),
        [env_file],
        [0.25, 1.0],
        protocol=Protocol(replicates=3),
        limits=LIMITS,
        _unsafe_bypass=True,
    )
    assert out.outcome.ok, out.outcome.reason
    path = Path(__file__).parents[2] / "examples" / "quorum.py"
    trusted = evaluate(
        [load_env(env_file)],
        ControllerSpec(f"{path}:Quorum"),
        [0.25, 1.0],
        protocol=Protocol(replicates=3),
    )
    for mine, ref in zip(out.results, trusted, strict=True):
        assert mine.per_question_accuracy == ref.per_question_accuracy
        assert mine.avg_total_tokens == ref.avg_total_tokens
        assert mine.avg_sequential_tokens == ref.avg_sequential_tokens


FORGERIES = {
    "an unrevealed final answer": "session.branch()\nreturn session._finals[session._order[5]]",
    "charged tokens zeroed": (
        "for _ in range(3):\n    session._c[session.branch()][1] = 0\nreturn None"
    ),
    "a shared read record rewritten": (
        "session.read(2)\nrec = session._c[0]\nsession._c[0] = (rec[0], 1, *rec[2:])\nreturn None"
    ),
    "a forged log entry": "session.branch()\nsession._log.append((6, 0, 0))\nreturn None",
}


@pytest.mark.parametrize("name", list(FORGERIES))
def test_forgeries_are_caught_by_the_replay(name: str, env_file: Path) -> None:
    out = bypass(candidate(FORGERIES[name]), env_file)
    assert out.outcome.status == "forged", (out.outcome.status, out.outcome.reason)
    assert "question 0, replicate 0" in out.outcome.reason


def test_a_forged_result_frame_is_caught(env_file: Path) -> None:
    """It writes its own frames to every open descriptor: the parent does not believe them."""
    body = (
        "import os, json, struct\n"
        "fake = json.dumps({'status': 'ok', 'data': {'knob_problems': []}}).encode()\n"
        "frame = struct.pack('>I', len(fake) + 1) + b'S' + fake\n"
        "for fd in range(3, 12):\n"
        "    try:\n"
        "        os.write(fd, frame)\n"
        "    except OSError:\n"
        "        pass\n"
        "os._exit(0)"
    )
    out = bypass(candidate(body), env_file)
    assert out.outcome.status in ("forged", "output"), (out.outcome.status, out.outcome.reason)
    assert out.results == []


def test_strict_mode_holds_no_chain_data(env_file: Path) -> None:
    body = (
        "assert session._finals == [] and session._probes == [], 'chain data found'\n"
        "import gc\n"
        "lists = [o for o in gc.get_objects() if type(o).__name__ == 'Question']\n"
        "assert not lists, 'questions found'\n"
        "return vote(session.read(2))"
    )
    out = bypass(candidate(body), env_file, strict=True)
    assert out.outcome.ok, out.outcome.reason
    assert out.results[0].errors == 0, out.results[0].error_examples


def test_a_hung_episode_is_named(env_file: Path) -> None:
    limits = Limits(timeout_s=60, memory_mb=768, episode_timeout_s=1.0)
    out = bypass(
        candidate("if session.n_available:\n    while True:\n        pass"), env_file, limits=limits
    )
    assert out.outcome.status == "timeout"
    assert "question 0, replicate 0 ran longer than 1 s" in out.outcome.reason


def test_the_parent_survives_sigterm_attempts(env_file: Path) -> None:
    body = "import os, signal\nos.killpg(0, signal.SIGTERM)\nos.kill(0, signal.SIGTERM)"
    bypass(attack(body), env_file)
    assert signal.getsignal(signal.SIGTERM) is not None  # still here to check
