"""Environment statistics, checked by hand on a tiny environment and against reference.csv."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from autotts.data import Environment, EnvMeta, content_hash, load_env, synthesize
from autotts.evaluate import env_stats
from tests.builders import make_env

ERR = "ERR"


def _tiny() -> Environment:
    """Question 0 (gold A): finals A B A C, so the majority of all four chains is A in any order.
    Question 1 (gold Y): finals X Y Y X Z; X and Y tie, so the first seen of the two wins."""
    q0 = [
        (["A", ERR], 1000, "A"),
        (["B"], 2000, "B"),
        ([ERR, ERR, "A"], 3000, "A"),
        ([], 4000, "C"),
    ]
    q1 = [
        (["X"], 500, "X"),
        (["Y"], 500, "Y"),
        (["Y"], 500, "Y"),
        (["X"], 10_000, "X"),
        ([ERR], 600, "Z"),
    ]
    env = make_env([(q0, "A"), (q1, "Y")])
    meta = EnvMeta(
        model="tiny",
        dataset="hand",
        interval_tokens=500,
        temperature=0.6,
        probe_prompt="So the answer is",
        source="hand-built",
        content_hash="sha256:abc",
    )
    return Environment(meta=meta, questions=env.questions, path="/x/tiny.json")


def _official_orders(n: int, replicates: int) -> list[list[int]]:
    orders = []
    for r in range(replicates):
        order = list(range(n))
        random.Random(r).shuffle(order)  # the original evaluator's replicate r
        orders.append(order)
    return orders


def test_tiny_env_by_hand() -> None:
    s = env_stats(_tiny(), replicates=50)
    assert (s.questions, s.chains_min, s.chains_max) == (2, 4, 5)
    # all 9 lengths sorted: 500 500 500 600 1000 2000 3000 4000 10000 (linear interpolation)
    assert s.length_quantiles == {
        "p10": 500.0,
        "p25": 500.0,
        "p50": 1000.0,
        "p75": 3000.0,
        "p90": 5200.0,
        "max": 10_000.0,
    }
    assert s.probes_per_chain_median == 1.0  # counts 2 1 3 0 | 1 1 1 1 1
    assert s.err_rate == pytest.approx(4 / 11, abs=1e-6)
    assert s.pass_at_1 == pytest.approx(100 * (2 / 4 + 2 / 5) / 2)  # 45
    assert list(s.majority_at_k) == ["1", "4", "all"]  # 16 and 64 exceed 4 chains
    assert s.majority_at_k["all"] == 50.0  # A wins question 0; X, seen first, wins question 1

    # k=1: question 0 is right when an A chain comes first, question 1 when a Y chain does.
    # k=4: question 0 is always right (A has 2 of the 4 votes); question 1 sees all chains but
    # the last of the order: without an X, Y wins 2-1; without a Y, X wins; without Z they tie
    # 2-2 and the first seen of X and Y wins
    orders0, orders1 = _official_orders(4, 50), _official_orders(5, 50)
    at1 = [(o0[0] in (0, 2)) + (o1[0] in (1, 2)) for o0, o1 in zip(orders0, orders1, strict=True)]
    y_first = [next(j for j in o if j != 4) in (1, 2) for o in orders1]
    at4 = [
        o[4] in (0, 3) or (o[4] == 4 and first) for o, first in zip(orders1, y_first, strict=True)
    ]
    assert s.majority_at_k["1"] == pytest.approx(100 * sum(at1) / (2 * 50))
    assert s.majority_at_k["4"] == pytest.approx(100 * (50 + sum(at4)) / (2 * 50))
    ties = [o[4] == 4 for o in orders1]
    assert 0 < sum(f for f, t in zip(y_first, ties, strict=True) if t) < sum(ties)  # both ways


def test_single_replicate_uses_random_0() -> None:
    s = env_stats(_tiny(), replicates=1)
    first0, first1 = _official_orders(4, 1)[0][0], _official_orders(5, 1)[0][0]
    expected = 100 * ((first0 in (0, 2)) + (first1 in (1, 2))) / 2
    assert s.majority_at_k["1"] == expected and s.replicates == 1


def test_metadata_and_json() -> None:
    s = env_stats(_tiny(), replicates=3)
    record = s.to_json()
    assert json.loads(json.dumps(record)) == record
    assert {k: record[k] for k in ("model", "dataset", "interval_tokens", "path")} == {
        "model": "tiny",
        "dataset": "hand",
        "interval_tokens": 500,
        "path": "/x/tiny.json",
    }
    assert (record["temperature"], record["probe_prompt"]) == (0.6, "So the answer is")
    assert (record["source"], record["content_hash"]) == ("hand-built", "sha256:abc")
    assert list(record)[:2] == ["model", "dataset"]


def test_a_missing_content_hash_is_computed_and_missing_path_reported() -> None:
    env = make_env([([(["1"], 600, "1")], "1")])
    s = env_stats(env, replicates=2)
    assert (s.content_hash, s.path, s.source) == (content_hash(env), None, None)
    assert s.content_hash.startswith("sha256:")
    assert s.majority_at_k == {"1": 100.0, "all": 100.0}  # one chain: only k = 1


def test_synthetic_env_has_all_k_and_majority_beats_pass_at_1() -> None:
    s = env_stats(synthesize(seed=0), replicates=20)
    assert list(s.majority_at_k) == ["1", "4", "16", "64", "all"]
    assert s.pass_at_1 < s.majority_at_k["64"]
    assert abs(s.majority_at_k["1"] - s.pass_at_1) < 5  # majority@1 estimates pass@1


def _sc64_rows(replay: Path) -> dict[tuple[str, str], float]:
    with (replay / "reference.csv").open() as f:
        return {
            (r["model"], r["dataset"]): float(r["accuracy"])
            for r in csv.DictReader(f)
            if r["method"] == "sc64"
        }


@pytest.mark.parametrize("model", ["Qwen3-0.6B", "Qwen3-1.7B", "Qwen3-4B", "Qwen3-8B"])
@pytest.mark.parametrize("dataset", ["aime24", "aime25"])
def test_majority_at_64_is_reference_sc64(replay: Path, model: str, dataset: str) -> None:
    s = env_stats(load_env(replay / model / f"{dataset}.json"), replicates=100)
    assert abs(s.majority_at_k["64"] - _sc64_rows(replay)[(model, dataset)]) < 0.01
    assert 0 <= s.pass_at_1 <= 100 and 0 < s.err_rate < 0.2
    assert (s.questions, s.chains_min, s.chains_max) == (30, 128, 128)
    assert s.length_quantiles["max"] <= 41_600
