"""The loop holds the sandbox's measurement of an evolve candidate's code to the interpreter's
figures for its genome: equal figures pass, any difference is named."""

from __future__ import annotations

from pathlib import Path

from autotts.data import synthesize, write_env
from autotts.discover.evolve.genome import seed_genomes
from autotts.discover.evolve.render import class_name
from autotts.discover.evolve.scoring import FitnessSettings
from autotts.discover.evolve.search import Member
from autotts.discover.proposers.evolve import EvolveProposer

from .common import evaluate_in_process


def test_cross_check_passes_equal_figures_and_names_a_difference(tmp_path: Path) -> None:
    env = synthesize(n_questions=6, n_chains=32, seed=4, model="Cross")
    path = tmp_path / "env.json"
    write_env(env, path)
    s = FitnessSettings(betas=(0.0, 0.5, 1.0), replicates=3)
    prop = EvolveProposer(tmp_path / "run", [str(path)], s, seed=0, population=2, workers=1)
    g = seed_genomes()[0]
    prop.search.members.append(Member(g, None, "", "seed", 0))
    # the sandbox's records, as the loop stores them: here from the rendered code in process
    results = evaluate_in_process(g, [env], list(s.betas), s.replicates)
    sweep = {"Cross/synth": [{"beta": r.beta, "result": r.to_json()} for r in results]}

    class Row:
        class_name = class_name(g)

    assert prop.cross_check(Row(), sweep) is None  # type: ignore[arg-type]
    sweep["Cross/synth"][1]["result"] = {**sweep["Cross/synth"][1]["result"], "accuracy": 1.0}
    problem = prop.cross_check(Row(), sweep)  # type: ignore[arg-type]
    assert problem is not None and problem.startswith("Cross/synth, beta 0.5: the sandbox")
