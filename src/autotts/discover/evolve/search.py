"""The search behind the evolve proposer: generations of genomes, every one scored exactly.

Each generation breeds ``size`` genomes — a third asked from optuna's TPE sampler
(define-by-run over the mechanisms and their schedules), the rest by mutation and crossover of
elites from a MAP-Elites archive (cells: width x depth at beta 1), all recorded in the same optuna
study so TPE learns from every evaluation. Every genome is scored at full fidelity by the trusted
interpreter (:mod:`.scoring`) and ranked by :func:`.fitness.fitness` on the *breeding* fold of
the search questions; breeding never sees the *validation* fold (:mod:`.tables`).

A discovery round runs :data:`GENERATIONS_PER_ROUND` generations, then promotes at most one
genome to the loop's full measurement in the sandbox: of the :data:`SHORTLIST` best by breeding
fitness not promoted before, the one with the best validation fitness — if that beats every
genome promoted before by :data:`MARGIN` on the validation fold. The first generation starts
from genomes shaped like the reference controllers.

Everything is a function of the run seed, the generation number and earlier evaluations, so a
given seed and number of rounds gives the same candidates on any machine; the state is kept in
``state.json`` after every generation, so a resumed run continues where it stopped.
"""

from __future__ import annotations

import json
import math
import random
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...procs import Workers
from .fitness import Fitness, SearchReference, fitness
from .genome import Genome, crossover, mutate, random_genome, seed_genomes, suggest
from .scoring import FitnessSettings, score_all
from .tables import Table

MARGIN = 0.05  # validation fitness a genome must add to the best promoted one to be promoted
GENERATIONS_PER_ROUND = 24
SHORTLIST = 4  # best genomes by breeding fitness whose validation fitness is looked at


@dataclass
class Member:
    """One evaluated genome."""

    genome: Genome
    fit: Fitness | None  # None: the sandbox refused or failed it
    reason: str
    origin: str  # "seed", "tpe", "mutant of KEY", "child of KEY × KEY"
    generation: int

    @property
    def score(self) -> float:
        """Breeding-fold fitness (what breeding ranks by)."""
        return self.fit.value if self.fit is not None else -math.inf

    @property
    def validation(self) -> float:
        """Validation-fold fitness (what promotion and selection rank by)."""
        return self.fit.validation if self.fit is not None else -math.inf

    def cell(self) -> tuple[int, int]:
        assert self.fit is not None
        w = min(6, max(0, int(math.log2(max(self.fit.width, 1.0)))))
        d = min(6, max(0, int(math.log2(max(self.fit.depth, 1.0)))))
        return w, d

    def to_json(self) -> dict[str, Any]:
        return {
            "genome": self.genome.to_json(),
            "fit": self.fit.to_json() if self.fit else None,
            "reason": self.reason,
            "origin": self.origin,
            "generation": self.generation,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Member:
        fit = Fitness.from_json(d["fit"]) if d["fit"] else None
        return cls(Genome.from_json(d["genome"]), fit, d["reason"], d["origin"], d["generation"])


@dataclass
class Search:
    """Generations over the search split (``fenvs``: the environments encoded for the
    interpreter, :func:`.scoring.prepare`)."""

    fenvs: list[Any]
    settings: FitnessSettings
    seed: int
    size: int = 16
    workers: Workers = 2
    state_path: Path | None = None
    members: list[Member] = field(default_factory=list)
    promoted: list[list[str]] = field(default_factory=list)  # genome keys per round
    generations: int = 0  # generations evaluated so far
    round_ends: list[int] = field(default_factory=list)  # generations done when each round closed

    def __post_init__(self) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        self.study = optuna.create_study(direction="maximize")
        if self.state_path is not None and self.state_path.exists():
            self._load()

    # ------------------------------------------------------------------ state
    def _load(self) -> None:
        assert self.state_path is not None
        d = json.loads(self.state_path.read_text())
        self.members = [Member.from_json(m) for m in d["members"]]
        self.promoted = [list(keys) for keys in d["promoted"]]
        self.generations = int(d.get("generations", 0))
        self.round_ends = [int(n) for n in d.get("round_ends", ())]
        for m in self.members:
            self._tell(m)

    def _save(self) -> None:
        if self.state_path is None:
            return
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "members": [m.to_json() for m in self.members],
                    "promoted": self.promoted,
                    "generations": self.generations,
                    "round_ends": self.round_ends,
                }
            )
        )
        tmp.replace(self.state_path)

    def _tell(self, m: Member) -> None:
        """Record ``m`` in the optuna study (a failed genome as the worst value seen)."""
        rec = _Recorder(m.genome.params())
        suggest(rec)
        value = m.score if m.fit is not None else -20.0
        trial = self._optuna.trial.create_trial(
            params=rec.params, distributions=rec.distributions, value=value
        )
        self.study.add_trial(trial)

    # ------------------------------------------------------------------ breeding
    def archive(self) -> dict[tuple[int, int], Member]:
        """MAP-Elites: the best member per (width, depth) cell; ties go to the earlier one."""
        cells: dict[tuple[int, int], Member] = {}
        for m in self.members:
            if m.fit is None or not m.fit.contract_ok:
                continue
            c = m.cell()
            if c not in cells or m.score > cells[c].score:
                cells[c] = m
        return cells

    def _pick(self, elites: list[Member], rng: random.Random) -> Member:
        """A parent: half the time one of the five best elites, else a tournament of three
        over all cells (the archive keeps other widths and depths in play)."""
        if rng.random() < 0.5:
            return rng.choice(elites[:5])
        return max(rng.sample(elites, k=min(3, len(elites))), key=lambda m: m.score)

    def breed(self, generation: int) -> list[tuple[Genome, str]]:
        """The genomes of ``generation``: deterministic in the seed and the members so far."""
        rng = random.Random(self.seed * 1_000_003 + generation)
        seen = {m.genome.key() for m in self.members}
        out: list[tuple[Genome, str]] = []

        def add(g: Genome, origin: str) -> None:
            if g.key() not in seen:
                seen.add(g.key())
                out.append((g, origin))

        if generation == 0:
            for g in seed_genomes():
                add(g, "seed")
        elites = sorted(self.archive().values(), key=lambda m: (-m.score, m.genome.key()))
        n_tpe = (self.size - len(out)) // 3 if elites else self.size - len(out)
        asked = []
        tries = 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # optuna flags multivariate/group as experimental
            self.study.sampler = self._optuna.samplers.TPESampler(
                seed=rng.randrange(2**31),
                n_startup_trials=self.size,
                multivariate=True,
                group=True,
            )
            while n_tpe > 0 and tries < 4 * self.size:
                tries += 1
                trial = self.study.ask()
                asked.append(trial)
                before = len(out)
                add(suggest(trial), "tpe")
                if len(out) > before:
                    n_tpe -= 1
        for trial in asked:  # their values arrive through enqueued copies in _tell
            self.study.tell(trial, state=self._optuna.trial.TrialState.FAIL)
        tries = 0
        while len(out) < self.size and tries < 10 * self.size:
            tries += 1
            if not elites:
                add(random_genome(rng), "random")
            elif rng.random() < 0.5 and len(elites) > 1:
                a, b = self._pick(elites, rng), self._pick(elites, rng)
                add(
                    mutate(crossover(a.genome, b.genome, rng), rng, 0.1),
                    f"child of {a.genome.key()} x {b.genome.key()}",
                )
            else:
                a = self._pick(elites, rng)
                add(mutate(a.genome, rng), f"mutant of {a.genome.key()}")
        return out

    # ------------------------------------------------------------------ evaluation
    def evaluate(
        self,
        genomes: Sequence[tuple[Genome, str]],
        generation: int,
        reference: SearchReference,
        on_done: Callable[[], None] | None = None,
    ) -> list[Member]:
        """Score ``genomes`` with the interpreter, ``workers`` at a time; results in order."""
        tables: dict[int, list[Table]] = {}

        def done(n: int, result: list[Table]) -> None:
            tables[n] = result
            if on_done is not None:
                on_done()

        score_all([g for g, _ in genomes], self.fenvs, self.settings, self.workers, done)
        return [
            Member(g, fitness(tables[n], reference, g.complexity), "", origin, generation)
            for n, (g, origin) in enumerate(genomes)
        ]

    def step(self, reference: SearchReference, on_done: Callable[[], None] | None = None) -> None:
        """Breed, score and record the next generation."""
        gen = self.generations
        for m in self.evaluate(self.breed(gen), gen, reference, on_done):
            self.members.append(m)
            self._tell(m)
        self.generations += 1
        self._save()

    def promote(self) -> list[Member]:
        """Close a round: the genome it promotes (none or one, see the module docstring)."""
        done = {k for keys in self.promoted for k in keys}
        bar = max((self.validation_of(k) for k in done), default=-math.inf)
        shortlist = sorted(
            (
                m
                for m in self.members
                if m.fit is not None and m.fit.contract_ok and m.genome.key() not in done
            ),
            key=lambda m: (-m.score, m.generation, m.genome.key()),
        )[:SHORTLIST]
        best = max(shortlist, key=lambda m: m.validation, default=None)
        chosen = [best] if best is not None and best.validation >= bar + MARGIN else []
        self.promoted.append([m.genome.key() for m in chosen])
        self.round_ends.append(self.generations)
        self._save()
        return chosen

    def validation_of(self, key: str) -> float:
        return self.member(key).validation

    def member(self, key: str) -> Member:
        return next(m for m in self.members if m.genome.key() == key)


class _Recorder:
    """A stand-in for an optuna trial that answers :func:`genome.suggest` with a genome's own
    parameters and records the distributions they come from."""

    def __init__(self, params: dict[str, Any]) -> None:
        import optuna.distributions as d

        self._d = d
        self._given = params
        self.params: dict[str, Any] = {}
        self.distributions: dict[str, Any] = {}

    def _take(self, name: str, dist: Any) -> Any:
        self.params[name] = self._given[name]
        self.distributions[name] = dist
        return self._given[name]

    def suggest_categorical(self, name: str, choices: list[str]) -> Any:
        return self._take(name, self._d.CategoricalDistribution(choices))

    def suggest_int(self, name: str, low: int, high: int) -> Any:
        return self._take(name, self._d.IntDistribution(low, high))

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> Any:
        return self._take(name, self._d.FloatDistribution(low, high, log=log))
