"""The evaluator's sandbox job: numbers identical to the unsandboxed evaluator, the (env, beta)
grid split over parallel sandboxes, the schedule check, and result records read back."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from autotts.controllers import Controller, ControllerSpec
from autotts.data import load_env, write_env
from autotts.evaluate import EvalResult, Protocol, evaluate
from autotts.sandbox import (
    Candidate,
    describe_candidate,
    evaluate_sandboxed,
    strict_mismatch,
    validate_schedule,
)
from autotts.sandbox.jobs import split_grid
from tests.controllers.synthetic import synthetic_env

from .conftest import LIMITS, ROOT, candidate


def numbers(r: EvalResult) -> dict[str, Any]:
    d = r.to_json()
    del d["seconds"]
    return d


@pytest.fixture(scope="module")
def two_envs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    d = tmp_path_factory.mktemp("jobs")
    paths = []
    for seed in (1, 2):
        write_env(synthetic_env(seed, n_questions=8, n_chains=24), d / f"env{seed}.json")
        paths.append(str(d / f"env{seed}.json"))
    return paths


@pytest.mark.parametrize(
    ("path", "class_name", "betas", "params"),
    [
        ("examples/quorum.py", "Quorum", [0.0, 0.5, 1.0], {}),
        ("examples/original_method.py", "OptimalController", [0.25, None], {}),
        ("tests/sandbox/kitchen_sink.py", "KitchenSink", [0.5], {}),
    ],
)
@pytest.mark.parametrize("workers", [1, 3])
def test_results_equal_the_unsandboxed_evaluator(
    two_envs: list[str],
    path: str,
    class_name: str,
    betas: list[float | None],
    params: dict[str, Any],
    workers: int,
) -> None:
    spec = f"{ROOT / path}:{class_name}"
    options: dict[str, Any] = dict(
        protocol=Protocol("subsample", 4, seed=3), match="normalized", kappa_probe=7.0
    )
    expected = evaluate(
        [load_env(p) for p in two_envs], ControllerSpec(spec, params), betas, **options
    )
    done: list[int] = []
    out, results = evaluate_sandboxed(
        (ROOT / path).read_text(),
        class_name,
        two_envs,
        betas,
        params=params,
        label=spec,
        workers=workers,
        limits=LIMITS,
        progress=done.append,
        **options,
    )
    assert out.ok, (out.status, out.reason, out.log)
    assert [numbers(r) for r in results] == [numbers(r) for r in expected]
    assert sum(done) == sum(r.episodes for r in expected)
    assert len(done) == len(two_envs) * len(betas) * 8  # once per verified question
    assert out.data is not None and len(out.data["results"]) == len(expected)


def test_budget_and_params_reach_the_controller(two_envs: list[str]) -> None:
    source = """
from autotts.controllers import Controller, vote

class Reader(Controller):
    name = "reader"
    defaults = {"k": 4}

    def solve(self, session):
        return vote(session.read(min(self.settings["k"], session.n_available)))
"""
    path = Path(two_envs[0]).parent / "reader.py"
    path.write_text(source)
    spec = ControllerSpec(f"{path}:Reader", {"k": 6})
    expected = evaluate([load_env(two_envs[0])], spec, [None], budget=20_000)
    out, results = evaluate_sandboxed(
        source, "Reader", two_envs[:1], [None], params={"k": 6}, budget=20_000, label=spec.spec
    )
    assert out.ok and [numbers(r) for r in results] == [numbers(r) for r in expected]
    assert results[0].truncated > 0 and results[0].params == {"k": 6}
    out, results = evaluate_sandboxed(source, "Reader", two_envs[:1], [None], params={"j": 1})
    assert (out.status, results) == ("error", [])
    assert out.reason == "reader: unknown parameter(s) j (known: k)"


def test_a_failing_group_fails_the_whole_run(two_envs: list[str]) -> None:
    source = candidate("return vote(session.read(2))", schedule="{'w': 1 if beta < 0.7 else 1 / 0}")
    out, results = evaluate_sandboxed(source, "C", two_envs, [0.0, 0.5, 1.0], workers=3)
    assert (out.status, results) == ("error", [])
    assert "schedule(1) raised ZeroDivisionError" in out.reason


def test_split_grid() -> None:
    assert split_grid(3, 5, 1) == [([0, 1, 2], [0, 1, 2, 3, 4])]
    assert split_grid(3, 5, 2) == [([0, 2], [0, 1, 2, 3, 4]), ([1], [0, 1, 2, 3, 4])]
    assert split_grid(1, 5, 2) == [([0], [0, 2, 4]), ([0], [1, 3])]
    assert split_grid(2, 3, 8) == [
        ([0], [0]),
        ([0], [1]),
        ([0], [2]),
        ([1], [0]),
        ([1], [1]),
        ([1], [2]),
    ]
    for n_envs, n_betas, workers in [(4, 11, 3), (1, 1, 4), (7, 2, 5)]:
        groups = split_grid(n_envs, n_betas, workers)
        cells = sorted((e, b) for es, bs in groups for e in es for b in bs)
        assert cells == [(e, b) for e in range(n_envs) for b in range(n_betas)]
        assert len(groups) <= workers


def test_describe(tmp_path: Path) -> None:
    quorum = Candidate((ROOT / "examples/quorum.py").read_text(), "Quorum")
    out = describe_candidate(quorum, limits=LIMITS)
    expected = {"controller": True, "uses_beta": True, "defaults": {}, "knob_problems": []}
    assert out.ok and out.data == expected
    source = (ROOT / "examples/original_method.py").read_text()
    out = describe_candidate(Candidate(source, "OptimalController"), limits=LIMITS)
    assert out.data == {
        "controller": False,
        "uses_beta": None,
        "defaults": {},
        "knob_problems": ["the class must subclass autotts.controllers.Controller"],
    }


class _Fixed(Controller):
    name = "fixed"
    defaults: ClassVar[dict[str, Any]] = {"k": 3}


def _beta_controller(settings: Any) -> type[Controller]:
    class Knob(Controller):
        name, uses_beta = "knob", True

        @classmethod
        def schedule(cls, beta: float) -> Any:
            return settings(beta) if callable(settings) else settings

    return Knob


def test_validate_schedule() -> None:
    assert validate_schedule(_Fixed, [0.5]) is None  # no schedule to check
    assert validate_schedule(object, [0.5]) is None  # original-style class

    ok = {"n": 3, "x": 0.5, "flag": True, "mode": "deep", "np": np.int64(4), "f": np.float32(1)}
    assert validate_schedule(_beta_controller(ok), [0.0, 1.0]) is None
    assert validate_schedule(_beta_controller({}), [0.5]) is None
    problems = {
        "schedule(0.5) returned nan for 'x' (settings must be finite)": {"x": math.nan},
        "schedule(0.5) returned -inf for 'x' (settings must be finite)": {"x": -math.inf},
        "schedule(0.5) returned nan for 'x' (settings must be finite)@np": {"x": np.float64("nan")},
        "schedule(0.5) returned NoneType for 'x' (expected numbers, bools, strings)": {"x": None},
        "schedule(0.5) returned tuple, not a mapping": (1, 2),
        "schedule(0.5) returned the non-string key 2": {2: 1},
    }
    for message, settings in problems.items():
        assert validate_schedule(_beta_controller(settings), [0.5]) == message.split("@")[0]
    late = _beta_controller(lambda b: {"x": 1.0 / (1 - b) if b < 1 else math.inf})
    assert validate_schedule(late, [0.0, 0.5, 1.0]) == (
        "schedule(1) returned inf for 'x' (settings must be finite)"
    )
    with pytest.raises(ZeroDivisionError):
        validate_schedule(_beta_controller(lambda b: {"x": 1 / 0}), [0.5])


def test_eval_result_json_round_trip() -> None:
    [r] = evaluate([synthetic_env(3, n_questions=4, n_chains=8)], ControllerSpec("cmc"), [0.5])
    back = EvalResult.from_json({**r.to_json(), "added_by_a_newer_version": 1})
    assert back == r and isinstance(back.accuracy_ci95, tuple)
    assert isinstance(back.per_question_accuracy, tuple) and back.params == r.params


@pytest.mark.parametrize("workers", [1, 2])
def test_strict_mode_equals_fast_mode(two_envs: list[str], workers: int) -> None:
    """Sessions in the parent and a proxy in the child: the same numbers, episode for episode."""
    source = (ROOT / "examples/quorum.py").read_text()
    kw: dict[str, Any] = dict(protocol=Protocol(replicates=3), budget=60_000, workers=workers)
    fast_out, fast = evaluate_sandboxed(source, "Quorum", two_envs, [0.0, 1.0], **kw)
    strict_out, strict = evaluate_sandboxed(
        source, "Quorum", two_envs, [0.0, 1.0], strict=True, **kw
    )
    assert fast_out.ok and strict_out.ok, (fast_out.reason, strict_out.reason)
    assert [numbers(r) for r in strict] == [numbers(r) for r in fast]
    assert strict_mismatch(fast, strict) is None
    assert sum(r.truncated for r in fast) > 0  # the budget was exercised
