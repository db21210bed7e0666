from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def replay_dir() -> Path | None:
    """The released replay data: $AUTOTTS_REPLAY_DIR, else ../shared/replay beside the checkout."""
    d = Path(os.environ.get("AUTOTTS_REPLAY_DIR") or ROOT.parent / "shared" / "replay")
    return d if (d / "reference.csv").is_file() else None


@pytest.fixture(scope="session")
def replay() -> Path:
    d = replay_dir()
    if d is None:
        pytest.skip("replay data not found (set AUTOTTS_REPLAY_DIR)")
    return d
