from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests are derandomized (the same examples every run: a CI failure reproduces
# locally) and have no deadline (the machines are shared and noisy).
settings.register_profile("autotts", deadline=None, derandomize=True)
settings.load_profile("autotts")

ROOT = Path(__file__).resolve().parents[1]


def replay_dir() -> Path | None:
    """The released replay data: $AUTOTTS_REPLAY_DIR, else ../shared/replay beside the checkout."""
    d = Path(os.environ.get("AUTOTTS_REPLAY_DIR") or ROOT.parent / "shared" / "replay")
    return d if (d / "reference.csv").is_file() else None


@pytest.fixture(autouse=True)
def _private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test gets its own empty baseline cache: none reads or fills the user's."""
    monkeypatch.setenv("AUTOTTS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def replay() -> Path:
    d = replay_dir()
    if d is None:
        pytest.skip("replay data not found (set AUTOTTS_REPLAY_DIR)")
    return d
