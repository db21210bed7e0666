"""What the sandbox costs: start-up per sandbox, and sandboxed evaluations (fast and strict
mode) against the same evaluation in-process.

    python bench/bench_sandbox.py [--repeat 3] [--strict-replicates 100]

Part 1 times a sandbox that loads a trivial candidate and returns (jail, interpreter start,
numpy, the OS layers, the guard), with the jail and without it, and one whose candidate imports
scipy.stats. Part 2 evaluates ``examples/quorum.py`` at beta 0:1:0.25 on Qwen3-4B/aime25 (100
replicates) in-process and in one fast-mode sandbox (the parent replays and verifies every
episode), and in strict mode at ``--strict-replicates`` (every action a round trip to the
parent), and prints the ratios per episode. Best of ``--repeat`` runs; the machine is shared and
noisy.
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
    ap.add_argument("--strict-replicates", type=int, default=100)
    args = ap.parse_args()
    from autotts.controllers import ControllerSpec
    from autotts.data import load_env
    from autotts.evaluate import Protocol, evaluate
    from autotts.sandbox import Candidate, describe_candidate, evaluate_sandboxed, jail_status

    def start(source: str) -> None:
        outcome = describe_candidate(Candidate(source, "T"))
        assert outcome.ok, outcome.reason

    jail = jail_status()
    print(f"OS jail: {'bubblewrap' if jail.available else 'missing: ' + str(jail.problem)}")
    for label, source in (
        ("trivial", TRIVIAL),
        ("imports scipy.stats", "from scipy import stats\n" + TRIVIAL),
    ):
        t = best(lambda s=source: start(s), args.repeat)
        print(f"sandbox start-up, {label}: {t:.3f} s")
    if jail.available:
        os.environ["AUTOTTS_SANDBOX_JAIL"] = "off"
        jail_status.cache_clear()
        t = best(lambda: start(TRIVIAL), args.repeat)
        print(f"sandbox start-up, trivial, without the jail: {t:.3f} s")
        del os.environ["AUTOTTS_SANDBOX_JAIL"]
        jail_status.cache_clear()

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

    def boxed(replicates: int, strict: bool) -> None:
        outcome, _ = evaluate_sandboxed(
            source, "Quorum", [path], betas, protocol=Protocol(replicates=replicates), strict=strict
        )
        assert outcome.ok, outcome.reason

    fast = best(lambda: boxed(100, False), args.repeat)
    n = args.strict_replicates
    strict = best(lambda: boxed(n, True), 1)
    per_in, per_fast, per_strict = inproc / 100, fast / 100, strict / n
    print(
        f"quorum, 5 betas x 3,000 episodes: in-process {inproc:.2f} s, sandboxed (fast, verified)"
        f" {fast:.2f} s ({fast / inproc:.2f}x, file loading included)"
    )
    print(
        f"strict mode, {5 * 30 * n:,} episodes: {strict:.2f} s, {per_strict / per_in:.1f}x "
        f"in-process and {per_strict / per_fast:.1f}x fast mode per episode"
    )


if __name__ == "__main__":
    main()
