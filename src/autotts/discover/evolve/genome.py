"""The evolve proposer's controller space: a genome is a choice of mechanisms plus one beta
schedule per numeric setting those mechanisms use.

The mechanisms and their options (what each does, the numeric settings it reads, its code)
are the records of :mod:`.catalogue`; this module builds the space of genomes over them.

Every numeric setting follows ``v0 + (v1 - v0) * beta ** p`` (rounded for integers) with the
direction fixed by what the setting does to spending: ``v1 >= v0`` when a larger value spends
more (more chains, more patience, a higher confidence bar), ``v1 <= v0`` when it spends less (a
faster EMA, more slack, rarer probes). So every genome satisfies the beta contract's
monotonicity by construction, up to interactions between settings.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from typing import Any

from .catalogue import ALWAYS, MECHANISMS, OPTIONS, SETTINGS
from .catalogue import Setting as Setting  # re-exported

P_RANGE = (0.25, 4.0)  # exponent of beta in a schedule

# numeric settings each mechanism option needs (beyond the three every genome has)
_ALWAYS = ALWAYS
_NEEDS: dict[tuple[str, str], tuple[str, ...]] = {
    (o.mechanism, o.name): o.settings for o in OPTIONS if o.settings
}

Gene = tuple[float, float, float]  # (value at beta 0, value at beta 1, exponent p)


def needs_every_probe(choices: dict[str, str]) -> bool:
    """Whether the choices count how long each chain's answer has held (``retire=settled`` or
    ``agreeing``, ``vote=steady``), which is judged on every interval's answer."""
    return choices.get("retire") in ("settled", "agreeing") or choices.get("vote") == "steady"


def coherent(choices: dict[str, str]) -> dict[str, str]:
    """``choices`` with the one combination rule applied: counting how long an answer held
    (:func:`needs_every_probe`) implies ``probe=every`` (with sparse probes the rounding of
    steps to probes would let the budget fall as probes get more frequent with beta)."""
    if needs_every_probe(choices) and choices.get("probe") == "sparse":
        return {**choices, "probe": "every"}
    return choices


def stop_rules(choices: dict[str, str]) -> list[str]:
    """The distinct stop rules a genome uses, in order."""
    rules = [choices["stop"]]
    if choices["stop2"] not in ("none", choices["stop"]):
        rules.append(choices["stop2"])
    return rules


def active_settings(choices: dict[str, str]) -> list[str]:
    """The numeric settings the chosen mechanisms use, in the catalogue's order."""
    need = set(_ALWAYS)
    for mech, option in choices.items():
        if mech == "stop2":
            continue
        need.update(_NEEDS.get((mech, option), ()))
    for rule in stop_rules(choices):
        need.update(_NEEDS.get(("stop", rule), ()))
    return [name for name in SETTINGS if name in need]


def _tidy(name: str, v: float) -> float:
    s = SETTINGS[name]
    v = min(s.hi, max(s.lo, float(v)))
    return float(round(v)) if s.integer else round(v, 4)


def make_gene(name: str, x: float, y: float, p: float) -> Gene:
    """A schedule oriented by the setting's direction: of the two values ``x`` and ``y`` the
    one that spends less is taken at beta 0."""
    s = SETTINGS[name]
    x, y = _tidy(name, x), _tidy(name, y)
    if s.direction == 0:
        return (x, x, 1.0)
    v0, v1 = (min(x, y), max(x, y)) if s.direction > 0 else (max(x, y), min(x, y))
    return (v0, v1, round(min(P_RANGE[1], max(P_RANGE[0], float(p))), 2))


def value(name: str, gene: Gene, beta: float) -> float:
    """A setting's value at ``beta`` (what the rendered ``schedule`` computes)."""
    v0, v1, p = gene
    b = min(1.0, max(0.0, beta))
    v = min(max(v0 + (v1 - v0) * b**p, min(v0, v1)), max(v0, v1))  # no float overshoot
    return round(v) if SETTINGS[name].integer else v


@dataclass
class Genome:
    choices: dict[str, str]
    genes: dict[str, Gene] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.choices = coherent(self.choices)
        for mech, options in MECHANISMS.items():
            if self.choices.get(mech) not in options:
                got = self.choices.get(mech)
                raise ValueError(f"genome: {mech}={got!r} is not one of {options}")
        missing = [n for n in active_settings(self.choices) if n not in self.genes]
        if missing:
            raise ValueError(f"genome: no schedule for {', '.join(missing)}")
        self.genes = {n: make_gene(n, *self.genes[n]) for n in active_settings(self.choices)}

    def to_json(self) -> dict[str, Any]:
        return {"choices": dict(self.choices), "genes": {k: list(v) for k, v in self.genes.items()}}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Genome:
        return cls(dict(d["choices"]), {k: tuple(v) for k, v in d["genes"].items()})

    def key(self) -> str:
        """A short content hash: equal genomes render equal code."""
        text = json.dumps(self.to_json(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def schedule(self, beta: float) -> dict[str, float]:
        return {n: value(n, g, beta) for n, g in self.genes.items()}

    @property
    def complexity(self) -> int:
        """Mechanisms that are not the simplest option, plus numeric settings."""
        plain = sum(1 for m, o in self.choices.items() if o != MECHANISMS[m][0])
        return plain + len(self.genes)

    def params(self) -> dict[str, Any]:
        """Flat optuna parameters (what :func:`suggest` asks for) that rebuild this genome."""
        out: dict[str, Any] = dict(self.choices)
        for n, (v0, v1, p) in self.genes.items():
            if SETTINGS[n].integer:
                out[f"{n}.x"], out[f"{n}.y"] = int(v0), int(v1)
            else:
                out[f"{n}.x"], out[f"{n}.y"] = v0, v1
            out[f"{n}.p"] = p
        return out


def from_params(params: dict[str, Any]) -> Genome:
    """The genome of flat parameters (what :meth:`Genome.params` and :func:`suggest` give)."""
    choices = coherent({m: params[m] for m in MECHANISMS})
    genes = {
        n: (params[f"{n}.x"], params[f"{n}.y"], params[f"{n}.p"]) for n in active_settings(choices)
    }
    return Genome(choices, genes)


def random_gene(name: str, rng: random.Random) -> Gene:
    s = SETTINGS[name]
    x, y = rng.uniform(s.lo, s.hi), rng.uniform(s.lo, s.hi)
    p = 2 ** rng.uniform(-2, 2)
    return make_gene(name, x, y, p)


def random_genome(rng: random.Random) -> Genome:
    choices = {m: rng.choice(options) for m, options in MECHANISMS.items()}
    return Genome(choices, {n: random_gene(n, rng) for n in active_settings(choices)})


def mutate(g: Genome, rng: random.Random, rate: float = 0.2) -> Genome:
    """Change one or two mechanisms (with probability ``rate``, then ``rate / 2``) and nudge a
    few schedules: values by a Gaussian step of 5 % or 15 % of their range (fine-tuning or
    exploring, half the time each), exponents by up to 2x."""
    choices = dict(g.choices)
    genes = dict(g.genes)
    while rng.random() < rate:
        mech = rng.choice(list(MECHANISMS))
        choices[mech] = rng.choice(MECHANISMS[mech])
        rate /= 2
    active = active_settings(choices)
    for n in active:
        if n not in genes:
            genes[n] = random_gene(n, rng)
    scale = rng.choice((0.05, 0.15))  # fine-tuning or exploring
    for n in rng.sample(active, k=min(len(active), rng.randint(1, 3))):
        s = SETTINGS[n]
        step = scale * (s.hi - s.lo)
        v0, v1, p = genes[n]
        genes[n] = make_gene(
            n, v0 + rng.gauss(0, step), v1 + rng.gauss(0, step), p * 2 ** rng.uniform(-1, 1)
        )
    return Genome(choices, {n: genes[n] for n in active})


def crossover(a: Genome, b: Genome, rng: random.Random) -> Genome:
    """Each mechanism from either parent; each schedule from a parent that has it."""
    choices = {m: (a if rng.random() < 0.5 else b).choices[m] for m in MECHANISMS}
    genes = {}
    for n in active_settings(choices):
        have = [x.genes[n] for x in (a, b) if n in x.genes]
        genes[n] = rng.choice(have) if have else random_gene(n, rng)
    return Genome(choices, genes)


def suggest(trial: Any) -> Genome:
    """Define-by-run for optuna: the mechanisms, then the schedules they need."""
    choices = {m: trial.suggest_categorical(m, list(opts)) for m, opts in MECHANISMS.items()}
    choices = coherent(choices)
    genes = {}
    for n in active_settings(choices):
        s = SETTINGS[n]
        if s.integer:
            x = trial.suggest_int(f"{n}.x", int(s.lo), int(s.hi))
            y = trial.suggest_int(f"{n}.y", int(s.lo), int(s.hi))
        else:
            x = trial.suggest_float(f"{n}.x", s.lo, s.hi)
            y = trial.suggest_float(f"{n}.y", s.lo, s.hi)
        p = trial.suggest_float(f"{n}.p", *P_RANGE, log=True)
        genes[n] = (x, y, p)
    return Genome(choices, genes)


def seed_genomes() -> list[Genome]:
    """Starting points shaped like the reference controllers (CMC, SC, Parallel-Probe, ASC),
    then CMC and SC with a length-weighted vote."""
    cmc = Genome(
        {
            "widen": "trend",
            "depth": "aligned",
            "probe": "every",
            "prune": "abandon",
            "retire": "none",
            "trim": "none",
            "stop": "ema",
            "stop2": "none",
            "join": "any",
            "cap": "none",
            "vote": "finished",
            "err": "count",
        },
        {
            "n_init": (2, 8, 1),
            "max_chains": (4, 64, 1),
            "warm_up": (2, 10, 1),
            "max_steps": (160, 160, 1),
            "widen_burst": (1, 4, 1),
            "trend": (0.01, 0.01, 1),
            "alpha": (0.7, 0.3, 1),
            "window": (2, 8, 1),
            "conf_threshold": (0.85, 0.97, 1),
            "slack": (0.04, 0.01, 1),
            "min_complete": (2, 5, 1),
            "burst": (1, 3, 1),
            "patience": (3, 12, 1),
            "floor": (2, 2, 1),
        },
    )
    sc = Genome(
        {**cmc.choices, "widen": "none", "depth": "uniform", "prune": "none", "stop": "conf"},
        {
            "n_init": (4, 16, 1),
            "warm_up": (0, 0, 1),
            "max_steps": (160, 160, 1),
            "conf_threshold": (0.999, 0.999, 1),
            "min_complete": (4, 10, 1),
        },
    )
    probe = Genome(
        {**sc.choices, "prune": "off_majority", "stop": "stable"},
        {
            "n_init": (4, 16, 1),
            "warm_up": (4, 12, 1),
            "max_steps": (40, 160, 1),
            "patience": (4, 10, 1),
            "stable_steps": (4, 16, 1),
        },
    )
    asc = Genome(
        {**cmc.choices, "depth": "deepest", "prune": "none", "stop": "conf", "widen": "plateau"},
        {
            "n_init": (2, 4, 1),
            "max_chains": (8, 64, 1),
            "warm_up": (0, 4, 1),
            "max_steps": (160, 160, 1),
            "widen_burst": (1, 4, 1),
            "plateau_steps": (4, 1, 1),
            "conf_threshold": (0.8, 0.98, 1),
            "min_complete": (2, 6, 1),
            "focus": (2, 8, 1),
        },
    )
    # the first two again, with finished answers weighted by (shortest length / length): on
    # the aime24 chains a length-weighted vote of 4-8 chains is right 2 points more often
    shorter = {"gamma": (1.0, 1.0, 1)}
    cmc_short = Genome({**cmc.choices, "vote": "shorter"}, {**cmc.genes, **shorter})
    sc_short = Genome({**sc.choices, "vote": "shorter"}, {**sc.genes, **shorter})
    return [cmc, sc, probe, asc, cmc_short, sc_short]
