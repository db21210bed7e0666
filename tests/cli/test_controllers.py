"""``autotts controllers``."""

from __future__ import annotations

import json

from autotts.controllers import get_controller, registered

from .conftest import Run


def test_lists_every_registered_controller_with_its_settings(run: Run) -> None:
    result = run("controllers", "--json")
    assert result.exit_code == 0, result.output
    records = {r["name"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert set(records) == set(registered())
    assert records["sc"]["params"] == {"k": 64}
    assert records["sc"]["kind"] == "fixed"
    cmc = records["cmc"]
    assert cmc["kind"] == "beta"
    assert cmc["schedule"]["0.5"] == get_controller("cmc").schedule(0.5)
    assert cmc["schedule"]["1.0"]["max_chains"] == 64
    assert all(r["summary"].endswith(".") for r in records.values())


def test_plain_listing_names_each_controller(run: Run) -> None:
    result = run("controllers")
    assert result.exit_code == 0, result.output
    for name in registered():
        assert any(line.startswith(f"{name} ") for line in result.stdout.splitlines())
