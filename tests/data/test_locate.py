"""Finding environments by name: $AUTOTTS_REPLAY_DIR, then the user cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from autotts.data import EnvNotFound, load_env, replay_dir, resolve_env_paths, write_env
from tests.builders import make_env


def _env_file(path: Path, gold: str = "A") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_env(make_env([([(["A"], 100, gold)], gold)]), path)
    return path


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    replay, cache = tmp_path / "replay", tmp_path / "cache"
    monkeypatch.setenv("AUTOTTS_REPLAY_DIR", str(replay))
    monkeypatch.setenv("AUTOTTS_CACHE_DIR", str(cache))
    monkeypatch.chdir(tmp_path)
    for model in ("M2", "M1"):
        _env_file(replay / model / "d1.json")
    _env_file(cache / "replay" / "M1" / "d1.json")  # shadowed by the replay directory's
    _env_file(cache / "replay" / "M3" / "d2.json")
    return replay, cache


def test_short_names_resolve_in_the_replay_dir_then_the_cache(dirs: tuple[Path, Path]) -> None:
    replay, cache = dirs
    assert replay_dir() == replay
    assert resolve_env_paths(["M1/d1"]) == [replay / "M1" / "d1.json"]
    assert resolve_env_paths(["M1/d1.json"]) == [replay / "M1" / "d1.json"]
    assert resolve_env_paths(["M3/d2"]) == [cache / "replay" / "M3" / "d2.json"]


def test_globs_of_short_names_are_expanded_and_sorted(dirs: tuple[Path, Path]) -> None:
    replay, cache = dirs
    assert resolve_env_paths(["*/d1"]) == [replay / "M1" / "d1.json", replay / "M2" / "d1.json"]
    assert resolve_env_paths(["*/d2", "M2/d1"]) == [
        cache / "replay" / "M3" / "d2.json",
        replay / "M2" / "d1.json",
    ]


def test_existing_paths_are_used_as_given(dirs: tuple[Path, Path], tmp_path: Path) -> None:
    here = _env_file(tmp_path / "M1" / "d1.json")  # a relative path that exists wins
    assert resolve_env_paths(["M1/d1.json"]) == [Path("M1/d1.json")]
    assert resolve_env_paths([here]) == [here]
    assert resolve_env_paths(["M*/d1.json"]) == [Path("M1/d1.json")]  # a glob matching here


def test_nothing_found_names_where_it_looked(dirs: tuple[Path, Path]) -> None:
    replay, _ = dirs
    with pytest.raises(EnvNotFound) as info:
        resolve_env_paths(["M1/d1", "*/aime25"], "--heldout-env")
    message = str(info.value)
    assert message.startswith("--heldout-env '*/aime25': no environment matches (looked in ./, ")
    assert f"$AUTOTTS_REPLAY_DIR={replay}" in message and "cache" in message
    assert message.endswith("make one with 'autotts env synth -o demo.json'")
    with pytest.raises(EnvNotFound, match=r"^--env 'M9/d1': no such file \(looked in"):
        resolve_env_paths(["M9/d1"])


def test_load_env_finds_a_short_name(dirs: tuple[Path, Path]) -> None:
    replay, _ = dirs
    assert load_env("M2/d1").path == str(replay / "M2" / "d1.json")
    with pytest.raises(EnvNotFound, match=r"^M9/d1: no such file"):
        load_env("M9/d1")
