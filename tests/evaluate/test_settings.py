"""EvalSettings: one validated object for protocol, matching, probe cost and budget; the
bounds that every caller shares (beta sweeps, replicates, workers)."""

from __future__ import annotations

import math

import pytest

from autotts.controllers import ControllerError, ControllerSpec, make_solver
from autotts.evaluate import (
    MAX_BETAS,
    MAX_REPLICATES,
    EvalSettings,
    Protocol,
    evaluate,
    merge_betas,
    parse_betas,
)
from autotts.procs import check_workers, max_workers
from tests.builders import make_env


def test_round_trip_and_flat_json() -> None:
    s = EvalSettings(Protocol("subsample", 7, 3), "normalized", 2.5, 1e5)
    d = s.to_json()
    assert d == {
        "protocol": "subsample", "replicates": 7, "seed": 3, "match": "normalized",
        "kappa_probe": 2.5, "budget": 1e5,
    }  # fmt: skip
    assert EvalSettings.from_json(d) == s
    nested = {"protocol": {"name": "subsample", "replicates": 7, "seed": 3}, "match": "normalized",
              "kappa_probe": 2.5, "budget": 1e5, "unknown": 1}  # fmt: skip
    assert EvalSettings.from_json(nested) == s
    assert (s.replicates, s.seed) == (7, 3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"match": "fuzzy"}, "unknown answer matching 'fuzzy'"),
        ({"kappa_probe": -1.0}, "kappa_probe must be >= 0"),
        ({"kappa_probe": math.nan}, "kappa_probe must be a finite number"),
        ({"kappa_probe": math.inf}, "kappa_probe must be a finite number"),
        ({"budget": -5.0}, "budget must be a positive number"),
        ({"budget": 0.0}, "budget must be a positive number"),
        ({"budget": math.nan}, "budget must be a finite number"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EvalSettings(**kwargs)  # type: ignore[arg-type]


def test_protocol_bounds() -> None:
    Protocol(replicates=MAX_REPLICATES)
    with pytest.raises(ValueError, match="between 1 and 100,000"):
        Protocol(replicates=MAX_REPLICATES + 1)
    with pytest.raises(ValueError, match="must be an integer"):
        Protocol(replicates=1e11)  # type: ignore[arg-type]


def test_beta_sweeps_are_bounded() -> None:
    assert len(parse_betas("0:1:0.001")) == MAX_BETAS
    with pytest.raises(ValueError, match="at most 1001"):
        parse_betas("0:1:1e-9")
    with pytest.raises(ValueError, match="outside"):
        parse_betas("nan")
    with pytest.raises(ValueError, match="START:STOP:STEP"):
        parse_betas("0:inf:0.5")
    assert merge_betas(["0.5", "0:1:0.5", "0.2"]) == [0.0, 0.2, 0.5, 1.0]


def test_workers_are_bounded() -> None:
    assert check_workers(max_workers()) == max_workers()
    for bad in (0, max_workers() + 1, 100_000):
        with pytest.raises(ValueError, match="4 per CPU core"):
            check_workers(bad)
    env = make_env([([(["A"], 100, "A")], "A")])
    with pytest.raises(ValueError, match="workers"):
        evaluate([env], ControllerSpec("sc", {"k": 1}), workers=100_000)


def test_settings_or_the_older_keywords_not_both() -> None:
    env = make_env([([(["A"], 100, "A")], "A")])
    spec = ControllerSpec("sc", {"k": 1})
    (a,) = evaluate([env], spec, settings=EvalSettings(Protocol(replicates=2), budget=500.0))
    (b,) = evaluate([env], spec, protocol=Protocol(replicates=2), budget=500.0)
    assert a == b or (a.seconds != b.seconds and a.accuracy == b.accuracy)
    assert (a.replicates, a.budget) == (2, 500.0)
    with pytest.raises(TypeError, match="not both"):
        evaluate([env], spec, settings=EvalSettings(), budget=5.0)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("sc", {"k": 0}, "sc: parameter k=0 must be at least 1"),
        ("asc", {"max_samples": 0}, "asc: parameter max_samples=0 must be at least 1"),
        ("asc", {"threshold": 1.5}, "asc: parameter threshold=1.5 must be at most 1"),
        ("asc", {"threshold": math.nan}, "asc: parameter threshold=nan must be a finite"),
        ("esc", {"window": 0}, "esc: parameter window=0 must be at least 1"),
        ("parallel_probe", {"chains": 0}, "parallel_probe: parameter chains=0 must be at least"),
        ("parallel_probe", {"warm_up": -1}, "parameter warm_up=-1 must be at least 0"),
    ],
)
def test_builtin_parameters_are_bounded(name: str, params: dict[str, object], message: str) -> None:
    with pytest.raises(ControllerError, match=message):
        make_solver(ControllerSpec(name, params))
