"""The Ray path against local workers: per-task overhead, where it pays, and N-node throughput.

    python bench/bench_ray.py [--genomes 16] [--replicates 100]

Starts a one-node Ray cluster on 127.0.0.1 with this machine's CPUs (``ray start --head``),
then times the same work both ways, in this process:

1. **dispatch**: 400 empty tasks through ``RayPool.map``: the cost of one task (submit,
   schedule, run, return) when there is no work in it;
2. **genome fitness at full fidelity** (discovery's inner loop): ``--genomes`` genomes scored
   on the four aime24 environments at 11 betas × ``--replicates``, ``--workers 2`` against the
   cluster (first use — shipping the encoded environments, compiling the kernel in each worker
   — and warm);
3. **an 8-environment sweep**: CMC at 11 betas on the eight replay environments
   (``autotts evaluate``'s chunks).

Both paths must give identical results (checked). Then it computes, from the measured
per-genome CPU time and per-task overhead, genomes per minute on N nodes × C cores. The
machine is shared and noisy: compare the ratios, and take the best of several runs.
"""

from __future__ import annotations

import argparse
import glob
import operator
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def replay_dir() -> Path:
    d = Path(os.environ.get("AUTOTTS_REPLAY_DIR") or ROOT.parent / "shared" / "replay")
    if not (d / "reference.csv").is_file():
        sys.exit(f"bench: replay data not found at {d} (set AUTOTTS_REPLAY_DIR)")
    return d


def start_head(cpus: int) -> tuple[subprocess.Popen[bytes], str, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    temp = tempfile.mkdtemp(prefix="rb", dir="/tmp")
    ray = str(Path(sys.executable).with_name("ray"))
    proc = subprocess.Popen(
        [ray, "start", "--head", "--port", str(port), "--num-cpus", str(cpus), "--temp-dir",
         temp, "--node-ip-address", "127.0.0.1", "--include-dashboard=false",
         "--disable-usage-stats", "--block"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"127.0.0.1:{port}", temp
        except OSError:
            time.sleep(0.3)
    sys.exit("bench: the Ray head did not come up")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--genomes", type=int, default=16)
    ap.add_argument("--replicates", type=int, default=100)
    args = ap.parse_args()

    from autotts.cluster import connect
    from autotts.controllers import ControllerSpec
    from autotts.data import load_env
    from autotts.discover.evolve.genome import random_genome, seed_genomes
    from autotts.discover.evolve.scoring import FitnessSettings, prepare, score_all
    from autotts.evaluate import DEFAULT_BETAS, EvalSettings, Protocol, evaluate

    replay = replay_dir()
    cpus = os.cpu_count() or 1
    proc, address, temp = start_head(cpus)
    try:
        pool = connect(address)
        print(f"Ray cluster: 1 node, {pool.slots} CPUs at {address}; local: --workers 2\n")

        # 1. dispatch overhead
        n = 400
        got: dict[int, int] = {}
        noop = operator.is_  # any importable two-argument function
        pool.map(noop, None, list(range(50)), got.__setitem__)  # start the workers
        t, _ = timed(lambda: pool.map(noop, None, list(range(n)), got.__setitem__))
        per_task = t / n
        print(f"dispatch: {n} empty tasks in {t:.2f} s = {1000 * per_task:.2f} ms per task "
              f"(wall, {pool.slots} at once)")  # fmt: skip

        # 2. genome fitness at full fidelity
        import random

        rng = random.Random(7)
        genomes = seed_genomes()[: args.genomes]
        while len(genomes) < args.genomes:
            genomes.append(random_genome(rng))
        settings = FitnessSettings(replicates=args.replicates)
        envs = [load_env(p) for p in sorted(glob.glob(str(replay / "*" / "aime24.json")))]
        fenvs = prepare(envs, settings)

        def score(workers: Any) -> list[Any]:
            out: dict[int, Any] = {}
            score_all(genomes, fenvs, settings, workers, out.__setitem__)
            return [out[i] for i in range(len(genomes))]

        t1, one = timed(lambda: score(1))
        t_local, local = timed(lambda: score(2))
        t_first, first = timed(lambda: score(pool))
        t_warm, warm = timed(lambda: score(pool))
        assert _same(local, first) and _same(local, warm) and _same(local, one)
        g = len(genomes)
        cpu_per_genome = t1 / g
        print(f"\ngenome fitness, {g} genomes × {len(envs)} envs × 11 betas × "
              f"{args.replicates} replicates (identical tables both ways):")  # fmt: skip
        print(f"  1 worker            {t1:7.2f} s   {cpu_per_genome:6.3f} s per genome (CPU)")
        print(f"  --workers 2         {t_local:7.2f} s   {60 * g / t_local:7.1f} genomes/min")
        print(f"  Ray, first use      {t_first:7.2f} s   (ships envs, compiles kernel per worker)")
        print(f"  Ray, warm           {t_warm:7.2f} s   {60 * g / t_warm:7.1f} genomes/min   "
              f"ratio to --workers 2: {t_warm / t_local:.2f}")  # fmt: skip
        overhead = max(0.0, (t_warm - t_local) * pool.slots / g)
        print(f"  Ray cost per genome beyond local workers: {1000 * overhead:.0f} ms")

        # 3. an 8-environment sweep
        all_envs = [load_env(p) for p in sorted(glob.glob(str(replay / "*" / "*.json")))]
        rs = EvalSettings(Protocol("official", args.replicates, 0))
        spec = ControllerSpec("cmc")

        def sweep(workers: Any) -> list[Any]:
            got = evaluate(all_envs, spec, DEFAULT_BETAS, settings=rs, workers=workers)
            return [r.to_json(wall_clock=False) for r in got]

        ts_local, a = timed(lambda: sweep(2))
        ts_ray, b = timed(lambda: sweep(pool))
        assert a == b, "the sweep differs on Ray"
        episodes = len(all_envs) * 11 * args.replicates * 30
        print(f"\n8-environment sweep, cmc × 11 betas × {args.replicates} replicates "
              f"(~{episodes:,} episodes, identical records):")  # fmt: skip
        print(f"  --workers 2 {ts_local:7.2f} s   Ray {ts_ray:7.2f} s   "
              f"ratio {ts_ray / ts_local:.2f}")  # fmt: skip

        # N nodes × C cores: every core scores genomes; the driver dispatches them
        print("\nthroughput from these figures (a genome costs its CPU time plus the Ray cost "
              "per task; the driver dispatches one task per "
              f"{1000 * per_task:.1f} ms at most):")  # fmt: skip
        cost = cpu_per_genome + overhead
        for nodes, cores in ((1, 2), (4, 32), (16, 32), (64, 32)):
            c = nodes * cores
            rate = min(60 * c / cost, 60 / per_task if per_task else float("inf"))
            print(f"  {nodes:3d} nodes × {cores:2d} cores = {c:5d} CPUs: "
                  f"{rate:10,.0f} genomes/min at full fidelity")  # fmt: skip
        pool.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)


def _same(a: list[Any], b: list[Any]) -> bool:
    import numpy as np

    return all(
        all(np.array_equal(getattr(x, f), getattr(y, f)) for f in ("accuracy", "tokens"))
        for ta, tb in zip(a, b, strict=True)
        for x, y in zip(ta, tb, strict=True)
    )


if __name__ == "__main__":
    main()
