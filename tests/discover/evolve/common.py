"""Helpers shared by the evolve tests: genomes with a given option, and rendered controllers
loaded in this process (test code: exec of our own renderer's output is fine here)."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from autotts.controllers import Controller, ControllerSpec
from autotts.controllers.base import _REGISTRY, register_as
from autotts.data import Environment
from autotts.discover.evolve.genome import (
    MECHANISMS,
    SETTINGS,
    Genome,
    active_settings,
    needs_every_probe,
    random_gene,
    random_genome,
)
from autotts.discover.evolve.render import class_name, render
from autotts.evaluate import Protocol, evaluate

PAIRS = [(m, o) for m, options in MECHANISMS.items() for o in options]
PAIR_IDS = [f"{m}={o}" for m, o in PAIRS]


def genome_with(choices: dict[str, str], rng: random.Random) -> Genome:
    """A random genome with ``choices`` forced; schedules it lacks are drawn from ``rng``."""
    g = random_genome(rng)
    new = {**g.choices, **choices}
    if new.get("probe") == "sparse":  # these imply probe=every (genome.coherent)
        if "retire" not in choices:
            new["retire"] = "none"
        if "vote" not in choices and new["vote"] == "steady":
            new["vote"] = "finished"
    genes = {n: g.genes.get(n) or random_gene(n, rng) for n in active_settings(new)}
    return Genome(new, genes)


def pair_genome(mech: str, option: str) -> Genome:
    return genome_with({mech: option}, random.Random(f"{mech}={option}"))


def check_valid(g: Genome) -> None:
    """Every invariant a genome must satisfy."""
    assert set(g.choices) == set(MECHANISMS)
    for m, o in g.choices.items():
        assert o in MECHANISMS[m], (m, o)
    assert list(g.genes) == active_settings(g.choices)
    assert not (needs_every_probe(g.choices) and g.choices["probe"] == "sparse")
    for n, (v0, v1, p) in g.genes.items():
        s = SETTINGS[n]
        assert s.lo <= v0 <= s.hi and s.lo <= v1 <= s.hi, (n, v0, v1)
        if s.integer:
            assert float(v0).is_integer() and float(v1).is_integer(), (n, v0, v1)
        if s.direction > 0:
            assert v1 >= v0, (n, v0, v1)
        elif s.direction < 0:
            assert v1 <= v0, (n, v0, v1)
        else:
            assert v1 == v0, (n, v0, v1)
        assert 0.25 <= p <= 4.0, (n, p)


def load_rendered(g: Genome) -> type[Controller]:
    """The rendered module of ``g`` executed in a fresh namespace; its controller class."""
    namespace: dict[str, Any] = {"__name__": f"evolved_test_{g.key()}"}
    exec(compile(render(g), f"<evolved {g.key()}>", "exec"), namespace)
    return namespace[class_name(g)]


@contextmanager
def registered_as(name: str, cls: type[Controller]) -> Iterator[str]:
    """``cls`` in the controller registry for the duration (other tests list the registry)."""
    register_as(name, cls)
    try:
        yield name
    finally:
        _REGISTRY.pop(name, None)


def evaluate_in_process(
    g: Genome,
    envs: Sequence[Environment],
    betas: Sequence[float],
    replicates: int,
    kappa_probe: float = 0.0,
    match: str = "exact",
) -> list[Any]:
    """``EvalResult``s of the rendered code of ``g`` (env-major, then beta)."""
    with registered_as(f"evolve-test-{g.key()}", load_rendered(g)) as name:
        return evaluate(
            list(envs),
            ControllerSpec(name),
            list(betas),
            protocol=Protocol("official", replicates, 0),
            match=match,
            kappa_probe=kappa_probe,
        )
