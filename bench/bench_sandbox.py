"""What the sandbox costs: start-up per sandbox, and a sandboxed evaluation against the same
evaluation in-process.

    python bench/bench_sandbox.py [--repeat 3]

Part 1 times a sandbox that loads a trivial candidate and returns (interpreter start, numpy,
the guard), and one whose candidate imports scipy.stats. Part 2 evaluates
``examples/quorum.py`` at beta 0:1:0.25 on Qwen3-4B/aime25 (100 replicates) in-process and in
one sandbox, and prints the ratio. Best of ``--repeat`` runs; the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TRIVIAL = """from autotts.controllers import Controller


class T(Controller):
    name = "t"
    uses_beta = True

    @classmethod
    def schedule(cls, beta):
        return {"w": beta}

    def solve(self, session):
        return None
"""


def best(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from autotts.controllers import ControllerSpec
    from autotts.data import load_env
    from autotts.evaluate import Protocol, evaluate
    from autotts.sandbox import DESCRIBE_JOB, evaluate_sandboxed, run_sandboxed

    def start(source: str) -> None:
        outcome = run_sandboxed(source, "T", DESCRIBE_JOB, {"betas": []})
        assert outcome.ok, outcome.reason

    for label, source in (
        ("trivial", TRIVIAL),
        ("imports scipy.stats", "from scipy import stats\n" + TRIVIAL),
    ):
        t = best(lambda s=source: start(s), args.repeat)
        print(f"sandbox start-up, {label}: {t:.3f} s")

    replay = Path(os.environ.get("AUTOTTS_REPLAY_DIR") or ROOT.parent / "shared" / "replay")
    path = replay / "Qwen3-4B" / "aime25.json"
    if not path.is_file():
        sys.exit(f"bench: replay data not found at {replay} (set AUTOTTS_REPLAY_DIR)")
    quorum = ROOT / "examples" / "quorum.py"
    betas = [0.0, 0.25, 0.5, 0.75, 1.0]
    env = load_env(path)
    spec = ControllerSpec(f"{quorum}:Quorum")
    inproc = best(lambda: evaluate([env], spec, betas, protocol=Protocol()), args.repeat)
    source = quorum.read_text()

    def boxed() -> None:
        outcome, _ = evaluate_sandboxed(source, "Quorum", [path], betas)
        assert outcome.ok, outcome.reason

    sandboxed = best(boxed, args.repeat)
    print(
        f"quorum, 5 betas x 3,000 episodes: in-process {inproc:.2f} s, sandboxed {sandboxed:.2f} s"
        f" ({sandboxed / inproc:.2f}x, file loading included in the sandbox)"
    )


if __name__ == "__main__":
    main()
