"""Evaluator speed: whole-process timings against the original evaluator, and episodes/s.

    python bench/bench_evaluate.py [--repeat 3] [--quick]

Part 1 times whole ``autotts evaluate --json`` processes (start-up and file loading included) on
the two workloads the original evaluator was timed on, at rest, on this kind of machine:
CMC at beta 0.5 on Qwen3-4B/aime25 (3,000 episodes, 7.5 s) and SC@64 over the eight replay
environments (24,000 episodes, 4.5 s). It prints the best of ``--repeat`` runs and the speed-up.
Part 2 prints in-process episodes/s per controller with 1 and 2 workers, part 3 the time and
memory it takes to load the eight environments.

The machines are shared and noisy: take the best of several runs, and compare ratios.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORIGINAL_SECONDS = {"cmc@0.5, Qwen3-4B/aime25": 7.5, "sc@64, 8 environments": 4.5}


def replay_dir() -> Path:
    d = Path(os.environ.get("AUTOTTS_REPLAY_DIR") or ROOT.parent / "shared" / "replay")
    if not (d / "reference.csv").is_file():
        sys.exit(f"bench: replay data not found at {d} (set AUTOTTS_REPLAY_DIR)")
    return d


def whole_process(args: list[str], repeat: int) -> tuple[float, list[dict[str, object]]]:
    best = float("inf")
    rows: list[dict[str, object]] = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "autotts", "evaluate", *args, "--json"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        best = min(best, time.perf_counter() - start)
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return best, rows


def part1(replay: Path, repeat: int) -> None:
    envs = sorted(glob.glob(str(replay / "*" / "*.json")))
    workloads = {
        "cmc@0.5, Qwen3-4B/aime25": [
            "--env",
            str(replay / "Qwen3-4B" / "aime25.json"),
            "--controller",
            "cmc",
            "--beta",
            "0.5",
        ],
        "sc@64, 8 environments": ["--env", *envs, "--controller", "sc"],
    }
    print(f"whole process (best of {repeat}), vs the original evaluator at rest")
    print(f"{'workload':28} {'workers':>7} {'seconds':>8} {'episodes/s':>11} {'speed-up':>9}")
    for name, args in workloads.items():
        for workers in (1, 2):
            secs, rows = whole_process([*args, "--workers", str(workers)], repeat)
            episodes = sum(int(r["episodes"]) for r in rows)  # type: ignore[call-overload]
            speedup = ORIGINAL_SECONDS[name] / secs
            print(f"{name:28} {workers:>7} {secs:>8.3f} {episodes / secs:>11,.0f} {speedup:>8.1f}x")


def part2(replay: Path, quick: bool) -> None:
    from autotts.controllers import ControllerSpec
    from autotts.data import load_env
    from autotts.evaluate import Protocol, evaluate

    env = load_env(replay / "Qwen3-4B" / "aime25.json")
    cases: list[tuple[str, ControllerSpec, float | None]] = [
        ("sc k=64", ControllerSpec("sc"), None),
        ("asc", ControllerSpec("asc"), None),
        ("esc", ControllerSpec("esc"), None),
        ("parallel_probe", ControllerSpec("parallel_probe"), None),
        ("cmc beta=0", ControllerSpec("cmc"), 0.0),
        ("cmc beta=0.5", ControllerSpec("cmc"), 0.5),
        ("cmc beta=1", ControllerSpec("cmc"), 1.0),
    ]
    if quick:
        cases = cases[:1] + cases[-2:-1]
    evaluate([env], ControllerSpec("sc"), [None], protocol=Protocol("official", 1))  # warm-up
    print("\nin-process episodes/s on Qwen3-4B/aime25 (official protocol, 100 replicates)")
    print(f"{'controller':16} {'1 worker':>10} {'2 workers':>10} {'scaling':>8}")
    for label, spec, beta in cases:
        rates = []
        for workers in (1, 2):
            start = time.perf_counter()
            [res] = evaluate([env], spec, [beta], workers=workers)
            rates.append(res.episodes / (time.perf_counter() - start))
        print(f"{label:16} {rates[0]:>10,.0f} {rates[1]:>10,.0f} {rates[1] / rates[0]:>7.2f}x")


def part3(replay: Path) -> None:
    import tracemalloc

    from autotts.data import load_env

    files = sorted(glob.glob(str(replay / "*" / "*.json")))
    size = sum(os.path.getsize(f) for f in files)
    start = time.perf_counter()
    envs = [load_env(f) for f in files]
    seconds = time.perf_counter() - start
    del envs
    tracemalloc.start()  # a second load, traced (tracing slows it down)
    envs = [load_env(f) for f in files]
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"\nloading the {len(envs)} environments ({size / 1e6:.1f} MB of JSON): {seconds:.3f} s, "
        f"{held / 1e6:.1f} MB held ({held / size:.2f}x the files), {peak / 1e6:.1f} MB peak"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="fewer controllers in part 2")
    a = ap.parse_args()
    replay = replay_dir()
    part1(replay, a.repeat)
    part2(replay, a.quick)
    part3(replay)


if __name__ == "__main__":
    main()
