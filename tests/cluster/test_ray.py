"""``--ray``: the same work on a Ray cluster, with results byte-identical to local workers,
through faults (a worker killed, the driver killed and resumed, the cluster gone), with the
sandbox holding on the workers."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from autotts.data.io import write_env
from autotts.data.synth import synthesize
from tests.discover.candidates import GOOD

from .conftest import Cluster, processes_under, start_cluster

pytestmark = pytest.mark.xdist_group("ray")  # one cluster per test session, not per worker


def autotts(*args: str | Path, timeout: float = 600, **kw: Any) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AUTOTTS_RAY_ADDRESS"}
    return subprocess.run(
        [sys.executable, "-m", "autotts", *map(str, args)],
        capture_output=True, text=True, timeout=timeout, env=env, **kw,
    )  # fmt: skip


@pytest.fixture(scope="module")
def envs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    root = tmp_path_factory.mktemp("envs")
    out: dict[str, list[str]] = {"search": [], "heldout": []}
    for split, seed in (("search", 10), ("heldout", 20)):
        for i in range(2):
            p = root / f"{split}{i}.json"
            env = synthesize(n_questions=8, n_chains=64, seed=seed + i, model=f"M{split}{i}",
                             dataset=split)  # fmt: skip
            write_env(env, p)
            out[split].append(str(p))
    return out


def discover_args(envs: dict[str, list[str]], run_dir: Path) -> list[str]:
    return ["discover", "--search-env", *envs["search"], "--heldout-env", *envs["heldout"],
            "--proposer", "evolve", "--rounds", "2", "--generations", "2", "--population", "6",
            "--betas", "0,0.5,1", "--replicates", "4", "--run-dir", str(run_dir),
            "--json"]  # fmt: skip


@pytest.fixture(scope="module")
def local_summary(envs: dict[str, list[str]], tmp_path_factory: pytest.TempPathFactory) -> str:
    run_dir = tmp_path_factory.mktemp("local") / "run"
    done = autotts(*discover_args(envs, run_dir), "--workers", "2")
    assert done.returncode == 0, done.stderr
    return (run_dir / "summary.json").read_text()


def summary_of(run_dir: Path) -> str:
    return (run_dir / "summary.json").read_text()


# ------------------------------------------------------------------ identical results
def test_evaluate_is_byte_identical_on_ray(cluster: Cluster, envs: dict[str, list[str]]) -> None:
    args = ["evaluate", "--env", *envs["search"], "--controller", "cmc", "--betas", "0:1:0.25",
            "--replicates", "6", "--json"]  # fmt: skip
    local = autotts(*args, "--workers", "2")
    ray = autotts(*args, "--ray", cluster.address)
    assert local.returncode == ray.returncode == 0, local.stderr + ray.stderr
    assert local.stdout == ray.stdout
    assert len(local.stdout.splitlines()) == 10


def test_sandboxed_evaluate_and_compare_are_identical_on_ray(
    cluster: Cluster, envs: dict[str, list[str]], tmp_path: Path
) -> None:
    code = tmp_path / "widen.py"
    code.write_text(GOOD)
    ev = ["evaluate", "--env", *envs["search"], "--controller", f"{code}:Widen", "--sandbox",
          "--betas", "0,0.5,1", "--replicates", "4", "--json"]  # fmt: skip
    cmp = ["compare", "--env", *envs["search"], "--a", "cmc", "--b", f"{code}:Widen",
           "--sandbox", "--betas", "0,0.5,1", "--replicates", "4", "--json"]  # fmt: skip
    for args in (ev, cmp):
        local = autotts(*args, "--workers", "2")
        ray = autotts(*args, "--ray", cluster.address)
        assert local.returncode == ray.returncode == 0, local.stderr + ray.stderr
        assert local.stdout == ray.stdout
        assert str(Path(envs["search"][0]).resolve()) in ray.stdout  # the driver's paths


def test_report_files_are_identical_on_ray(
    cluster: Cluster, envs: dict[str, list[str]], tmp_path: Path
) -> None:
    """Every file but the provenance (command line, creation time) is the same."""
    args = ["report", "--env", envs["search"][0], "--controller", "sc", "cmc", "--replicates",
            "4", "--json"]  # fmt: skip
    local = autotts(*args, "-o", tmp_path / "local", "--workers", "2")
    ray = autotts(*args, "-o", tmp_path / "ray", "--ray", cluster.address)
    assert local.returncode == ray.returncode == 0, local.stderr + ray.stderr
    files = sorted(p.name for p in (tmp_path / "local").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "ray").iterdir())
    assert "results.json" in files
    for name in files:
        a, b = (tmp_path / "local" / name).read_bytes(), (tmp_path / "ray" / name).read_bytes()
        if name.endswith((".json", ".html")):
            a, b = _without_provenance(a), _without_provenance(b)
        assert a == b, name


def _without_provenance(data: bytes) -> bytes:
    marks = ('"command":', '"created":', "Made by")
    keep = [line for line in data.decode().splitlines() if not any(m in line for m in marks)]
    return "\n".join(keep).encode()


def test_env_var_chooses_the_cluster(cluster: Cluster, envs: dict[str, list[str]]) -> None:
    args = ["evaluate", "--env", envs["search"][0], "--controller", "sc", "--replicates", "3",
            "--json"]  # fmt: skip
    local = autotts(*args)
    env = {**os.environ, "AUTOTTS_RAY_ADDRESS": cluster.address}
    ray = subprocess.run([sys.executable, "-m", "autotts", *args], capture_output=True,
                         text=True, env=env, timeout=300)  # fmt: skip
    assert ray.returncode == 0, ray.stderr
    assert ray.stdout == local.stdout
    both = subprocess.run([sys.executable, "-m", "autotts", *args, "--ray", "--workers", "2"],
                          capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert both.returncode == 2
    assert both.stderr.strip() == (
        "autotts: error: --workers and --ray exclude each other: on a cluster every CPU works"
    )


def test_discover_summary_is_identical_on_ray(
    cluster: Cluster, envs: dict[str, list[str]], local_summary: str, tmp_path: Path
) -> None:
    done = autotts(*discover_args(envs, tmp_path / "run"), "--ray", cluster.address)
    assert done.returncode == 0, done.stderr
    assert summary_of(tmp_path / "run") == local_summary
    assert json.loads(done.stdout) == json.loads(local_summary)


# ------------------------------------------------------------------ faults
def _records(run_dir: Path) -> int:
    try:
        db = sqlite3.connect(run_dir / "history.sqlite")
        try:
            return int(db.execute("SELECT count(*) FROM evaluations").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def _task_workers() -> list[int]:
    """Ray worker processes running one of autotts's units (Ray names them after the task)."""
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                cmd = Path(f"/proc/{d}/cmdline").read_bytes()
            except OSError:
                continue
            if cmd.startswith(b"ray::_run_unit"):
                pids.append(int(d))
    return pids


def test_a_killed_worker_loses_nothing(
    cluster: Cluster, envs: dict[str, list[str]], local_summary: str, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    argv = [sys.executable, "-m", "autotts", *discover_args(envs, run_dir), "--ray",
            cluster.address]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = 0
    deadline = time.monotonic() + 300
    while proc.poll() is None and killed < 2 and time.monotonic() < deadline:
        busy = _task_workers()
        if busy and _records(run_dir) > 0:
            os.kill(busy[0], signal.SIGKILL)
            killed += 1
            time.sleep(1.0)
        time.sleep(0.05)
    _, err = proc.communicate(timeout=600)
    assert killed >= 1, "no worker was caught running a unit"
    assert proc.returncode == 0, err
    assert summary_of(run_dir) == local_summary


def test_killed_driver_resumes_on_the_cluster(
    cluster: Cluster, envs: dict[str, list[str]], local_summary: str, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    argv = [sys.executable, "-m", "autotts", *discover_args(envs, run_dir), "--ray",
            cluster.address]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while _records(run_dir) < 20 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.kill()
    proc.wait()
    before = _records(run_dir)
    done = autotts("discover", "--run-dir", run_dir, "--resume", "--json", "--ray",
                   cluster.address)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _records(run_dir) > before
    assert summary_of(run_dir) == local_summary


def test_a_cluster_that_goes_away_is_one_error_and_keeps_the_work(
    envs: dict[str, list[str]], local_summary: str, tmp_path: Path
) -> None:
    doomed = start_cluster()  # its own cluster: this test ends it
    run_dir = tmp_path / "run"
    try:
        argv = [sys.executable, "-m", "autotts", *discover_args(envs, run_dir), "--ray",
                doomed.address]  # fmt: skip
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 300
        while _records(run_dir) < 20 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proc.poll() is None, "the run ended before the cluster could be stopped"
        doomed.stop()
        _, err = proc.communicate(timeout=120)
    finally:
        doomed.stop()
    assert proc.returncode == 2, err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"autotts: error: the Ray cluster at {doomed.address} went away")
    assert last.endswith(f"run autotts discover --run-dir {run_dir} --resume to continue")
    assert "Traceback" not in err
    kept = _records(run_dir)
    assert kept >= 20
    assert not processes_under(doomed.temp_dir)
    done = autotts("discover", "--run-dir", run_dir, "--resume", "--json", "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert summary_of(run_dir) == local_summary  # finished locally: the same summary


# ------------------------------------------------------------------ errors
def test_without_ray_installed_is_one_error(envs: dict[str, list[str]], tmp_path: Path) -> None:
    blocker = tmp_path / "noray"
    blocker.mkdir()
    (blocker / "ray.py").write_text("raise ImportError('No module named ray')\n")
    env = {**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run(
        [sys.executable, "-m", "autotts", "evaluate", "--env", envs["search"][0], "--controller",
         "sc", "--ray"], capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == "autotts: error: --ray needs Ray: pip install 'autotts[ray]'"


def test_nothing_at_the_address_is_one_error(envs: dict[str, list[str]]) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = autotts("evaluate", "--env", envs["search"][0], "--controller", "sc", "--ray",
                   f"127.0.0.1:{port}", timeout=300)  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"autotts: error: no Ray cluster at 127.0.0.1:{port}")
