"""Pulling the released environments: verified downloads from a local stand-in for
raw.githubusercontent.com, on synthetic files with their own table (and, when the replay data
is here, on the real files, which are byte for byte the released ones)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from autotts.data import (
    RELEASED,
    PullError,
    PullResult,
    ReleasedFile,
    cached_state,
    load_env,
    mirror_base,
    pull_released,
    release_path,
    select_released,
)
from autotts.data.released import AUTOTTS_COMMIT, PARALLEL_PROBE_COMMIT, RAW_BASE
from tests.mirror_server import Mirror, serve_mirror


@pytest.fixture
def table(synthetic_table: list[ReleasedFile]) -> list[ReleasedFile]:
    return synthetic_table


def pull(
    entries: list[ReleasedFile], root: Path, mirror: Mirror, **kwargs: Any
) -> list[PullResult]:
    return list(pull_released(entries, root=root, mirror=mirror.url, **kwargs))


def wrong_file_in_place(entry: ReleasedFile, root: Path) -> Path:
    """A file that is not the released one where ``entry`` goes."""
    dest = release_path(entry, root)
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"[]")
    return dest


def leftovers(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name.endswith(".part"))


# ------------------------------------------------------------------------------ the table
def test_the_table_pins_twelve_files_to_commits() -> None:
    models, datasets = ("0.6B", "1.7B", "4B", "8B"), ("aime24", "aime25", "hmmt25")
    assert [e.name for e in RELEASED] == [f"Qwen3-{m}/{d}" for m in models for d in datasets]
    for e in RELEASED:
        assert len(e.sha256) == 64 and int(e.sha256, 16) >= 0 and 2_000_000 < e.size < 4_000_000
        assert e.urls()[0] == (
            f"{RAW_BASE}zhengkid/AutoTTS/{AUTOTTS_COMMIT}/efficient_reasoning_controller/"
            f"test_environment/{e.model}/{e.dataset}.json"
        )
        mirrored = e.model == "Qwen3-8B"
        assert len(e.sources) == (2 if mirrored else 1)
        if mirrored:
            assert e.urls("http://m/")[1] == (
                f"http://m/zhengkid/Parallel-Probe/{PARALLEL_PROBE_COMMIT}/evaluation/"
                f"Qwen3-8B-128/{e.dataset}.json"
            )
    assert len({e.sha256 for e in RELEASED}) == 12


def test_the_aime_entries_are_the_replay_files(replay: Path) -> None:
    for e in RELEASED:
        if e.dataset == "hmmt25":
            continue
        data = (replay / e.model / f"{e.dataset}.json").read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (e.sha256, e.size), e.name


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ([], 12),
        (["Qwen3-4B/aime25"], ["Qwen3-4B/aime25"]),
        (["Qwen3-4B/aime25.json"], ["Qwen3-4B/aime25"]),
        (["*/aime25"], [f"Qwen3-{m}/aime25" for m in ("0.6B", "1.7B", "4B", "8B")]),
        (["Qwen3-8B/*", "*/hmmt25"], ["Qwen3-0.6B/hmmt25", "Qwen3-1.7B/hmmt25", "Qwen3-4B/hmmt25",
                                      "Qwen3-8B/aime24", "Qwen3-8B/aime25", "Qwen3-8B/hmmt25"]),
    ],
)  # fmt: skip
def test_selection_by_name_and_glob_in_table_order(names: list[str], expected: object) -> None:
    chosen = [e.name for e in select_released(names)]
    assert (len(chosen) if isinstance(expected, int) else chosen) == expected


def test_a_name_matching_nothing_lists_what_exists() -> None:
    with pytest.raises(PullError, match=r"'Qwen3-4B/aime26' matches no released environment; "
                       r"there are: Qwen3-0\.6B/aime24, .*Qwen3-8B/hmmt25$"):  # fmt: skip
        select_released(["Qwen3-4B/aime25", "Qwen3-4B/aime26"])


def test_the_mirror_must_be_a_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert mirror_base(None) == RAW_BASE
    assert mirror_base("http://127.0.0.1:9") == "http://127.0.0.1:9/"
    monkeypatch.setenv("AUTOTTS_PULL_MIRROR", "https://example.org/raw/")
    assert mirror_base(None) == "https://example.org/raw/"
    for bad in ("127.0.0.1:8000", "ftp://host/", "http://"):
        with pytest.raises(PullError, match="expected an http://, https:// or file:// URL"):
            mirror_base(bad)


# --------------------------------------------------------------------------- downloading
def test_pull_stores_verified_files_that_load(
    tmp_path: Path, mirror: Mirror, table: list[ReleasedFile]
) -> None:
    root = tmp_path / "cache"
    results = pull(table, root, mirror)
    assert [(r.name, r.status, r.previous, r.error) for r in results] == [
        ("M1/a", "downloaded", "missing", None),
        ("M2/b", "downloaded", "missing", None),
    ]
    for r, e in zip(results, table, strict=True):
        assert r.path == root / e.model / f"{e.dataset}.json" == release_path(e, root)
        assert r.source == mirror.url + e.sources[0]
        assert hashlib.sha256(r.path.read_bytes()).hexdigest() == e.sha256 == r.sha256
        assert len(load_env(r.path)) == 2
        assert cached_state(e, root) == "verified"
    assert leftovers(root) == []


def test_a_verified_file_is_not_fetched_again(
    tmp_path: Path, mirror: Mirror, table: list[ReleasedFile]
) -> None:
    root = tmp_path / "cache"
    pull(table, root, mirror)
    asked = len(mirror.requests)
    assert asked == 2
    again = pull(table, root, mirror)
    assert [(r.status, r.source) for r in again] == [("up-to-date", None)] * 2
    assert len(mirror.requests) == asked
    forced = pull(table, root, mirror, force=True)
    assert [(r.status, r.previous) for r in forced] == [("downloaded", "verified")] * 2
    assert len(mirror.requests) == asked + 2


def test_a_dry_run_fetches_nothing(
    tmp_path: Path, mirror: Mirror, table: list[ReleasedFile]
) -> None:
    root = tmp_path / "cache"
    results = pull(table, root, mirror, dry_run=True)
    assert [r.status for r in results] == ["would-download"] * 2
    assert mirror.requests == [] and not root.exists()


def test_wrong_bytes_are_refused_and_nothing_in_place_is_touched(
    tmp_path: Path, mirror: Mirror, table: list[ReleasedFile]
) -> None:
    root = tmp_path / "cache"
    [a, _] = table
    pull([a], root, mirror)
    good = release_path(a, root).read_bytes()
    served = mirror.root / a.sources[0]
    corrupt = bytearray(good)
    corrupt[len(good) // 2] ^= 1  # one bit, same size
    served.write_bytes(bytes(corrupt))
    got = hashlib.sha256(served.read_bytes()).hexdigest()
    assert len(served.read_bytes()) == a.size and got != a.sha256
    [r] = pull([a], root, mirror, force=True)
    assert r.status == "failed" and r.error is not None
    assert r.error == (
        f"M1/a: {mirror.url}{a.sources[0]}: sha256 mismatch: expected {a.sha256[:12]}, "
        f"got {got[:12]} (nothing stored)"
    )
    assert len(mirror.requests) == 2  # a wrong file is not a transient failure: no retries
    assert release_path(a, root).read_bytes() == good
    assert leftovers(root) == []


def test_a_wrong_cached_file_is_replaced(
    tmp_path: Path, mirror: Mirror, table: list[ReleasedFile]
) -> None:
    root = tmp_path / "cache"
    [a, _] = table
    wrong_file_in_place(a, root)
    assert cached_state(a, root) == "mismatch"
    [r] = pull([a], root, mirror)
    assert (r.status, r.previous) == ("downloaded", "mismatch")
    assert cached_state(a, root) == "verified"


def test_a_wrong_cached_file_stays_when_the_download_fails(
    tmp_path: Path, mirror: Mirror, table: list[ReleasedFile]
) -> None:
    root = tmp_path / "cache"
    [a, _] = table
    dest = wrong_file_in_place(a, root)
    (mirror.root / a.sources[0]).unlink()
    [r] = pull([a], root, mirror)
    assert r.status == "failed" and r.error is not None
    assert r.error.endswith(f"HTTP 404 File not found (nothing stored); {dest} is still not the "
                            "released file")  # fmt: skip
    assert dest.read_bytes() == b"[]"


def test_a_truncated_body_is_retried_then_refused(
    tmp_path: Path, mirror: Mirror, table: list[ReleasedFile]
) -> None:
    root = tmp_path / "cache"
    [a, _] = table
    mirror.fail(a.sources[0], "truncate", "truncate", "truncate")
    [r] = pull([a], root, mirror, retries=2)
    assert r.status == "failed" and r.error is not None
    assert f"truncated: got {a.size // 2} of {a.size} bytes (3 tries)" in r.error
    assert len(mirror.requests) == 3
    assert not release_path(a, root).exists() and leftovers(root) == []


def test_a_transient_failure_is_retried(
    tmp_path: Path, mirror: Mirror, table: list[ReleasedFile]
) -> None:
    root = tmp_path / "cache"
    [a, _] = table
    mirror.fail(a.sources[0], "503", "truncate")
    [r] = pull([a], root, mirror, retries=2)
    assert r.status == "downloaded"
    assert len(mirror.requests) == 3
    assert cached_state(a, root) == "verified"


def test_a_404_on_the_first_source_tries_the_second(
    tmp_path: Path, mirror: Mirror, table: list[ReleasedFile]
) -> None:
    root = tmp_path / "cache"
    [_, b] = table
    data = (mirror.root / b.sources[0]).read_bytes()
    (mirror.root / b.sources[0]).unlink()
    mirror.put(b.sources[1], data)
    [r] = pull([b], root, mirror)
    assert (r.status, r.source) == ("downloaded", mirror.url + b.sources[1])
    assert mirror.requests == ["/" + b.sources[0], "/" + b.sources[1]]  # a 404 is not retried
    assert cached_state(b, root) == "verified"


def test_more_bytes_than_released_are_refused(
    tmp_path: Path, mirror: Mirror, table: list[ReleasedFile]
) -> None:
    root = tmp_path / "cache"
    [a, _] = table
    served = mirror.root / a.sources[0]
    served.write_bytes(served.read_bytes() + b"\n")
    [r] = pull([a], root, mirror)
    assert r.error is not None and f"more than the released {a.size} bytes" in r.error
    assert not release_path(a, root).exists() and leftovers(root) == []


def test_a_file_url_mirror_works_too(
    tmp_path: Path, mirror: Mirror, table: list[ReleasedFile]
) -> None:
    base = mirror.root.as_uri() + "/"
    (mirror.root / table[1].sources[0]).unlink()
    results = list(pull_released(table, root=tmp_path / "cache", mirror=base))
    assert results[0].status == "downloaded"
    assert results[1].error == (
        f"M2/b: {base}{table[1].sources[0]}: no such file; {base}{table[1].sources[1]}: no such "
        "file (nothing stored)"
    )
    assert mirror.requests == []


def test_a_server_that_is_down_fails_every_file_fast(
    tmp_path: Path, table: list[ReleasedFile]
) -> None:
    with serve_mirror(tmp_path / "gone") as gone:
        url = gone.url
    results = list(pull_released(table, root=tmp_path / "cache", mirror=url, retries=1))
    assert [r.status for r in results] == ["failed", "failed"]
    host = url.split("/")[2]
    assert results[0].error == (
        f"M1/a: {url}{table[0].sources[0]}: connection refused (2 tries) (nothing stored)"
    )
    why = f"not tried ({host} did not answer earlier (connection refused))"
    assert results[1].error == (
        f"M2/b: {url}{table[1].sources[0]}: {why}; {url}{table[1].sources[1]}: {why} "
        "(nothing stored)"
    )
    [alone] = list(pull_released(table[:1], root=tmp_path / "c2", mirror=url, retries=0))
    assert alone.error == f"M1/a: {url}{table[0].sources[0]}: connection refused (nothing stored)"
    assert host and not (tmp_path / "cache" / "M1" / "a.json").exists()


def test_ctrl_c_mid_download_keeps_finished_files_and_leaves_no_partial_one(
    tmp_path: Path, mirror: Mirror, table: list[ReleasedFile]
) -> None:
    root = tmp_path / "cache"
    [a, b] = table

    def interrupt_in_b(name: str, received: int, size: int) -> None:
        if name == b.name and received > 0:
            raise KeyboardInterrupt

    stream = pull_released(table, root=root, mirror=mirror.url, progress=interrupt_in_b)
    assert next(stream).status == "downloaded"
    with pytest.raises(KeyboardInterrupt):
        next(stream)
    assert cached_state(a, root) == "verified"
    assert not release_path(b, root).exists()
    assert leftovers(root) == []


def test_progress_reports_bytes_up_to_the_size(
    tmp_path: Path, mirror: Mirror, table: list[ReleasedFile]
) -> None:
    seen: list[tuple[str, int, int]] = []
    pull(table[:1], tmp_path / "cache", mirror, progress=lambda *a: seen.append(a))
    assert seen and seen[-1] == (table[0].name, table[0].size, table[0].size)
    assert [s[1] for s in seen] == sorted(s[1] for s in seen)


# ------------------------------------------------------------------------ the real files
def test_the_real_files_pull_verified_and_load(
    replay: Path, tmp_path: Path, mirror: Mirror, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The eight aime files served as raw.githubusercontent.com would (Qwen3-8B/aime24 only from
    Parallel-Probe's path), pulled into the user cache and found there by short name."""
    aime = select_released(["*/aime24", "*/aime25"])
    for e in aime:
        source = e.sources[1] if e.name == "Qwen3-8B/aime24" else e.sources[0]
        mirror.link(source, replay / e.model / f"{e.dataset}.json")
    results = list(pull_released(aime, mirror=mirror.url))
    assert [r.status for r in results] == ["downloaded"] * 8
    assert results[6].source == mirror.url + aime[6].sources[1]
    monkeypatch.setenv("AUTOTTS_REPLAY_DIR", str(tmp_path / "empty"))
    env = load_env("Qwen3-4B/aime25")
    assert env.path == str(release_path(aime[5])) and len(env) == 30
    assert env.questions[0].n_chains == 128
