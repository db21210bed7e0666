from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from autotts.cli import cli
from autotts.data import Environment, write_env
from tests.controllers.synthetic import synthetic_env

Run = Callable[..., Result]
MODELS = ("small", "large")
DATASETS = ("first", "second")


def named(env: Environment, model: str, dataset: str) -> Environment:
    return replace(env, meta=replace(env.meta, model=model, dataset=dataset))


def small_envs() -> list[Environment]:
    """Two models × two datasets, 5 questions × 24 chains each: a report in well under a second."""
    return [
        named(synthetic_env(10 * m + d, n_questions=5, n_chains=24), model, dataset)
        for m, model in enumerate(MODELS)
        for d, dataset in enumerate(DATASETS)
    ]


@pytest.fixture
def env_files(tmp_path: Path) -> list[Path]:
    paths = []
    for env in small_envs():
        path = tmp_path / f"{env.meta.model}-{env.meta.dataset}.json"
        write_env(env, path)
        paths.append(path)
    return paths


@pytest.fixture
def run() -> Run:
    """Invoke ``autotts ARGS...`` in-process."""

    def invoke(*args: str | Path) -> Result:
        return CliRunner().invoke(cli, [str(a) for a in args], prog_name="autotts")

    return invoke
