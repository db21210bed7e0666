from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Property tests are derandomized (the same examples every run: a CI failure reproduces
# locally) and have no deadline (the machines are shared and noisy).
settings.register_profile("autotts", deadline=None, derandomize=True)
settings.load_profile("autotts")

ROOT = Path(__file__).resolve().parents[1]

pytest_plugins = ["tests.mirror_server"]  # the env pull tests' local raw.githubusercontent.com


def replay_dir() -> Path | None:
    """The released replay data where the CLI looks for it (autotts.data.replay_dir:
    $AUTOTTS_REPLAY_DIR, else ../shared/replay beside the checkout), if it is there."""
    from autotts.data import replay_dir as configured

    d = configured()
    return d if (d / "reference.csv").is_file() else None


@pytest.fixture(autouse=True)
def _private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test gets its own empty user cache (environments looked up there, baseline
    sweeps): none reads or fills the user's."""
    monkeypatch.setenv("AUTOTTS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


NO_REPLAY = "replay data not found (set AUTOTTS_REPLAY_DIR)"


@pytest.fixture(scope="session")
def replay() -> Path:
    d = replay_dir()
    if d is None:
        pytest.skip(NO_REPLAY)
    return d


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """Say so when the checks against the released replay data, or the sandbox's OS jail
    tests, were skipped: the suite then passes without them, and that must not go
    unnoticed."""
    jail = [
        r.nodeid
        for r in terminalreporter.stats.get("skipped", [])
        if isinstance(r.longrepr, tuple) and "no OS jail on this host" in str(r.longrepr[-1])
    ]
    if jail:
        terminalreporter.write_line(
            f"the sandbox's OS jail (bubblewrap) is missing here: skipped {len(jail)} test(s) "
            "of it (install bubblewrap; CI requires them)",
            yellow=True,
            bold=True,
        )
    skipped = [
        r.nodeid
        for r in terminalreporter.stats.get("skipped", [])
        if isinstance(r.longrepr, tuple) and NO_REPLAY in str(r.longrepr[-1])
    ]
    if not skipped:
        return
    where = os.environ.get("AUTOTTS_REPLAY_DIR") or ROOT.parent / "shared" / "replay"
    by_module = Counter(nodeid.split("::")[0] for nodeid in skipped)
    modules = ", ".join(f"{m} ({n})" for m, n in sorted(by_module.items()))
    terminalreporter.write_line(
        f"replay data not found in {where}: skipped {len(skipped)} test(s) that check "
        f"against it (the exactness checks among them): {modules}",
        yellow=True,
        bold=True,
    )
