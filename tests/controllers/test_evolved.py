"""The shipped ``evolved`` controller is what the evolve proposer rendered from its genome: the
module's ``GENOME`` rendered again (as a candidate) behaves exactly like the built-in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from autotts.controllers import ControllerSpec, registered
from autotts.controllers import evolved as shipped
from autotts.data import synthesize
from autotts.discover.contract import contract_problems
from autotts.discover.evolve.genome import Genome
from autotts.discover.evolve.render import class_name, render
from autotts.evaluate import Protocol, evaluate

from ..discover.evolve.common import registered_as

BETAS = [0.0, 0.25, 0.5, 0.75, 1.0]


@pytest.fixture(scope="module")
def env() -> Any:
    return synthesize(n_questions=10, n_chains=32, seed=11, model="Evolved")


def test_registered_with_one_knob() -> None:
    cls = registered()["evolved"]
    assert cls is shipped.Evolved and cls.uses_beta and not cls.defaults
    assert cls.__doc__ or shipped.__doc__


def test_schedule_is_the_genomes() -> None:
    g = Genome.from_json(shipped.GENOME)
    for beta in (0.0, 0.3, 0.5, 1.0):
        mine, want = shipped.Evolved.schedule(beta), g.schedule(beta)
        assert mine.keys() == want.keys()
        for name, v in mine.items():
            scale = 1000 if name == "token_cap" else 1
            assert v == pytest.approx(want[name] * scale, abs=0.5 if scale > 1 else 1e-9)


def test_behaves_exactly_as_its_rendered_genome(env: Any) -> None:
    g = Genome.from_json(shipped.GENOME)
    namespace: dict[str, Any] = {"__name__": "evolved_rendered"}
    exec(compile(render(g), "<rendered>", "exec"), namespace)
    protocol = Protocol("official", 3, 0)
    with registered_as("evolved_rendered_test", namespace[class_name(g)]) as name:
        theirs = evaluate([env], ControllerSpec(name), BETAS, protocol=protocol)
    ours = evaluate([env], ControllerSpec("evolved"), BETAS, protocol=protocol)
    for a, b in zip(ours, theirs, strict=True):
        assert a.errors == 0 and b.errors == 0
        assert (a.accuracy, a.avg_total_tokens, a.avg_sequential_tokens) == (
            b.accuracy,
            b.avg_total_tokens,
            b.avg_sequential_tokens,
        )


def test_its_knob_keeps_the_contract_on_its_search_split(replay: Path) -> None:
    """The full protocol on the four aime24 environments it was found on (played by the
    genome interpreter, which is proven identical to the rendered code): tokens rise strictly
    with beta, by at most 2x a step."""
    from autotts.data import load_env
    from autotts.discover.evolve.scoring import FitnessSettings, prepare, tables_of

    envs = [load_env(p) for p in sorted(replay.glob("*/aime24.json"))]
    assert envs
    s = FitnessSettings()  # 11 betas, 100 replicates, the official protocol
    tables = tables_of(Genome.from_json(shipped.GENOME), prepare(envs, s), s)
    sweeps = {
        e.meta.model: [(b, tok) for b, tok, _, _ in t.rows()]
        for e, t in zip(envs, tables, strict=True)
    }
    assert not contract_problems(sweeps), sweeps
