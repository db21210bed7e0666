"""No drift: the current renderer against an older one, episode by episode.

Renders the same genomes with the renderer of ``--old-ref`` (its ``genome.py``, ``render.py`` and
``solve_code.py``, taken with ``git show`` into a temporary package) and with this tree's, runs
both in process on the same sessions (a synthetic environment and the first questions of a real
replay environment; betas 0, 0.5 and 1; a few replicates; without and with a budget) and
compares every episode: answer, error, truncation, tokens, sequential tokens and the whole
action trace. With ``--template`` the catalogue's unspecialized template runs as a third side.

Genomes: ``--genomes`` seeded random genomes drawn by the old ref's own ``random_genome`` (so
an old ref that lacks newer options still has its whole space covered), the seed genomes and
``controllers/evolved.py``'s ``GENOME``.

    AUTOTTS_REPLAY_DIR=../shared/replay python bench/bench_render_drift.py --old-ref main
"""

from __future__ import annotations

import argparse
import importlib
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from autotts.controllers import Controller
from autotts.controllers import evolved as evolved_module
from autotts.data import Environment, load_env, synthesize
from autotts.discover.evolve.catalogue.template import Plan, Template
from autotts.discover.evolve.genome import Genome, seed_genomes
from autotts.discover.evolve.render import class_name, render
from autotts.evaluate import EvalSettings, Protocol
from autotts.evaluate.runner import new_session, play

ROOT = Path(__file__).resolve().parent.parent
OLD_FILES = ("genome.py", "render.py", "solve_code.py")
BETAS = (0.0, 0.5, 1.0)


def old_package(ref: str, into: Path) -> Any:
    """The evolve modules of ``ref`` as an importable package (its render module)."""
    pkg = into / "old_evolve"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name in OLD_FILES:
        text = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{ref}:src/autotts/discover/evolve/{name}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        (pkg / name).write_text(text)
    sys.path.insert(0, str(into))
    return importlib.import_module("old_evolve.render"), importlib.import_module(
        "old_evolve.genome"
    )


def load(source: str, cls: str, tag: str) -> type[Controller]:
    namespace: dict[str, Any] = {"__name__": f"drift_{tag}"}
    exec(compile(source, f"<{tag}>", "exec"), namespace)  # our own renderers' output
    return namespace[cls]


def template_of(g: Genome, rendered: type[Controller]) -> type[Controller]:
    """The unspecialized template with ``g``'s plan and the rendered controller's schedule."""
    return type("Planned", (Template,), {"plan": Plan(**g.choices), "schedule": rendered.schedule})


def episodes(
    cls: type[Controller], envs: list[tuple[Environment, int]], budgets: list[float | None]
) -> list[tuple[Any, ...]]:
    out = []
    for env, n_questions in envs:
        for budget in budgets:
            rs = EvalSettings(Protocol("official", REPLICATES, 0), budget=budget)
            for q in range(n_questions):
                orders = rs.protocol.orders(q, env.questions[q].n_chains)
                for beta in BETAS:
                    for order in orders:
                        s = new_session(env, q, order, rs)
                        answer, error, truncated = play(s, cls(beta=beta).solve)
                        trace = tuple((a.kind, a.chain, a.tokens) for a in s.trace())
                        out.append((answer, error, truncated, s.tokens, s.sequential_tokens, trace))
    return out


REPLICATES = 3


def main() -> None:
    global REPLICATES
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old-ref", default="main")
    ap.add_argument("--genomes", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--replicates", type=int, default=3)
    ap.add_argument("--questions", type=int, default=3, help="of the real environment")
    ap.add_argument("--real", default="Qwen3-1.7B/aime24.json")
    ap.add_argument("--budget", type=float, default=40000.0)
    ap.add_argument("--template", action="store_true", help="run the template as a third side")
    args = ap.parse_args()
    REPLICATES = args.replicates
    replay = Path(os.environ.get("AUTOTTS_REPLAY_DIR", ROOT.parent / "shared" / "replay"))
    envs = [(synthesize(n_questions=4, n_chains=16, seed=7, model="Drift"), 4)]
    if (replay / args.real).exists():
        envs.append((load_env(replay / args.real), args.questions))
    else:
        print(f"no {replay / args.real}: synthetic environment only")
    budgets: list[float | None] = [None, args.budget]
    with tempfile.TemporaryDirectory() as tmp:
        old_render, old_genome = old_package(args.old_ref, Path(tmp))
        rng = random.Random(args.seed)
        pool = [old_genome.random_genome(rng).to_json() for _ in range(args.genomes)]
        pool += [g.to_json() for g in seed_genomes()]
        pool.append(evolved_module.GENOME)
        start, same, differ = time.perf_counter(), 0, []
        for k, j in enumerate(pool):
            g, og = Genome.from_json(j), old_genome.Genome.from_json(j)
            if og.to_json() != g.to_json():
                differ.append((k, "genome", j))
                continue
            cls = load(render(g), class_name(g), f"new{k}")
            new = episodes(cls, envs, budgets)
            old = episodes(load(old_render.render(og), class_name(g), f"old{k}"), envs, budgets)
            sides = [old]
            if args.template:
                sides.append(episodes(template_of(g, cls), envs, budgets))
            if any(len(side) != len(new) for side in sides):
                differ.append((k, "episode count", j))
                continue
            bad = [a for side in sides for a, b in zip(new, side, strict=True) if a != b]
            if bad:
                differ.append((k, f"{len(bad)} episodes", j))
            else:
                same += 1
        n_episodes = len(new)
    took = time.perf_counter() - start
    print(
        f"old={args.old_ref}: {same} of {len(pool)} genomes identical on every episode "
        f"({n_episodes} episodes each, {'3' if args.template else '2'} sides; {took:.0f} s)"
    )
    for k, what, j in differ:
        print(f"DIFFERS genome #{k}: {what}: {j}")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
