"""Worker processes die with the process that started them, even on SIGKILL."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from autotts.data import write_env
from tests.controllers.synthetic import synthetic_env


def _state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def test_killed_evaluate_leaves_no_workers(tmp_path: Path) -> None:
    env = tmp_path / "env.json"
    write_env(synthetic_env(1, n_questions=40), env)
    argv = [sys.executable, "-m", "autotts", "evaluate", "--env", str(env), "--controller", "cmc",
            "--beta", "0:1:0.01", "--workers", "2", "--json"]  # fmt: skip
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        workers: list[int] = []
        while len(workers) < 2 and time.monotonic() < deadline and p.poll() is None:
            out = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True)
            workers = [int(w) for w in out.stdout.split()]
            time.sleep(0.05)
        assert len(workers) == 2, "the worker pool did not start"
    finally:
        p.kill()
        p.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        alive = [w for w in workers if _state(w) not in (None, "Z")]  # zombies await init
        if not alive:
            break
        time.sleep(0.05)
    assert not alive, f"workers {alive} outlived their parent"
