"""The ``evolve`` proposer: LLM-free discovery by search over controller mechanisms.

Round r of the discovery loop runs a fixed number of generations (``--generations``) of
:class:`~autotts.discover.evolve.search.Search` — every genome scored exactly, at the run's
full protocol, by the trusted interpreter — and proposes the rendered code of the genome the
round promotes (if any). The loop then sandboxes, measures, scores and selects it like any
other candidate, ranking evolve's candidates by their validation-fold fitness, and holds the
sandbox's figures to the interpreter's (:meth:`EvolveProposer.cross_check`). No model is called
and nothing is paid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ...data import load_env
from ...procs import Workers
from ..evolve.fitness import EnvReference, SearchReference
from ..evolve.render import class_name, render
from ..evolve.scoring import FitnessSettings, prepare
from ..evolve.search import GENERATIONS_PER_ROUND, Member, Search
from ..evolve.tables import Table
from ..history import CandidateRow
from .base import Context, NothingToPropose, Proposal


def search_reference(
    baselines: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]],
    labels: Sequence[str],
    n_questions: Sequence[int],
) -> SearchReference:
    """The baselines' tables on both folds of every search environment, from the loop's
    baseline sweeps (``name -> env label -> records``; trusted, measured in process)."""
    envs = []
    for label in labels:
        per_name: dict[str, list[tuple[str, Table]]] = {}
        for name, sweep in baselines.items():
            for rec in sweep[label]:
                per_name.setdefault(name, []).append(
                    (str(rec.get("label", "")), Table.from_records([rec]))
                )
        envs.append(EnvReference(per_name))
    return SearchReference.of(envs, n_questions)


def _describe(m: Member) -> str:
    assert m.fit is not None
    f = m.fit
    mech = ", ".join(f"{k}={v}" for k, v in m.genome.choices.items())
    return (
        f"Bred by the evolve proposer (generation {m.generation}, {m.origin}).\n"
        f"Mechanisms: {mech}.\n"
        f"Scored exactly at full fidelity by the interpreter: fitness {f.value:+.2f} on the "
        f"breeding fold, {f.validation:+.2f} on the validation fold; on the breeding fold, "
        f"vs the baselines' frontier {f.vs_frontier:+.2f} points and vs CMC "
        f"{f.vs_cmc:+.2f} at matched tokens, {100 * f.saved:.0f} % of SC@64's tokens saved "
        f"at its accuracy; at beta 1 about {f.width:.1f} chains x {f.depth:.0f} intervals."
    )


class EvolveProposer:
    name = "evolve"

    def __init__(
        self,
        run_dir: Path,
        search_envs: Sequence[str],
        settings: FitnessSettings,
        seed: int,
        per_round: int = 1,
        population: int = 16,
        generations: int = GENERATIONS_PER_ROUND,
        workers: Workers = 2,
    ) -> None:
        self.generations = generations
        self.envs = list(search_envs)
        self.settings = settings
        self.per_round = per_round
        self.workers = workers
        self.run_dir = run_dir
        self.seed = seed
        self.population = population
        self._search: Search | None = None
        self._reference: SearchReference | None = None
        self.reporter: Any = None  # set by the loop for progress bars

    @property
    def search(self) -> Search:
        if self._search is None:
            self._note("evolve: encoding the search environments for the interpreter")
            envs = [load_env(Path(p)) for p in self.envs]
            self._search = Search(
                prepare(envs, self.settings),
                self.settings,
                self.seed,
                size=self.population,
                workers=self.workers,
                state_path=self.run_dir / "evolve" / "state.json",
            )
            self._n_questions = [len(e.questions) for e in envs]
        return self._search

    def _note(self, text: str) -> None:
        if self.reporter is not None:
            self.reporter.note(text)

    def propose(self, context: Context) -> Proposal:
        rnd = context.round
        search = self.search
        if self._reference is None:
            self._reference = search_reference(
                context.baselines, context.search_labels, self._n_questions
            )
        rep = self.reporter
        while len(search.promoted) <= rnd:
            while search.generations < (len(search.promoted) + 1) * self.generations:
                if rep is not None:
                    rep.phase(f"evolve generation {search.generations}", search.size)
                search.step(self._reference, rep.advance if rep is not None else None)
                if rep is not None:
                    rep.done()
            search.promote()
        keys = search.promoted[rnd]
        if context.slot >= len(keys):  # the round beat nothing promoted so far
            raise NothingToPropose
        m = search.member(keys[context.slot])
        return Proposal(render(m.genome), class_name(m.genome), _describe(m))

    def cross_check(self, cand: CandidateRow, sweep: Mapping[str, Sequence[Any]]) -> str | None:
        """Why the loop's sandboxed measurement of ``cand``'s rendered code disagrees with the
        interpreter's figures for its genome (None when every (environment, beta) gives the
        same accuracy and tokens). They are proven identical by the tests; this holds them to
        it on every run, for the candidates that matter."""
        from ..evolve.scoring import tables_of

        m = next((m for m in self.search.members if class_name(m.genome) == cand.class_name), None)
        if m is None:
            return None
        search = self.search
        for label, table in zip(
            sweep, tables_of(m.genome, search.fenvs, self.settings), strict=True
        ):
            mine = {round(b, 9): row for b, *row in table.rows()}
            for rec in sweep[label]:
                r = rec["result"]
                tokens, _, acc = mine[round(float(rec["beta"]), 9)]
                if abs(tokens - r["avg_total_tokens"]) > 1e-3 or abs(acc - r["accuracy"]) > 1e-3:
                    return (
                        f"{label}, beta {rec['beta']:g}: the sandbox measured "
                        f"{r['accuracy']:.4f} % at {r['avg_total_tokens']:.1f} tokens, the "
                        f"interpreter {acc:.4f} % at {tokens:.1f}"
                    )
        return None

    def selection_order(self, candidates: Sequence[CandidateRow]) -> list[CandidateRow]:
        """Measured candidates best first by validation-fold fitness (what the search was
        never bred on); candidates it did not promote come last, in the loop's order."""
        fit = {class_name(m.genome): m.validation for m in self.search.members}
        return sorted(candidates, key=lambda c: -fit.get(c.class_name, -1e9))


def fitness_settings(cfg: Any) -> FitnessSettings:
    """Scoring settings following a discovery config: its betas, protocol, replicates, seed,
    matching, probe cost and per-episode budget (full fidelity)."""
    return FitnessSettings(
        betas=tuple(float(b) for b in cfg.betas),
        replicates=cfg.replicates,
        protocol=cfg.protocol,
        seed=cfg.seed,
        match=cfg.match,
        kappa_probe=cfg.kappa_probe,
        budget=cfg.budget,
    )
