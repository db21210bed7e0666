"""Genome → code → sandbox: every option renders policy-clean code that runs in the sandbox
without episode errors, and the sandbox does not change what it does (the same code evaluated
in this process gives exactly the same accuracy and tokens)."""

from __future__ import annotations

import ast
import json
import random
from pathlib import Path
from typing import Any

import pytest

from autotts.controllers import Controller
from autotts.data import load_env, synthesize, write_env
from autotts.discover.evolve import catalogue
from autotts.discover.evolve.genome import (
    MECHANISMS,
    Genome,
    active_settings,
    seed_genomes,
    stop_rules,
)
from autotts.discover.evolve.render import class_name, render
from autotts.env import Session
from autotts.evaluate import Protocol
from autotts.sandbox import Candidate, Limits, check_source, sweep_candidate

from .common import PAIR_IDS, PAIRS, evaluate_in_process, genome_with, load_rendered, pair_genome

BETAS = [0.0, 0.5, 1.0]
REPLICATES = 2
LIMITS = Limits(timeout_s=60.0, memory_mb=2048)


@pytest.fixture(scope="module")
def env_path(tmp_path_factory) -> str:
    p = tmp_path_factory.mktemp("evolve-render") / "tiny.json"
    write_env(synthesize(n_questions=4, n_chains=16, seed=7, model="Tiny"), p)
    return str(p)


def sandbox_results(g: Genome, path: str, kappa_probe: float = 0.0) -> list[dict]:
    done = sweep_candidate(
        Candidate(render(g), class_name(g)),
        [path],
        BETAS,
        protocol=Protocol(replicates=REPLICATES),
        kappa_probe=kappa_probe,
        limits=LIMITS,
    )
    out = done.outcome
    assert out.ok and out.data is not None, f"{out.status}: {out.reason}\n{out.log}"
    return [r.to_json() for r in done.results]


def assert_same_in_process(g: Genome, path: str, results: list[dict], kappa: float) -> None:
    local = evaluate_in_process(g, [load_env(Path(path))], BETAS, REPLICATES, kappa)
    assert len(local) == len(results) == len(BETAS)
    for mine, boxed in zip(local, results, strict=True):
        assert mine.errors == 0, mine.error_examples
        assert (mine.accuracy, mine.avg_total_tokens, mine.avg_sequential_tokens) == (
            boxed["accuracy"],
            boxed["avg_total_tokens"],
            boxed["avg_sequential_tokens"],
        )
        assert mine.truncated == boxed["truncated"]
        assert mine.episodes == boxed["episodes"]


@pytest.mark.parametrize(("mech", "option"), PAIRS, ids=PAIR_IDS)
def test_option_round_trips_through_the_sandbox(mech: str, option: str, env_path: str) -> None:
    g = pair_genome(mech, option)
    source = render(g)
    assert check_source(source, "controller.py") == []
    results = sandbox_results(g, env_path)
    for r in results:
        assert r["errors"] == 0, r["error_examples"]
        assert r["episodes"] == 4 * REPLICATES
        assert r["avg_total_tokens"] > 0
    assert_same_in_process(g, env_path, results, 0.0)


def _plain(probe: str) -> Genome:
    """The simplest option of every mechanism, stopping on confidence (decisions that do not
    depend on probes), with the given probe option; sparse probes every 3 then 2 steps."""
    choices = {m: opts[0] for m, opts in MECHANISMS.items()}
    choices.update(stop="conf", probe=probe)
    g = genome_with(choices, random.Random(11))
    genes = dict(g.genes)
    if "probe_every" in genes:
        genes["probe_every"] = (3, 2, 1.0)
    return Genome(g.choices, genes)


def test_sparse_probes_cost_less_when_probes_cost(env_path: str) -> None:
    every, sparse = _plain("every"), _plain("sparse")
    assert every.genes.keys() < sparse.genes.keys()
    assert {n: every.genes[n] for n in every.genes} == {n: sparse.genes[n] for n in every.genes}
    free = {g.key(): sandbox_results(g, env_path, 0.0) for g in (every, sparse)}
    paid = {g.key(): sandbox_results(g, env_path, 400.0) for g in (every, sparse)}
    for g in (every, sparse):
        assert_same_in_process(g, env_path, paid[g.key()], 400.0)
        for r in paid[g.key()]:
            assert r["errors"] == 0, r["error_examples"]
    for b, e0, s0, e1, s1 in zip(
        BETAS,
        free[every.key()],
        free[sparse.key()],
        paid[every.key()],
        paid[sparse.key()],
        strict=True,
    ):
        # the same chains advanced: free probes give the same tokens
        assert s0["avg_total_tokens"] == e0["avg_total_tokens"], b
        assert s0["avg_sequential_tokens"] == e0["avg_sequential_tokens"], b
        # paid probes: every probe costs, so the sparse variant (a probe every 2-3 steps) pays
        # for fewer of them
        assert e1["avg_total_tokens"] > e0["avg_total_tokens"], b
        assert s1["avg_total_tokens"] > s0["avg_total_tokens"], b
        every_probes = e1["avg_total_tokens"] - e0["avg_total_tokens"]
        sparse_probes = s1["avg_total_tokens"] - s0["avg_total_tokens"]
        assert sparse_probes < 0.75 * every_probes, (b, sparse_probes, every_probes)


def _norm(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(("mech", "option"), PAIRS, ids=PAIR_IDS)
def test_rendered_module_documents_and_reproduces_the_genome(mech: str, option: str) -> None:
    g = pair_genome(mech, option)
    source = render(g)
    tree = ast.parse(source)
    doc = ast.get_docstring(tree)
    assert doc and doc.strip()
    # the docstring says what the catalogue says of each chosen option (join: how rules join)
    described = 0
    for m, o in g.choices.items():
        text = catalogue.doc(m, o).strip()
        if text and m not in ("join", "stop2"):
            assert _norm(text) in _norm(doc), (m, o)
            described += 1
    for rule in stop_rules(g.choices):
        assert _norm(catalogue.doc("stop", rule)) in _norm(doc), rule
    assert described >= 5
    # GENOME holds the genome
    (genome_value,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "GENOME" for t in node.targets)
    ]
    stored = ast.literal_eval(genome_value)  # a dict literal, or its JSON text
    if isinstance(stored, str):
        stored = json.loads(stored)
    assert json.loads(json.dumps(stored)) == g.to_json()
    assert Genome.from_json(stored) == g
    # the class: named after the genome, a beta knob, schedule() as the genome's
    cls = load_rendered(g)
    assert cls.__name__ == class_name(g) and cls.uses_beta
    for beta in (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0, -0.5, 1.5):
        mine, want = cls.schedule(beta), g.schedule(beta)
        assert mine.keys() == want.keys()
        for name, v in mine.items():
            if name == "token_cap":  # rendered in tokens, the genome counts thousands
                assert type(v) is int and abs(v - want[name] * 1000) <= 0.5 + 1e-6, beta
            elif isinstance(want[name], int):
                assert type(v) is int and v == want[name], (name, beta)
            else:
                assert v == pytest.approx(want[name], rel=1e-9, abs=1e-12), (name, beta)
    assert cls(beta=0.3).settings == cls.schedule(0.3)


def test_genome_scoring_keeps_the_runs_budget(env_path: str) -> None:
    """A per-episode cost cap (--budget) applies to the genome fitness as to the full sweep."""
    from autotts.data import load_env
    from autotts.discover.evolve.scoring import FitnessSettings, prepare, tables_of

    g = seed_genomes()[0]
    env = load_env(Path(env_path))
    tokens = []
    for budget in (None, 2000.0):
        s = FitnessSettings(betas=(1.0,), replicates=REPLICATES, budget=budget)
        tokens.append(tables_of(g, prepare([env], s), s)[0].rows()[0][1])
    assert tokens[1] <= 2000 < tokens[0]


# --- the newer options on hand-made questions: what each one does, action by action ---------

_DEFAULTS = {
    "n_init": 3,
    "max_chains": 12,
    "warm_up": 0,
    "max_steps": 12,
    "widen_burst": 2,
    "plateau_steps": 3,
    "conf_threshold": 0.999,
    "min_complete": 10,
    "stable_steps": 30,
    "burst": 3,
    "settle": 2,
    "lean": 3.0,
}


def _fixed(**overrides: Any) -> type[Controller]:
    """The rendered controller of the plainest genome with ``overrides`` (options by mechanism
    name, constant settings by setting name), stopping only when no chain is left or at
    ``max_steps``."""
    choices = {m: opts[0] for m, opts in MECHANISMS.items()}
    choices["stop"] = "conf"
    values = dict(_DEFAULTS)
    for k, v in overrides.items():
        (choices if k in MECHANISMS else values)[k] = v
    g = Genome(choices, {n: (values[n], values[n], 1.0) for n in active_settings(choices)})
    return load_rendered(g)


def _question(chains: list[tuple[list[str], str]]) -> Session:
    """A session over chains given as (probed answers, final answer), in opening order."""
    probes = [p for p, _ in chains]
    return Session(
        probes,
        [10 * (len(p) + 1) for p in probes],
        [f for _, f in chains],
        list(range(len(chains))),
        10,
    )


def _actions(session: Session, kind: str) -> list[int]:
    return [a.chain for a in session.trace() if a.kind == kind]


def test_ramp_widens_every_plateau_steps() -> None:
    opened = []
    for steps in range(8, 17):  # (max_steps is at least 8)
        s = _question([(["A"] * 40, "A")] * 16)
        _fixed(widen="ramp", n_init=1, max_steps=steps)(beta=0.0).solve(s)
        opened.append(s.n_open)
    # two more chains at the end of steps 2, 5, 8, 11 and 14 (plateau_steps = 3)
    assert opened == [5, 7, 7, 7, 9, 9, 9, 11, 11]


def test_leader_bursts_the_live_leaders_chains() -> None:
    chains = [(["A"] * 40, "A"), (["B"] * 40, "B"), (["A"] * 40, "A")]
    s = _question(chains)
    _fixed(depth="leader", max_steps=8)(beta=0.0).solve(s)
    advanced = _actions(s, "CONTINUE")
    assert [advanced.count(i) for i in range(3)] == [24, 8, 24]  # burst 3 for A's chains
    s = _question(chains)
    _fixed(depth="aligned", max_steps=8)(beta=0.0).solve(s)  # nothing finished: no burst
    assert [_actions(s, "CONTINUE").count(i) for i in range(3)] == [8, 8, 8]


def test_agreeing_retires_only_the_leaders_settled_chains() -> None:
    chains = [(["B"] * 40, "B"), (["A"] * 40, "A"), (["A"] * 40, "A")]
    s = _question(chains)
    _fixed(retire="settled")(beta=0.0).solve(s)
    assert sorted(_actions(s, "PRUNE")) == [0, 1, 2]
    s = _question(chains)
    _fixed(retire="agreeing")(beta=0.0).solve(s)
    assert sorted(_actions(s, "PRUNE")) == [1, 2]


def test_steady_weights_answers_that_held() -> None:
    # chain 0 showed B all along; chains 1 and 2 switched to A at the very end
    chains = [(["B"] * 9, "B"), (["C"] * 9, "A"), (["C"] * 9, "A")]
    assert _fixed(vote="finished")(beta=0.0).solve(_question(chains)) == "A"
    assert _fixed(vote="steady", lean=0.0)(beta=0.0).solve(_question(chains)) == "A"
    assert _fixed(vote="steady", lean=3.0)(beta=0.0).solve(_question(chains)) == "B"  # 4 > 2.75
    assert _fixed(vote="steady", lean=1.0)(beta=0.0).solve(_question(chains)) == "A"  # 2 < 2.25
