"""The fast path is exact: for every option of every mechanism (derived from
``genome.MECHANISMS``, so new options are tested as soon as they exist), seeded random genomes
forced to that option and the seed genomes play every episode with the same answer, tokens,
cost, sequential tokens, truncation and error as their rendered code run in this process
through the evaluator's own ``new_session`` / ``play``: on synthetic and hand-built
environments and, when ``AUTOTTS_REPLAY_DIR`` holds the replay files, a slice of a real one;
with and without a probe cost, and under a budget that truncates."""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autotts.controllers import ControllerSpec, make_solver
from autotts.data import Environment, apply_matching, load_env, synthesize
from autotts.discover.evolve.fast import FastEnv, eval_results, prepare, run_genome
from autotts.discover.evolve.genome import Genome, seed_genomes
from autotts.evaluate import EvalSettings, Protocol, evaluate, new_session, play
from tests.builders import make_env

from .common import PAIR_IDS, PAIRS, genome_with, load_rendered, registered_as

BETAS = [0.0, 0.3, 0.7, 1.0]
PROTOCOL = Protocol("official", 3, 0)
# (kappa_probe, budget): plain, probes that cost, a budget that truncates, and both (with
# probes dear enough that the budget often refuses a probe rather than an advance)
VARIANTS = [(0.0, None), (0.25, None), (0.0, 9000.0), (150.0, 5200.0)]
Row = tuple[str | None, int, float, int, bool, bool]


def reference(
    g: Genome,
    env: Environment,
    betas: Sequence[float],
    protocol: Protocol,
    kappa: float,
    budget: float | None,
    questions: Sequence[int],
) -> list[Row]:
    """Per episode (beta, question, replicate order): what the rendered code does."""
    rs = EvalSettings(protocol, "exact", kappa, budget)
    out: list[Row] = []
    with registered_as(f"fast-identity-{g.key()}", load_rendered(g)) as name:
        for beta in betas:
            cs = ControllerSpec(name, {}, beta)
            for q in questions:
                for order in protocol.orders(q, env.questions[q].n_chains):
                    s = new_session(env, q, order, rs)
                    answer, error, truncated = play(s, make_solver(cs))
                    out.append(
                        (
                            answer,
                            s.tokens,
                            s.cost,
                            s.sequential_tokens,
                            truncated,
                            error is not None,
                        )
                    )
    return out


def fast_rows(
    g: Genome,
    fenv: FastEnv,
    betas: Sequence[float],
    protocol: Protocol,
    kappa: float,
    budget: float | None,
    questions: Sequence[int],
) -> list[Row]:
    runs = run_genome(g, fenv, betas, protocol, kappa, budget, questions)
    out: list[Row] = []
    for b in range(len(betas)):
        for k, q in enumerate(runs.questions):
            for r in range(protocol.replicates):
                out.append(
                    (
                        fenv.answer_text(q, int(runs.answer[b, k, r])),
                        int(runs.tokens[b, k, r]),
                        float(runs.cost[b, k, r]),
                        int(runs.sequential[b, k, r]),
                        bool(runs.truncated[b, k, r]),
                        bool(runs.error[b, k, r]),
                    )
                )
    return out


def assert_identical(
    g: Genome,
    env: Environment,
    fenv: FastEnv,
    questions: Sequence[int],
    variants: Sequence[tuple[float, float | None]] = VARIANTS,
    protocol: Protocol = PROTOCOL,
) -> int:
    """Compare every episode under every variant; returns how many were truncated."""
    truncated = 0
    for kappa, budget in variants:
        want = reference(g, env, BETAS, protocol, kappa, budget, questions)
        got = fast_rows(g, fenv, BETAS, protocol, kappa, budget, questions)
        assert len(got) == len(want)
        for n, (a, b) in enumerate(zip(got, want, strict=True)):
            beta, rest = divmod(n, len(questions) * protocol.replicates)
            q, r = divmod(rest, protocol.replicates)
            where = (
                f"{g.choices} genes={g.genes} beta={BETAS[beta]} question={questions[q]} "
                f"replicate={r} kappa={kappa} budget={budget}"
            )
            assert a == b, f"fast {a} != rendered {b}: {where}"
        truncated += sum(row[4] for row in want)
    return truncated


def edge_env() -> Environment:
    """Ties, ERR everywhere, a chain with no probe points, a chain of 0 tokens, one chain,
    answers held for different lengths."""
    tie = [(["1", "2", "2"], 1600, "2"), (["2", "1", "1"], 1500, "1")] * 4
    errs = [(["ERR", "ERR"], 1100, "ERR"), (["ERR", "5"], 1200, "5"), ([], 300, "ERR")] * 3
    mixed = [(["3"] * k, 500 * k + 77, str(k % 3)) for k in range(1, 12)] + [([], 0, "3")]
    # equal counts of finished answers, one held for longer (vote=steady's cap of 8 probes)
    held = [(["7"] * 9, 5000, "7"), (["ERR"] + ["8"] * 6, 4000, "8")] * 2
    return make_env(
        [(tie, "2"), (errs, "5"), (mixed, "0"), ([(["9"], 400, "9")], "9"), (held, "8")]
    )


@cache
def synth_env() -> Environment:
    return synthesize(n_questions=3, n_chains=24, seed=11, model="Tiny")


@cache
def fast_of(key: str) -> tuple[Environment, FastEnv]:
    env = synth_env() if key == "synth" else edge_env()
    return env, prepare(env)


def pair_genomes(mech: str, option: str, n: int) -> list[Genome]:
    rng = random.Random(f"fast {mech}={option}")
    return [genome_with({mech: option}, rng) for _ in range(n)]


@pytest.mark.parametrize(("mech", "option"), PAIRS, ids=PAIR_IDS)
def test_option_is_exact(mech: str, option: str) -> None:
    truncated = 0
    for g in pair_genomes(mech, option, 3):
        for key in ("synth", "edge"):
            env, fenv = fast_of(key)
            truncated += assert_identical(g, env, fenv, range(len(env)))
    assert truncated > 0  # the budget variants did truncate


def test_seed_genomes_are_exact() -> None:
    for g in seed_genomes():
        for key in ("synth", "edge"):
            env, fenv = fast_of(key)
            assert_identical(g, env, fenv, range(len(env)))


@cache
def real_env() -> tuple[Environment, FastEnv] | None:
    root = os.environ.get("AUTOTTS_REPLAY_DIR")
    path = Path(root or "/nonexistent") / "Qwen3-1.7B" / "aime24.json"
    if not path.is_file():
        return None
    env = load_env(path)
    return env, prepare(env)


REAL_QUESTIONS = (3, 17)


@pytest.mark.parametrize(("mech", "option"), PAIRS, ids=PAIR_IDS)
def test_option_is_exact_on_real_replay(mech: str, option: str) -> None:
    got = real_env()
    if got is None:
        pytest.skip("no replay data (set AUTOTTS_REPLAY_DIR)")
    env, fenv = got
    (g,) = pair_genomes(mech, option, 1)
    assert_identical(
        g, env, fenv, REAL_QUESTIONS, [(0.0, None), (0.5, 30000.0)], Protocol("official", 2, 0)
    )


def test_eval_results_match_evaluate() -> None:
    """Records equal ``evaluate``'s for the rendered controller, but for the seconds."""
    env, fenv = fast_of("synth")
    for g, (kappa, budget) in zip(seed_genomes(), VARIANTS, strict=False):
        rs = EvalSettings(PROTOCOL, "exact", kappa, budget)
        with registered_as(f"fast-eval-{g.key()}", load_rendered(g)) as name:
            want = evaluate([env], ControllerSpec(name), BETAS, settings=rs)
        runs = run_genome(g, fenv, BETAS, PROTOCOL, kappa, budget)
        got = eval_results(g, fenv, BETAS, runs, rs, name)
        strip = [{**r.to_json(), "seconds": 0} for r in got]
        assert strip == [{**r.to_json(), "seconds": 0} for r in want]


def test_answer_matching_is_applied() -> None:
    """Under ``normalized`` matching, spellings of one answer vote (and grade) together."""
    spell = ["\\boxed{2}", "2", " 2 ", "$3$", "3", "ERR"]
    chains = [([spell[(k + j) % 6] for j in range(k % 4 + 1)], 600 * (k % 4 + 1), spell[k % 5])
              for k in range(14)]  # fmt: skip
    env = make_env([(chains, "2"), (chains[::-1], "$3$")])
    fenv = prepare(env, "normalized")
    matched = apply_matching(env, "normalized")
    assert fenv.answers != prepare(env).answers
    rng = random.Random("fast normalized")
    for g in [*seed_genomes(), *(genome_with({}, rng) for _ in range(6))]:
        assert_identical(g, matched, fenv, range(len(env)))


def test_eval_results_refuse_other_settings() -> None:
    _, fenv = fast_of("synth")
    g, other = seed_genomes()[:2]
    runs = run_genome(g, fenv, [0.5], PROTOCOL, 0.25)
    with pytest.raises(ValueError, match="not of"):
        eval_results(g, fenv, [0.5], runs, EvalSettings(PROTOCOL), "x")
    with pytest.raises(ValueError, match="not of"):
        eval_results(other, fenv, [0.5], runs, EvalSettings(PROTOCOL, kappa_probe=0.25), "x")


def test_runs_shapes_and_subsets() -> None:
    env, fenv = fast_of("synth")
    g = seed_genomes()[0]
    runs = run_genome(g, fenv, [0.5, 1.0], PROTOCOL, questions=[2, 0])
    assert runs.questions == (2, 0)
    for name in ("correct", "cost", "tokens", "sequential", "truncated", "error", "answer"):
        arr: Any = getattr(runs, name)
        assert arr.shape == (2, 2, PROTOCOL.replicates), name
    whole = run_genome(g, fenv, [0.5, 1.0], PROTOCOL)
    assert np.array_equal(whole.tokens[:, [2, 0]], runs.tokens)
    with pytest.raises(ValueError, match="out of range"):
        run_genome(g, fenv, [0.5], PROTOCOL, questions=[len(env)])


def test_cache_stamps_are_current() -> None:
    """numba checks only a module's own source before reusing its cached code: each compiled
    module records the stamp of the modules it inlines (see layout.cache_ok)."""
    from autotts.discover.evolve.fast import kernel, ops
    from autotts.discover.evolve.fast.layout import sources_stamp

    recorded = {"ops": ops.DEPENDS, "kernel": kernel.DEPENDS}
    actual = {"ops": sources_stamp("layout.py"), "kernel": sources_stamp("layout.py", "ops.py")}
    assert recorded == actual


_FORKED: list[FastEnv] = []


def _forked_tokens(task: tuple[dict[str, Any], float]) -> list[int]:
    genome, beta = task
    runs = run_genome(Genome.from_json(genome), _FORKED[0], [beta], PROTOCOL)
    return [int(t) for t in runs.tokens.reshape(-1)]


def test_forked_workers_give_the_same_runs() -> None:
    """Warmed in the parent, the kernel runs in forked workers (fork_map) unchanged."""
    from autotts.discover.evolve.fast import warm_up
    from autotts.procs import fork_map

    warm_up()
    _, fenv = fast_of("synth")
    tasks = [(g.to_json(), b) for g in seed_genomes() for b in (0.0, 1.0)]
    got: dict[int, list[int]] = {}
    _FORKED.append(fenv)
    try:
        fork_map(_forked_tokens, tasks, 2, got.__setitem__)
    finally:
        _FORKED.clear()
    assert [got[n] for n in range(len(tasks))] == [
        [int(t) for t in run_genome(g, fenv, [b], PROTOCOL).tokens.reshape(-1)]
        for g in seed_genomes()
        for b in (0.0, 1.0)
    ]
