"""Untrusted code on a cluster runs in the same sandbox as locally, and Ray gives it no reach:
with the Python policy and guard switched off (as if the candidate had defeated both), the
code a Ray worker sandboxes sees no Ray variable, no inherited socket, no object store, no Ray
session directory, and cannot connect to the cluster's control service."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autotts.data.io import write_env
from autotts.data.synth import synthesize

from .conftest import Cluster

pytestmark = pytest.mark.xdist_group("ray")
ROOT = Path(__file__).resolve().parents[2]

SPY = """
import json, os, socket
from autotts.controllers import Controller


class Spy(Controller):
    name = "spy"

    def solve(self, session):
        links = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                links.append(os.readlink("/proc/self/fd/" + fd).split(":")[0])
            except OSError:
                pass
        found = {
            "ray_env": sorted(k for k in os.environ if k.upper().startswith("RAY")),
            "sockets": links.count("socket"),
            "shm": sorted(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else [],
            "session_dir": os.path.exists(TEMP),
        }
        try:
            socket.create_connection((HOST, PORT), timeout=2).close()
            found["gcs"] = "connected"
        except Exception as e:
            found["gcs"] = type(e).__name__
        raise RuntimeError("FOUND" + json.dumps(found, separators=(",", ":")) + "END")
"""

DRIVER = """
import json, sys
from autotts.cluster import ShippedFiles, connect
from tests.cluster.spy import spy

address, env_path, code = sys.argv[1], sys.argv[2], sys.argv[3]
pool = connect(address)
got = {}
tasks = [(env_path, code, True), (env_path, code, False)] * 2
pool.map(spy, ShippedFiles.of([env_path]), tasks, lambda n, r: got.__setitem__(n, r))
print(json.dumps([got[n] for n in range(4)]))
pool.close()
"""


def test_sandbox_on_a_ray_worker_has_no_ray_reach(cluster: Cluster, tmp_path: Path) -> None:
    env_path = tmp_path / "env.json"
    write_env(synthesize(n_questions=2, n_chains=8, seed=3), env_path)
    host, port = cluster.address.rsplit(":", 1)
    code = SPY.replace("TEMP", repr(cluster.temp_dir)).replace("HOST", repr(host))
    code = code.replace("PORT", port)
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, cluster.address, str(env_path), code],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(runs) == 4
    for n, (_node, example) in enumerate(runs):
        if n % 2 == 0:  # every layer: seccomp stops the first socket() outright
            assert example.endswith("the candidate made a system call the sandbox forbids")
            continue
        assert "FOUND" in example, example  # the code ran, in the jail alone, on a worker
        found = json.loads(example.split("FOUND", 1)[1].rsplit("END", 1)[0])
        assert found["ray_env"] == []
        assert found["sockets"] == 0
        assert found["shm"] == []
        assert found["session_dir"] is False
        assert found["gcs"] != "connected"
