"""A real Ray cluster on 127.0.0.1, started and stopped by the tests: a head node and a second
worker node process, one CPU each (so work really is spread over two raylets)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="pip install 'autotts[ray]' (the dev extra has it)")

RAY = str(Path(sys.executable).with_name("ray"))
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    address: str
    temp_dir: str
    procs: list[subprocess.Popen[bytes]]

    def stop(self) -> None:
        """Every process of this cluster, and only of this one, ends."""
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for p in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(max(0.1, deadline - time.monotonic()))
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        for pid in processes_under(self.temp_dir):
            with_suppressed_kill(pid)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def with_suppressed_kill(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


def processes_under(text: str) -> list[int]:
    """Pids whose command line mentions ``text`` (this cluster's temp dir)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                cmd = Path(f"/proc/{d}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in cmd and int(d) != os.getpid():
                out.append(int(d))
    return out


def start_cluster() -> Cluster:
    temp = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # short: Ray's sockets live under it
    port = _free_port()
    common = ["--num-cpus", "1", "--disable-usage-stats", "--block", "--node-ip-address",
              "127.0.0.1"]  # fmt: skip
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    # the workers import autotts as installed, and tests/ (work units defined by the tests)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env.pop("AUTOTTS_RAY_ADDRESS", None)
    head = subprocess.Popen(
        [RAY, "start", "--head", "--port", str(port), "--temp-dir", temp,
         "--include-dashboard=false", *common],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env,
    )  # fmt: skip
    cluster = Cluster(f"127.0.0.1:{port}", temp, [head])
    try:
        _wait_for_port(port, head)
        node = subprocess.Popen(
            [RAY, "start", "--address", cluster.address, *common],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            env=env,
        )  # fmt: skip
        cluster.procs.append(node)
        _wait_for_nodes(cluster.address, 2)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ray start --head exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the Ray head did not come up in 90 s")


def _wait_for_nodes(address: str, n: int) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        out = subprocess.run(
            [RAY, "status", "--address", address], capture_output=True, text=True, timeout=60
        ).stdout
        if out.count(" node_") >= n:
            return
        time.sleep(1)
    raise RuntimeError(f"the Ray cluster at {address} did not reach {n} nodes in 90 s")


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    c = start_cluster()
    try:
        yield c
    finally:
        c.stop()
