"""How fast genomes are evaluated: the fast path against the rendered code.

On the replay environments (default: the four aime24 files), for a few genomes (the seed
genomes and seeded random ones), prints episodes per second of

* (a) the fast path (``autotts.discover.evolve.fast``, compiled, one process),
* (b) the rendered code in this process (``evaluate`` with the rendered class registered),
* (c) the rendered code in the sandbox (``sweep_candidate`` in fast mode, as the search ran
  genomes before it had the fast path, and as the loop measures a promoted genome),

each on the search's cheap evaluation (5 betas x 10 replicates on every environment), with the
ratios, and checks that (a) and (b) agree exactly. Then genomes per minute at full fidelity
(11 betas 0, 0.1, ..., 1, 100 replicates, official protocol, every question of every
environment) on the fast path with ``--workers`` forked processes. Figures only: nothing here
asserts a time.

    python bench/bench_evolve.py [--envs FILE...] [--workers 2] [--genomes 6] [--full 12]
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from autotts.controllers import ControllerSpec
from autotts.controllers.base import _REGISTRY, register_as
from autotts.data import Environment, load_env
from autotts.discover.evolve.fast import FastEnv, eval_results, prepare, run_genome, warm_up
from autotts.discover.evolve.fast.encode import rendered_class
from autotts.discover.evolve.genome import Genome, random_genome, seed_genomes
from autotts.discover.evolve.render import class_name, render
from autotts.evaluate import DEFAULT_BETAS, EvalResult, EvalSettings, Protocol, evaluate
from autotts.procs import fork_map

T = TypeVar("T")


@dataclass(frozen=True)
class CheapSettings:
    """The old cheap evaluation: 5 betas x 10 replicates, the official protocol."""

    betas: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    replicates: int = 10
    protocol: str = "official"
    seed: int = 0
    match: str = "exact"
    kappa_probe: float = 0.0
    budget: float | None = None

    def sweep(self, source: str, name: str, envs: Sequence[str]) -> Any:
        """The sweep of rendered code in the sandbox (fast mode, every episode verified)."""
        from autotts.sandbox import Candidate, Limits, sweep_candidate

        rs = EvalSettings(
            Protocol(self.protocol, self.replicates, self.seed), self.match, self.kappa_probe
        )
        return sweep_candidate(
            Candidate(source, name), list(envs), list(self.betas), settings=rs,
            limits=Limits(timeout_s=600.0),
        )  # fmt: skip


def _timed(fn: Callable[[], T]) -> tuple[float, T]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _genomes(n: int, seed: int = 7) -> list[Genome]:
    rng = random.Random(seed)
    out = seed_genomes()
    while len(out) < n:
        out.append(random_genome(rng))
    return out[:n]


def _in_process(g: Genome, envs: Sequence[Environment], s: CheapSettings) -> list[EvalResult]:
    name = f"bench-{g.key()}"
    register_as(name, rendered_class(g))
    try:
        rs = EvalSettings(Protocol(s.protocol, s.replicates, s.seed), s.match, s.kappa_probe)
        return evaluate(list(envs), ControllerSpec(name), list(s.betas), settings=rs)
    finally:
        _REGISTRY.pop(name, None)


def _fast(g: Genome, fenvs: Sequence[FastEnv], s: CheapSettings) -> list[EvalResult]:
    rs = EvalSettings(Protocol(s.protocol, s.replicates, s.seed), s.match, s.kappa_probe)
    out = []
    for fenv in fenvs:
        runs = run_genome(g, fenv, s.betas, rs.protocol, rs.kappa_probe, rs.budget)
        out += eval_results(g, fenv, s.betas, runs, rs, f"bench-{g.key()}")
    return out


def _same(a: list[EvalResult], b: list[EvalResult]) -> bool:
    def key(r: EvalResult) -> dict[str, Any]:
        return {**r.to_json(), "seconds": 0}

    return [key(r) for r in a] == [key(r) for r in b]


# full fidelity on forked workers: the encoded environments are inherited, not pickled
_FENVS: Sequence[FastEnv] = ()
_FULL = Protocol("official", 100, 0)


def _full_task(task: tuple[dict[str, Any], int]) -> tuple[int, float]:
    genome, env_index = task
    runs = run_genome(Genome.from_json(genome), _FENVS[env_index], DEFAULT_BETAS, _FULL)
    return runs.episodes, runs.seconds


def main() -> None:
    global _FENVS
    default = os.path.join(
        os.environ.get("AUTOTTS_REPLAY_DIR", "../shared/replay"), "*/aime24.json"
    )
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--envs", nargs="+", default=sorted(glob.glob(default)))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--genomes", type=int, default=6, help="genomes timed on all three paths")
    ap.add_argument("--full", type=int, default=12, help="genomes run at full fidelity")
    args = ap.parse_args()
    if not args.envs:
        raise SystemExit(f"no environments (looked for {default}); give --envs")
    paths = [os.path.abspath(p) for p in args.envs]  # the sandbox runs in a scratch dir
    envs = [load_env(Path(p)) for p in paths]
    t_prep, fenvs = _timed(lambda: [prepare(e) for e in envs])
    t_warm, _ = _timed(warm_up)
    print(f"{len(envs)} environments encoded in {t_prep:.2f} s; kernel ready in {t_warm:.2f} s")

    s = CheapSettings()
    per_genome = len(s.betas) * s.replicates * sum(len(e) for e in envs)
    print(f"cheap evaluation: {len(s.betas)} betas x {s.replicates} replicates on every env")
    print(f"  = {per_genome:,} episodes per genome\n")
    print(f"{'genome':14} {'fast ep/s':>11} {'in-proc ep/s':>13} {'sandbox ep/s':>13} "
          f"{'fast/inproc':>11} {'fast/sandbox':>12}  identical")  # fmt: skip
    totals = [0.0, 0.0, 0.0]
    for g in _genomes(args.genomes):
        t_fast, fast = _timed(lambda g=g: _fast(g, fenvs, s))  # type: ignore[misc]
        t_in, local = _timed(lambda g=g: _in_process(g, envs, s))  # type: ignore[misc]
        t_box, done = _timed(lambda g=g: s.sweep(render(g), class_name(g), paths))  # type: ignore[misc]
        if not done.outcome.ok:
            print(f"{g.key():14} sandbox failed: {done.outcome.reason}")
            continue
        for k, t in enumerate((t_fast, t_in, t_box)):
            totals[k] += t
        print(
            f"{g.key():14} {per_genome / t_fast:11,.0f} {per_genome / t_in:13,.0f} "
            f"{per_genome / t_box:13,.0f} {t_in / t_fast:10.1f}x {t_box / t_fast:11.1f}x  "
            f"{'yes' if _same(fast, local) else 'NO'}"
        )
    if totals[0] > 0:
        n = per_genome * args.genomes
        print(
            f"{'all':14} {n / totals[0]:11,.0f} {n / totals[1]:13,.0f} {n / totals[2]:13,.0f} "
            f"{totals[1] / totals[0]:10.1f}x {totals[2] / totals[0]:11.1f}x"
        )
        print(
            f"cheap-evaluation genomes/min, one process: fast {60 * args.genomes / totals[0]:,.0f}"
            f", sandbox {60 * args.genomes / totals[2]:,.1f}"
        )

    full = _genomes(args.full, seed=8)
    tasks = [(g.to_json(), e) for g in full for e in range(len(fenvs))]
    episodes = [0]
    busy = [0.0]

    def done_task(_: int, result: tuple[int, float]) -> None:
        episodes[0] += result[0]
        busy[0] += result[1]

    _FENVS = fenvs
    try:
        t_full, _ = _timed(lambda: fork_map(_full_task, tasks, args.workers, done_task))
    finally:
        _FENVS = ()
    print(
        f"\nfull fidelity: {len(DEFAULT_BETAS)} betas x {_FULL.replicates} replicates x "
        f"{sum(len(e) for e in envs)} questions = {episodes[0] // len(full):,} episodes per genome"
    )
    print(
        f"  {len(full)} genomes in {t_full:.1f} s with {args.workers} workers: "
        f"{60 * len(full) / t_full:.1f} genomes/min, {episodes[0] / t_full:,.0f} episodes/s "
        f"({episodes[0] / busy[0]:,.0f} per busy worker)"
    )


if __name__ == "__main__":
    main()
