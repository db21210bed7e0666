"""Controller specs of a report: sweeps, fixed parameters, labels, errors."""

from __future__ import annotations

import re

import pytest

from autotts.controllers import ControllerError, ControllerSpec
from autotts.report import DEFAULT_BETAS, parse_controller, parse_controllers


def test_builtins_get_their_default_sweeps() -> None:
    sc = parse_controller("sc")
    assert (sc.label, sc.sweep, sc.values, sc.table_values) == (
        "sc", "k", (1, 2, 4, 8, 16, 32, 64), (64,),
    )  # fmt: skip
    assert sc.point(4) == ControllerSpec("sc", {"k": 4})
    assert sc.point_label(64) == "sc k=64"
    cmc = parse_controller("cmc")
    assert (cmc.sweep, cmc.values, cmc.table_values) == ("beta", DEFAULT_BETAS, DEFAULT_BETAS)
    assert cmc.point(0.25) == ControllerSpec("cmc", {}, 0.25)
    assert cmc.point_label(0.25) == "cmc β=0.25"
    assert cmc.map_value() == 0.5


def test_explicit_sweeps_and_fixed_parameters() -> None:
    pp = parse_controller("parallel_probe:T=40,prune_patience=7,chains=8,16,32")
    assert pp.label == "parallel_probe T=40 prune_patience=7"
    assert (pp.sweep, pp.values, pp.table_values) == ("chains", (8, 16, 32), (32,))
    assert pp.point(16) == ControllerSpec(
        "parallel_probe", {"T": 40, "prune_patience": 7, "chains": 16}
    )
    one = parse_controller("sc:k=16,label=sixteen")
    assert (one.label, one.sweep, one.sweep_values(), one.point()) == (
        "sixteen", None, (None,), ControllerSpec("sc", {"k": 16}),
    )  # fmt: skip
    betas = parse_controller("cmc:beta=0,1", betas=(0.5,))
    assert betas.values == (0.0, 1.0)
    assert parse_controller("cmc", betas=(0.3,)).values == (0.3,)


def test_file_controllers(tmp_path: object) -> None:
    quorum = parse_controller("examples/quorum.py:Quorum")
    assert (quorum.label, quorum.spec, quorum.sweep) == (
        "Quorum",
        "examples/quorum.py:Quorum",
        "beta",
    )
    original = parse_controller("examples/original_method.py:OptimalController:beta=0.5")
    assert (original.sweep, original.beta) == (None, 0.5)
    assert original.point() == ControllerSpec(
        "examples/original_method.py:OptimalController", {}, 0.5
    )
    swept = parse_controller("examples/original_method.py:OptimalController:beta=0,1")
    assert (swept.sweep, swept.values) == ("beta", (0.0, 1.0))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope", "unknown controller 'nope'"),
        ("sc:beta=0.5", "takes no beta"),
        ("cmc:beta=2", "not in [0, 1]"),
        ("sc:k=1,2,max=3,4", "one parameter at a time"),
        ("sc:16", "expected KEY=VALUE"),
        ("sc:k=1,k=2", "k given twice"),
        ("sc:bad-key=1", "bad parameter name"),
        ("sc:kk=1", "unknown parameter"),
        ("cmc:window=3,4", "sweeps beta, not window"),
    ],
)
def test_bad_specs(text: str, message: str) -> None:
    with pytest.raises(ControllerError, match=re.escape(message)):
        parse_controller(text)


def test_labels_must_be_unique() -> None:
    with pytest.raises(ControllerError, match=r"both labelled 'sc'.*label=NAME"):
        parse_controllers(["sc", "sc:k=1,2"])
    assert [c.label for c in parse_controllers(["sc", "sc:k=1,2,label=small sc"])] == [
        "sc",
        "small sc",
    ]
