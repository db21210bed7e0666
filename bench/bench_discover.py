"""How long the main job takes: ``autotts discover`` with no arguments, as a user runs it.

Runs it twice in a scratch directory with a fresh baseline cache: the first run measures the
baselines, the second takes them from the cache. Prints each run's wall time (whole process)
and whether it measured baselines. ``--replay`` uses ``$AUTOTTS_REPLAY_DIR`` (the aime24 /
aime25 files) instead of the synthetic default. The machine's load is printed too: on a shared
machine it dominates the spread.

    python bench/bench_discover.py [--replay] [--runs 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replay", action="store_true", help="use $AUTOTTS_REPLAY_DIR's data")
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "AUTOTTS_CACHE_DIR": str(Path(scratch) / "cache")}
        if not args.replay:
            env.pop("AUTOTTS_REPLAY_DIR", None)
        for i in range(args.runs):
            argv = [sys.executable, "-m", "autotts", "discover", "--run-dir", f"run{i}"]
            start = time.perf_counter()
            done = subprocess.run(argv, cwd=scratch, env=env, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            if done.returncode != 0:
                sys.exit(done.stderr)
            measured = "measured" if "autotts: baselines on" in done.stderr else "cached"
            load = os.getloadavg()[0]
            print(f"run {i + 1}: {seconds:.1f} s (baselines {measured}; load {load:.1f})")


if __name__ == "__main__":
    main()
