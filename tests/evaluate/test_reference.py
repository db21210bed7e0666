"""Exactness against the original evaluator's numbers (``replay/reference.csv``, official
protocol, 100 replicates).

The CI test covers every environment × the baselines and CMC at beta 0, 0.5, 1 (one test per
pair, so xdist spreads them); ``-m slow`` checks every row of the file, all eleven CMC betas.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import pytest

from autotts.controllers import ControllerSpec
from autotts.data import Environment, load_env
from autotts.evaluate import Protocol, evaluate

MODELS = ("Qwen3-0.6B", "Qwen3-1.7B", "Qwen3-4B", "Qwen3-8B")
DATASETS = ("aime24", "aime25")
ENVS = [(m, d) for m in MODELS for d in DATASETS]
BASELINES = ("sc64", "asc64", "esc64", "pp64_default", "pp64_T40")
CMC_BETAS = ("0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1.0")
ALL_METHODS = BASELINES + tuple(f"cmc{b}" for b in CMC_BETAS)
CI_METHODS = (*BASELINES, "cmc0", "cmc0.5", "cmc1.0")

ACCURACY_TOLERANCE = 0.01  # the csv has two decimals
TOKENS_TOLERANCE = 0.5


def spec(method: str) -> ControllerSpec:
    """The csv's method names, as documented in ``replay/README.md``."""
    fixed = {
        "sc64": ControllerSpec("sc", {"k": 64}),
        "asc64": ControllerSpec("asc", {"max_samples": 64, "threshold": 0.95}),
        "esc64": ControllerSpec("esc", {"max_samples": 64, "window": 8}),
        "pp64_default": ControllerSpec(
            "parallel_probe", {"chains": 64, "T": 14, "prune_patience": 8, "warm_up": 10}
        ),
        "pp64_T40": ControllerSpec(
            "parallel_probe", {"chains": 64, "T": 40, "prune_patience": 7, "warm_up": 15}
        ),
    }
    if method in fixed:
        return fixed[method]
    assert method.startswith("cmc"), method
    return ControllerSpec("cmc", beta=float(method[3:]))


@cache
def reference(replay: Path) -> dict[tuple[str, str, str], tuple[float, float]]:
    with open(replay / "reference.csv", newline="") as f:
        return {
            (row["model"], row["dataset"], row["method"]): (
                float(row["accuracy"]),
                float(row["avg_total_tokens"]),
            )
            for row in csv.DictReader(f)
        }


@cache
def environment(replay: Path, model: str, dataset: str) -> Environment:
    return load_env(replay / model / f"{dataset}.json")


def check_row(replay: Path, model: str, dataset: str, method: str) -> None:
    accuracy, tokens = reference(replay)[(model, dataset, method)]
    cs = spec(method)
    (result,) = evaluate(
        [environment(replay, model, dataset)],
        cs,
        [cs.beta],
        protocol=Protocol("official", replicates=100),
    )
    assert (result.errors, result.truncated, result.episodes) == (0, 0, 30 * 100)
    assert abs(result.accuracy - accuracy) <= ACCURACY_TOLERANCE, (result.accuracy, accuracy)
    assert abs(result.avg_total_tokens - tokens) <= TOKENS_TOLERANCE, (
        result.avg_total_tokens,
        tokens,
    )


def test_the_reference_file_has_every_row(replay: Path) -> None:
    expected = {(m, d, method) for m, d in ENVS for method in ALL_METHODS}
    assert set(reference(replay)) == expected


@pytest.mark.parametrize("method", CI_METHODS)
@pytest.mark.parametrize(("model", "dataset"), ENVS)
def test_reference_numbers(replay: Path, model: str, dataset: str, method: str) -> None:
    check_row(replay, model, dataset, method)


@pytest.mark.slow
@pytest.mark.parametrize("method", ALL_METHODS)
@pytest.mark.parametrize(("model", "dataset"), ENVS)
def test_every_reference_row(replay: Path, model: str, dataset: str, method: str) -> None:
    check_row(replay, model, dataset, method)
