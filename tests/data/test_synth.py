"""The synthetic generator: deterministic, and statistically like the released data."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from autotts.controllers.voting import vote
from autotts.data import ERR, Environment, content_hash, load_env, synthesize, write_env


@pytest.fixture(scope="module", params=[0, 1, 2])
def env(request: pytest.FixtureRequest) -> Environment:
    seed: int = request.param
    return synthesize(seed=seed)


def _tokens(env: Environment) -> np.ndarray:
    return np.array([t for q in env.questions for t in q.tokens])


def _pass_rates(env: Environment) -> np.ndarray:
    return np.array([q.finals.count(q.gold) / q.n_chains for q in env.questions])


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    write_env(synthesize(seed=7, n_questions=5, n_chains=16), tmp_path / "a.json")
    write_env(synthesize(seed=7, n_questions=5, n_chains=16), tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_different_seeds_differ() -> None:
    hashes = {synthesize(seed=s, n_questions=5, n_chains=16).meta.content_hash for s in range(4)}
    assert len(hashes) == 4


def test_shape_and_metadata() -> None:
    env = synthesize(n_questions=4, n_chains=9, interval=250, seed=3, model="M", dataset="D")
    assert len(env) == 4 and [q.n_chains for q in env.questions] == [9] * 4
    assert [q.index for q in env.questions] == [0, 1, 2, 3]
    m = env.meta
    assert (m.model, m.dataset, m.interval_tokens) == ("M", "D", 250)
    assert (m.temperature, m.probe_prompt, m.source) == (None, None, "autotts synth seed=3")
    assert m.content_hash == content_hash(env)
    for q in env.questions:
        for probes, total in zip(q.probes, q.tokens, strict=True):
            assert 1 <= len(probes) <= total // 250 + 1  # the interval sets the probe count
    with pytest.raises(ValueError):
        synthesize(n_questions=0)


def test_answers_are_aime_integers_or_err(env: Environment) -> None:
    allowed = {str(k) for k in range(1000)} | {ERR}
    assert env.answer_strings() <= allowed
    assert all(q.gold != ERR for q in env.questions)


def test_save_load_round_trip(env: Environment, tmp_path: Path) -> None:
    write_env(env, tmp_path / "synth.json")
    loaded = load_env(tmp_path / "synth.json")
    assert loaded.meta == env.meta
    assert content_hash(loaded) == env.meta.content_hash
    assert [q.finals for q in loaded.questions] == [q.finals for q in env.questions]


def test_lengths_like_the_released_data(env: Environment) -> None:
    tokens = _tokens(env)
    p10, p50, p90 = np.percentile(tokens, [10, 50, 90])
    assert 10_000 <= p50 <= 17_000
    assert 3_000 <= p10 <= 8_000 and 22_000 <= p90 <= 38_000  # long tail
    assert 41_000 <= tokens.max() <= 41_510 and tokens.min() >= 1_200  # cut at the cap
    assert 0.005 <= np.mean(tokens >= 41_000) <= 0.1


def test_probe_counts_like_the_released_data(env: Environment) -> None:
    n = np.array([len(c) for q in env.questions for c in q.probes])
    assert 18 <= np.median(n) <= 34
    jitter = Counter((n - _tokens(env) // 500).tolist())
    total = sum(jitter.values())
    assert 0.35 <= jitter[0] / total <= 0.6
    assert 0.15 <= jitter[-1] / total <= 0.3 and 0.1 <= jitter[1] / total <= 0.25
    assert min(jitter) >= -8 and max(jitter) <= 1


def test_err_rate_like_the_released_data(env: Environment) -> None:
    probes = [a for q in env.questions for c in q.probes for a in c]
    assert 0.04 <= probes.count(ERR) / len(probes) <= 0.15
    finals = [a for q in env.questions for a in q.finals]
    assert finals.count(ERR) / len(finals) <= 0.02


def test_questions_range_from_easy_to_hard_and_hard_ones_are_longer(env: Environment) -> None:
    rates = _pass_rates(env)
    assert (rates >= 0.9).sum() >= 3 and (rates <= 0.1).sum() >= 3
    medians = [np.median(q.tokens) for q in env.questions]
    assert np.corrcoef(medians, rates)[0, 1] < -0.5


def test_wrong_chains_are_longer(env: Environment) -> None:
    ratios = []
    for q in env.questions:
        right = [t for t, f in zip(q.tokens, q.finals, strict=True) if f == q.gold]
        wrong = [t for t, f in zip(q.tokens, q.finals, strict=True) if f != q.gold]
        if len(right) >= 10 and len(wrong) >= 10:
            ratios.append(np.median(wrong) / np.median(right))
    assert 1.2 <= np.median(ratios) <= 1.8


def test_probes_converge_to_the_final_answer(env: Environment) -> None:
    early = late = early_err = late_err = n_early = n_late = 0
    for q in env.questions:
        for probes, final in zip(q.probes, q.finals, strict=True):
            fifth = len(probes) // 5
            if fifth == 0:
                continue
            head, tail = probes[:fifth], probes[-fifth:]
            early += head.count(final)
            late += tail.count(final)
            early_err += head.count(ERR)
            late_err += tail.count(ERR)
            n_early += len(head)
            n_late += len(tail)
    assert early / n_early < 0.2 and late / n_late > 0.65  # noisy early, converged late
    assert early_err / n_early > late_err / n_late  # ERR is an early-chain phenomenon


def test_wrong_answers_cluster_so_majority_can_be_wrong(env: Environment) -> None:
    shares = []
    for q in env.questions:
        wrong = [f for f in q.finals if f != q.gold]
        if len(wrong) >= 20:
            shares.append(Counter(wrong).most_common(1)[0][1] / len(wrong))
    # uniform wrong answers over 0..999 would give the top one a share of a few percent
    assert np.median(shares) >= 0.2
    majority_wrong = [vote(q.finals) != q.gold for q in env.questions]
    assert 1 <= sum(majority_wrong) <= 20
    # the majority fails on hard questions, not at random
    rates = _pass_rates(env)
    assert max(r for r, w in zip(rates, majority_wrong, strict=True) if w) < 0.5
