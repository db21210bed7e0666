"""The genome space: every option builds a valid genome, schedules follow their direction,
serialisation round-trips, and the variation operators stay inside the space."""

from __future__ import annotations

import itertools
import json
import random
import warnings

import pytest

from autotts.discover.evolve.genome import (
    MECHANISMS,
    SETTINGS,
    Genome,
    active_settings,
    coherent,
    crossover,
    from_params,
    make_gene,
    mutate,
    random_gene,
    random_genome,
    seed_genomes,
    suggest,
    value,
)

from .common import PAIR_IDS, PAIRS, check_valid, genome_with, pair_genome

BETAS = [i / 20 for i in range(21)]


@pytest.mark.parametrize(("mech", "option"), PAIRS, ids=PAIR_IDS)
def test_every_option_builds_a_valid_genome(mech: str, option: str) -> None:
    g = pair_genome(mech, option)
    assert g.choices[mech] == option
    check_valid(g)
    # the schedule follows each gene's direction at every beta
    for n, gene in g.genes.items():
        d = SETTINGS[n].direction
        values = [value(n, gene, b) for b in BETAS]
        pairs = list(itertools.pairwise(values))
        if d > 0:
            assert all(b >= a for a, b in pairs), (n, gene, values)
        elif d < 0:
            assert all(b <= a for a, b in pairs), (n, gene, values)
        else:
            assert len(set(values)) == 1, (n, gene, values)
    assert g.schedule(0) == {n: value(n, gene, 0) for n, gene in g.genes.items()}
    # JSON round trip, through text
    back = Genome.from_json(json.loads(json.dumps(g.to_json())))
    assert back == g and back.key() == g.key()
    # flat optuna parameters round trip
    again = from_params(g.params())
    assert again == g and again.key() == g.key()
    # and through a real optuna trial: enqueued parameters must fit suggest()'s distributions
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # optuna warns when an enqueued value is out of range
        study.enqueue_trial(g.params())
        trial = study.ask()
        suggested = suggest(trial)
    assert suggested == g and suggested.key() == g.key()


def test_genome_rejects_bad_choices_and_missing_genes() -> None:
    g = random_genome(random.Random(1))
    mech = next(iter(MECHANISMS))
    with pytest.raises(ValueError):
        Genome({**g.choices, mech: "no-such-option"}, dict(g.genes))
    with pytest.raises(ValueError):
        Genome({k: v for k, v in g.choices.items() if k != mech}, dict(g.genes))
    missing = active_settings(g.choices)[0]
    with pytest.raises(ValueError):
        Genome(dict(g.choices), {n: v for n, v in g.genes.items() if n != missing})


def test_key_distinguishes_genomes() -> None:
    keys = {random_genome(random.Random(s)).key() for s in range(50)}
    assert len(keys) == 50


@pytest.mark.parametrize("name", list(SETTINGS))
def test_value_is_monotone_typed_and_clamped(name: str) -> None:
    s = SETTINGS[name]
    rng = random.Random(name)
    genes = [random_gene(name, rng) for _ in range(40)]
    # extreme raw inputs are clamped into range by the gene builder
    genes.append(make_gene(name, s.lo - 100, s.hi + 100, 0.01))
    genes.append(make_gene(name, s.hi + 100, s.lo - 100, 100.0))
    for gene in genes:
        vals = [value(name, gene, b) for b in BETAS]
        # beta outside [0, 1] is clamped
        assert value(name, gene, -1.0) == vals[0] and value(name, gene, 2.0) == vals[-1]
        eps = 1e-9 * (s.hi - s.lo)  # see test_value_stays_exactly_within_range
        for v in vals:
            assert s.lo - eps <= v <= s.hi + eps, (name, gene, v)
            if s.integer:
                assert type(v) is int, (name, gene, v)
        steps = list(itertools.pairwise(vals))
        if s.direction > 0:
            assert all(b >= a for a, b in steps), (name, gene, vals)
        elif s.direction < 0:
            assert all(b <= a for a, b in steps), (name, gene, vals)
        else:
            assert len(set(vals)) == 1, (name, gene, vals)
        v0, v1, _ = gene
        assert vals[0] == (round(v0) if s.integer else v0)
        assert vals[-1] == pytest.approx(round(v1) if s.integer else v1, abs=1e-12)


def test_value_stays_exactly_within_range() -> None:
    bad = []
    for name, s in SETTINGS.items():
        rng = random.Random(name)
        for gene in [random_gene(name, rng) for _ in range(40)] + [(s.lo, s.hi, 1.0)]:
            if s.direction < 0:
                gene = (gene[1], gene[0], gene[2]) if gene[0] < gene[1] else gene
            elif s.direction == 0:
                continue
            for b in BETAS:
                v = value(name, gene, b)
                if not s.lo <= v <= s.hi or not min(gene[:2]) <= v <= max(gene[:2]):
                    bad.append((name, gene, b, v))
    assert not bad, bad[:5]


def _genomes(n: int, seed: int) -> list[Genome]:
    rng = random.Random(seed)
    return [random_genome(rng) for _ in range(n)] + seed_genomes()


def test_random_and_seed_genomes_are_valid() -> None:
    for g in _genomes(100, 0):
        check_valid(g)


def test_mutate_gives_valid_genomes_deterministically() -> None:
    parents = _genomes(40, 1)
    for i, g in enumerate(parents):
        before = g.to_json()
        for rate in (0.0, 0.3, 0.9):
            child = mutate(g, random.Random(i), rate)
            check_valid(child)
            assert child.key() == mutate(g, random.Random(i), rate).key()
        assert g.to_json() == before  # the parent is not changed in place
    # mutation does change things, and every mechanism gets changed by some mutation
    rng = random.Random(2)
    changed_mechs = set()
    n_changed = 0
    for g in parents:
        for _ in range(5):
            child = mutate(g, rng, 0.9)
            n_changed += child.key() != g.key()
            changed_mechs |= {m for m in MECHANISMS if child.choices[m] != g.choices[m]}
    assert n_changed > 150
    assert changed_mechs == set(MECHANISMS)


def test_crossover_gives_valid_genomes_deterministically() -> None:
    pool = _genomes(30, 3)
    rng = random.Random(4)
    for _ in range(100):
        a, b = rng.sample(pool, 2)
        seed = rng.randrange(10**9)
        child = crossover(a, b, random.Random(seed))
        check_valid(child)
        assert child.key() == crossover(a, b, random.Random(seed)).key()
        for m, o in child.choices.items():
            assert o in (a.choices[m], b.choices[m])
        for n, gene in child.genes.items():
            if n in a.genes or n in b.genes:
                assert gene in (a.genes.get(n), b.genes.get(n)), n
    g = pool[0]
    assert crossover(g, g, random.Random(0)) == g


def test_random_genome_is_deterministic_and_covers_every_option() -> None:
    a = [random_genome(random.Random(s)).key() for s in range(20)]
    b = [random_genome(random.Random(s)).key() for s in range(20)]
    assert a == b
    rng = random.Random(5)
    seen = {(m, o) for _ in range(400) for m, o in random_genome(rng).choices.items()}
    assert seen == {(m, o) for m, opts in MECHANISMS.items() for o in opts}


def test_suggest_with_a_real_optuna_trial() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    keys = set()
    for _ in range(30):
        trial = study.ask()
        g = suggest(trial)
        check_valid(g)
        keys.add(g.key())
        # the trial's parameters rebuild the same genome
        assert from_params(trial.params) == g
        # only the settings the chosen mechanisms use were asked for
        asked = {k.split(".")[0] for k in trial.params if "." in k}
        assert asked == set(active_settings(g.choices))
        study.tell(trial, g.complexity)
    assert len(keys) == 30


def test_settled_retirement_implies_a_probe_every_interval() -> None:
    """With sparse probes, settling counted in probes made the budget fall with beta (probing
    more often retired chains sooner); the genome therefore never combines the two."""
    g = genome_with({"retire": "settled", "probe": "sparse"}, random.Random(0))
    assert g.choices["probe"] == "every" and "probe_every" not in g.genes
    assert coherent({"retire": "none", "probe": "sparse"}) == {"retire": "none", "probe": "sparse"}


@pytest.mark.parametrize(("mech", "option"), [("retire", "agreeing"), ("vote", "steady")])
def test_counting_held_answers_implies_a_probe_every_interval(mech: str, option: str) -> None:
    g = genome_with({mech: option, "probe": "sparse"}, random.Random(0))
    assert g.choices["probe"] == "every" and "probe_every" not in g.genes
    plain = {"retire": "none", "vote": "finished", "probe": "sparse"}
    assert coherent(plain) == plain
    assert coherent({**plain, mech: option})["probe"] == "every"
