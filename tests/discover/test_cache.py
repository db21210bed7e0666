"""The cross-run baseline cache: a second run measures no baseline again and gets the same
numbers; a code change or a corrupt entry misses it; it never stops a run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from autotts.discover import BaselineCache, DiscoverConfig, baselines, discover, loop
from autotts.discover import cache as cache_module
from autotts.discover.baselines import ASC_THRESHOLDS, ESC_WINDOWS, SC_KS
from autotts.discover.proposers import Context, NothingToPropose, Proposal


class Idle:
    """Proposes nothing: a run is then the baselines on both splits."""

    name = "idle"

    def propose(self, context: Context) -> Proposal:
        raise NothingToPropose


def _config(splits: tuple[list[str], list[str]]) -> DiscoverConfig:
    search, heldout = splits
    return DiscoverConfig(
        search_envs=search,
        heldout_envs=heldout,
        rounds=1,
        betas=[0.0, 1.0],
        replicates=3,
        trace_replicates=1,
    )


@pytest.fixture
def measured(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many baseline units each call of the loop's run_units measured."""
    calls: list[int] = []
    real = loop.run_units

    def counting(envs: Any, units: Any, *args: Any) -> None:
        calls.append(len(units))
        real(envs, units, *args)

    monkeypatch.setattr(loop, "run_units", counting)
    return calls


def _run(tmp_path: Path, name: str, splits: Any, cache: BaselineCache) -> dict[str, Any]:
    return discover(tmp_path / name, _config(splits), proposer=Idle(), cache=cache, workers=1)


def _baselines(summary: dict[str, Any]) -> tuple[Any, Any]:
    return summary["search"], summary["heldout"]


def test_a_second_run_measures_no_baseline_again(
    tmp_path: Path, splits: Any, measured: list[int]
) -> None:
    cache = BaselineCache(tmp_path / "cache")
    first = _run(tmp_path, "a", splits, cache)
    # 5 sc + 8 asc thresholds + 9 esc windows + parallel_probe + 2 cmc betas, on 2
    # environments, per split
    per_split = (len(SC_KS) + len(ASC_THRESHOLDS) + len(ESC_WINDOWS) + 1 + 2) * 2
    assert per_split == 50
    assert measured == [per_split, per_split] and cache.hits == 0
    second = _run(tmp_path, "b", splits, BaselineCache(tmp_path / "cache"))
    assert measured == [per_split, per_split]  # nothing measured the second time
    assert _baselines(second) == _baselines(first)
    assert len(cache.entries()) == 2 * per_split
    for rows in _baselines(first)[0]["asc"].values():  # per search environment
        assert [r["point"] for r in rows] == [f"threshold={t:g}" for t in ASC_THRESHOLDS]


def test_a_new_baseline_point_is_measured_and_the_old_ones_are_not(
    tmp_path: Path, splits: Any, measured: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(tmp_path, "a", splits, BaselineCache(tmp_path / "cache"))
    monkeypatch.setattr(baselines, "ASC_THRESHOLDS", (*ASC_THRESHOLDS, 0.999))
    _run(tmp_path, "b", splits, BaselineCache(tmp_path / "cache"))
    assert measured[2:] == [2, 2]  # the new threshold on 2 environments per split


def test_every_baseline_point_has_its_own_key_and_the_list_is_fingerprinted() -> None:
    from autotts.discover.results import builtin_code

    specs = [spec for pts in baselines.baseline_points([0.0, 1.0]).values() for _, spec in pts]
    keys = {(builtin_code(spec), spec.beta) for spec in specs}
    assert len(keys) == len(specs)
    # the point list lives in discover/baselines.py, whose source is in the fingerprint: any
    # change to the list misses every cached record
    assert "discover/baselines.py" in cache_module._SOURCES


def test_a_code_change_misses_the_cache(
    tmp_path: Path, splits: Any, measured: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(tmp_path, "a", splits, BaselineCache(tmp_path / "cache"))
    monkeypatch.setattr(cache_module, "code_fingerprint", lambda: "another-version")
    _run(tmp_path, "b", splits, BaselineCache(tmp_path / "cache"))
    assert len(measured) == 4 and measured[2:] == measured[:2] and measured[0] > 0


def test_the_fingerprint_follows_the_controllers_source() -> None:
    fp = cache_module.code_fingerprint()
    assert len(fp) == 16 and fp == cache_module.code_fingerprint()


def test_a_corrupt_entry_is_measured_again_with_a_warning(
    tmp_path: Path, splits: Any, measured: list[int]
) -> None:
    cache = BaselineCache(tmp_path / "cache")
    first = _run(tmp_path, "a", splits, cache)
    entries = cache.entries()
    entries[0].write_text('{"key": {"code": "trunc')  # a torn write from another tool
    entries[1].write_text("[]")
    warnings: list[str] = []
    second = _run(tmp_path, "b", splits, BaselineCache(tmp_path / "cache", warnings.append))
    assert sum(measured[2:]) == 2
    assert len(warnings) == 2 and all("ignoring the corrupt cache entry" in w for w in warnings)
    assert _baselines(second) == _baselines(first)
    third = BaselineCache(tmp_path / "cache")
    _run(tmp_path, "c", splits, third)
    assert third.misses == 0  # rewritten


def test_an_unwritable_cache_is_a_warning(tmp_path: Path, splits: Any) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache directory should be")
    warnings: list[str] = []
    summary = _run(tmp_path, "a", splits, BaselineCache(blocker, warnings.append))
    assert summary["heldout"]["sc"]
    assert len(warnings) == 1 and "cannot write the baseline cache" in warnings[0]
    assert blocker.read_text().startswith("a file")


def test_the_cache_directory_is_overridable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOTTS_CACHE_DIR", str(tmp_path / "c"))
    assert cache_module.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("AUTOTTS_CACHE_DIR")
    assert cache_module.cache_dir().name == "autotts"
