"""The ``evolve`` proposer: LLM-free discovery by search over controller mechanisms.

Round r of the discovery loop runs generation r of :class:`~autotts.discover.evolve.search.
Search` (cheap sandboxed evaluations of a dozen genomes) and proposes the rendered code of the
best genomes not yet proposed; the loop then sandboxes, fully measures, scores and selects them
like any other candidate. No model is called and nothing is paid.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...controllers import ControllerSpec
from ...data import load_env
from ...evaluate import Protocol, evaluate
from ..baselines import baseline_points
from ..evolve.fitness import rows_of
from ..evolve.render import class_name, render
from ..evolve.search import CheapSettings, Member, Reference, Search
from .base import Context, NothingToPropose, Proposal


def reference(paths: Sequence[str], s: CheapSettings, workers: int) -> Reference:
    """CMC's cheap sweep and the baselines' points per environment (built-ins: trusted, so
    measured in this process)."""
    envs = [load_env(Path(p)) for p in paths]
    protocol = Protocol(s.protocol, s.replicates, s.seed)
    opts: dict[str, Any] = {
        "protocol": protocol,
        "match": s.match,
        "kappa_probe": s.kappa_probe,
        "budget": s.budget,
    }
    cmc_results = evaluate(envs, ControllerSpec("cmc"), list(s.betas), workers=workers, **opts)
    n = len(s.betas)
    cmc = [
        rows_of([r.to_json() for r in cmc_results[i * n : (i + 1) * n]]) for i in range(len(envs))
    ]
    frontiers: list[list[tuple[float, float]]] = [list(e.points) for e in cmc]
    for name, pts in baseline_points([]).items():
        if name == "cmc":
            continue
        for _, spec in pts:
            for i, r in enumerate(evaluate(envs, spec, None, workers=workers, **opts)):
                frontiers[i].append((r.avg_total_tokens, r.accuracy))
    return cmc, frontiers


def _describe(m: Member) -> str:
    assert m.fit is not None
    f = m.fit
    mech = ", ".join(f"{k}={v}" for k, v in m.genome.choices.items())
    return (
        f"Bred by the evolve proposer (generation {m.generation}, {m.origin}).\n"
        f"Mechanisms: {mech}.\n"
        f"Cheap evaluation on the search split: fitness {f.value:+.2f}; vs CMC at matched "
        f"tokens {f.vs_cmc:+.2f} points; vs the baselines' frontier {f.vs_frontier:+.2f}; "
        f"peak shortfall vs CMC {f.peak_gap:+.2f}; at beta 1 about {f.width:.1f} chains "
        f"× {f.depth:.0f} intervals."
    )


class EvolveProposer:
    name = "evolve"

    def __init__(
        self,
        run_dir: Path,
        search_envs: Sequence[str],
        settings: CheapSettings,
        seed: int,
        per_round: int,
        population: int = 12,
        workers: int = 2,
    ) -> None:
        self.envs = list(search_envs)
        self.settings = settings
        self.per_round = per_round
        self.workers = workers
        self.search = Search(
            self.envs,
            settings,
            seed,
            size=population,
            workers=workers,
            state_path=run_dir / "evolve" / "state.json",
        )
        self._reference: Reference | None = None
        self.reporter: Any = None  # set by the loop for progress bars

    def _ref(self) -> Reference:
        if self._reference is None:
            self._note("evolve: measuring the baselines' cheap sweeps")
            self._reference = reference(self.envs, self.settings, self.workers)
        return self._reference

    def _note(self, text: str) -> None:
        if self.reporter is not None:
            self.reporter.note(text)

    def propose(self, context: Context) -> Proposal:
        rnd = context.round
        while len(self.search.promoted) <= rnd:
            ref = self._ref()
            rep = self.reporter
            gen = len(self.search.promoted)
            if rep is not None:
                rep.phase(f"evolve generation {gen}: cheap evaluations", self.search.size)
            self.search.step(ref, self.per_round, rep.advance if rep is not None else None)
            if rep is not None:
                rep.done()
        keys = self.search.promoted[rnd]
        if context.slot >= len(keys):  # the generation beat nothing promoted so far
            raise NothingToPropose
        m = self.search.member(keys[context.slot])
        return Proposal(render(m.genome), class_name(m.genome), _describe(m))


def cheap_settings(cfg: Any) -> CheapSettings:
    """Cheap-evaluation settings following a discovery config (its protocol, seed, matching,
    probe cost and per-episode budget; at most 10 replicates and 5 betas)."""
    return CheapSettings(
        replicates=min(10, cfg.replicates),
        protocol=cfg.protocol,
        seed=cfg.seed,
        match=cfg.match,
        kappa_probe=cfg.kappa_probe,
        budget=cfg.budget,
        timeout_s=min(cfg.timeout_s, 300.0),
        memory_mb=cfg.memory_mb,
    )
