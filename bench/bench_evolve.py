"""How fast the evolve proposer searches.

Prints, on the replay environments (default: the four aime24 files):

* the rendered CMC-shaped genome against the hand-written ``cmc`` (the same mechanisms and
  nearly the same schedules, so this is about the price of generated code), both in process;
* one cheap evaluation (5 betas x 10 replicates on every environment) in the sandbox against
  the same evaluation in process: the sandbox's overhead;
* one generation of 12 genomes with ``--workers`` sandboxes: genomes per minute.

    python bench/bench_evolve.py [--envs FILE...] [--workers 2]
"""

from __future__ import annotations

import argparse
import glob
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from autotts.controllers import ControllerSpec
from autotts.controllers.base import _REGISTRY, register_as
from autotts.data import load_env
from autotts.discover.evolve.genome import seed_genomes
from autotts.discover.evolve.render import class_name, render
from autotts.discover.evolve.search import CheapSettings, Search
from autotts.discover.proposers.evolve import reference
from autotts.evaluate import Protocol, evaluate


def _timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    default = os.path.join(
        os.environ.get("AUTOTTS_REPLAY_DIR", "../shared/replay"), "*/aime24.json"
    )
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--envs", nargs="+", default=sorted(glob.glob(default)))
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    if not args.envs:
        raise SystemExit(f"no environments (looked for {default}); give --envs")
    args.envs = [os.path.abspath(p) for p in args.envs]  # the sandbox runs in a scratch dir
    envs = [load_env(Path(p)) for p in args.envs]
    s = CheapSettings()
    protocol = Protocol(s.protocol, s.replicates, s.seed)
    g = seed_genomes()[0]  # CMC-shaped
    namespace: dict[str, Any] = {"__name__": "bench_evolved"}
    exec(compile(render(g), "<rendered>", "exec"), namespace)
    register_as("bench_evolved", namespace[class_name(g)])
    try:
        t_gen, gen = _timed(
            lambda: evaluate(
                envs, ControllerSpec("bench_evolved"), list(s.betas), protocol=protocol
            )
        )
    finally:
        _REGISTRY.pop("bench_evolved", None)
    t_cmc, cmc = _timed(
        lambda: evaluate(envs, ControllerSpec("cmc"), list(s.betas), protocol=protocol)
    )
    gap = max(abs(a.accuracy - b.accuracy) for a, b in zip(gen, cmc, strict=True))
    episodes = sum(r.episodes for r in gen)
    print(f"cheap evaluation: {len(envs)} envs x {len(s.betas)} betas x {s.replicates} replicates")
    print(f"  = {episodes:,} episodes")
    print(
        f"rendered CMC genome in process  {t_gen:6.2f} s   hand-written cmc {t_cmc:6.2f} s   "
        f"ratio {t_gen / t_cmc:.2f}x   largest accuracy gap {gap:.2f} points"
    )

    t_box, done = _timed(lambda: s.sweep(render(g), class_name(g), args.envs))
    assert done.outcome.ok, done.outcome.reason
    print(f"the same in the sandbox         {t_box:6.2f} s   overhead {t_box / t_gen:.2f}x")

    ref = reference(args.envs, s, args.workers)
    with tempfile.TemporaryDirectory() as tmp:
        search = Search(
            args.envs, s, 0, size=12, workers=args.workers, state_path=Path(tmp) / "state.json"
        )
        t_step, _ = _timed(lambda: search.step(ref, 1))
    print(
        f"one generation of 12 genomes    {t_step:6.2f} s   "
        f"{12 * 60 / t_step:.0f} genomes/min with {args.workers} workers"
    )


if __name__ == "__main__":
    main()
