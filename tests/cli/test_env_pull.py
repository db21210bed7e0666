"""``autotts env pull`` against a local stand-in for raw.githubusercontent.com: synthetic files
under a table of their own for the behaviour, the real aime files (when the replay data is
here) for the end to end path: pulled, then found by ``--env`` in the user cache."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from autotts.data import ReleasedFile, cached_state, release_path, release_root
from tests.mirror_server import Mirror, serve_mirror

from .conftest import Run, one_error_line
from .test_interrupt import _interrupted


@pytest.fixture
def table(
    synthetic_table: list[ReleasedFile], monkeypatch: pytest.MonkeyPatch
) -> list[ReleasedFile]:
    """The command's table replaced by the synthetic one (M1/a, M2/b)."""
    monkeypatch.setattr("autotts.data.RELEASED", tuple(synthetic_table))
    return synthetic_table


def records(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_pull_prints_each_file_where_they_are_and_how_to_use_them(
    run: Run, mirror: Mirror, table: list[ReleasedFile]
) -> None:
    result = run("env", "pull", "--mirror", mirror.url)
    assert result.exit_code == 0, result.output
    root = release_root()
    assert result.stdout.splitlines() == [
        f"M1/a: downloaded 0.0 MB, sha256 verified (o/AutoTTS@c1 via {mirror.url})",
        f"M2/b: downloaded 0.0 MB, sha256 verified (o/AutoTTS@c1 via {mirror.url})",
        f"{root}: 2 downloaded; use them by name: --env M1/a, or --env '*/a'",
    ]
    assert result.stderr == ""  # no progress bar off a terminal
    assert all(cached_state(e) == "verified" for e in table)
    again = run("env", "pull", "--mirror", mirror.url, "M1/a")
    assert again.stdout.splitlines()[0] == "M1/a: up-to-date"
    assert len(mirror.requests) == 2


def test_json_has_one_object_per_file(run: Run, mirror: Mirror, table: list[ReleasedFile]) -> None:
    result = run("env", "pull", "--mirror", mirror.url, "--json")
    assert result.exit_code == 0, result.output
    [a, b] = records(result.stdout)
    assert a == {
        "name": "M1/a",
        "path": str(release_path(table[0])),
        "status": "downloaded",
        "bytes": table[0].size,
        "sha256": table[0].sha256,
        "source": mirror.url + table[0].sources[0],
        "previous": "missing",
        "error": None,
    }
    assert (b["name"], b["status"]) == ("M2/b", "downloaded")
    again = records(run("env", "pull", "--mirror", mirror.url, "--json").stdout)
    assert [(r["status"], r["previous"], r["source"]) for r in again] == [
        ("up-to-date", "verified", None)
    ] * 2


def test_list_shows_the_table_and_the_cache(
    run: Run, mirror: Mirror, table: list[ReleasedFile]
) -> None:
    run("env", "pull", "--mirror", mirror.url, "M1/a")
    release_path(table[1]).parent.mkdir(parents=True)
    release_path(table[1]).write_text("[]")
    asked = len(mirror.requests)
    listed = run("env", "pull", "--list", "--json", "--mirror", mirror.url)
    assert listed.exit_code == 0, listed.output
    assert [(r["name"], r["cached"], r["bytes"], r["sha256"]) for r in records(listed.stdout)] == [
        ("M1/a", "verified", table[0].size, table[0].sha256),
        ("M2/b", "mismatch", table[1].size, table[1].sha256),
    ]
    assert records(listed.stdout)[1]["sources"] == [mirror.url + s for s in table[1].sources]
    human = run("env", "pull", "--list")
    assert human.exit_code == 0, human.output
    lines = [line.split() for line in human.stdout.splitlines()]
    assert ["M1/a", "0.0", "verified", "o/AutoTTS@c1"] in lines
    assert ["M2/b", "0.0", "mismatch", "o/AutoTTS@c1,", "o/Parallel-Probe@c2"] in lines
    assert f"cache: {release_root()}" in human.stdout
    assert len(mirror.requests) == asked


def test_globs_select_and_a_name_matching_nothing_is_one_line(
    run: Run, mirror: Mirror, table: list[ReleasedFile]
) -> None:
    result = run("env", "pull", "--mirror", mirror.url, "--json", "M2/*", "*/b")
    assert [r["name"] for r in records(result.stdout)] == ["M2/b"]
    line = one_error_line(run("env", "pull", "--mirror", mirror.url, "M1/a", "M3/*"))
    assert line == "autotts: error: 'M3/*' matches no released environment; there are: M1/a, M2/b"
    assert mirror.requests == ["/" + table[1].sources[0]]


def test_force_downloads_again_and_dry_run_fetches_nothing(
    run: Run, mirror: Mirror, table: list[ReleasedFile]
) -> None:
    run("env", "pull", "--mirror", mirror.url)
    dry = run("env", "pull", "--mirror", mirror.url, "--dry-run", "--force", "M1/a")
    assert dry.stdout.splitlines()[0] == (
        f"M1/a: would download 0.0 MB from o/AutoTTS@c1 via {mirror.url}"
    )
    assert len(mirror.requests) == 2
    forced = run("env", "pull", "--mirror", mirror.url, "--force", "--json")
    assert [r["status"] for r in records(forced.stdout)] == ["downloaded"] * 2
    assert len(mirror.requests) == 4


def test_a_wrong_cached_file_is_replaced_and_said_so(
    run: Run, mirror: Mirror, table: list[ReleasedFile]
) -> None:
    dest = release_path(table[0])
    dest.parent.mkdir(parents=True)
    dest.write_text("[]")
    result = run("env", "pull", "--mirror", mirror.url, "M1/a")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].endswith(
        "; it replaced a cached copy whose sha256 was not the released one"
    )
    assert cached_state(table[0]) == "verified"


def test_the_mirror_variable_is_the_default_and_a_bad_mirror_is_one_line(
    run: Run, mirror: Mirror, table: list[ReleasedFile]
) -> None:
    result = run("env", "pull", "M1/a", env={"AUTOTTS_PULL_MIRROR": mirror.url})
    assert result.exit_code == 0, result.output
    assert mirror.requests == ["/" + table[0].sources[0]]
    line = one_error_line(run("env", "pull", "--mirror", "localhost:8000"))
    assert line.startswith("autotts: error: mirror 'localhost:8000': expected an http://")


def test_a_server_that_is_down_is_one_error_line(
    run: Run, tmp_path: Path, table: list[ReleasedFile]
) -> None:
    with serve_mirror(tmp_path / "gone") as gone:
        url = gone.url
    line = one_error_line(run("env", "pull", "--mirror", url, "--retries", "1", "M1/a"))
    assert line == (
        f"autotts: error: M1/a: {url}{table[0].sources[0]}: connection refused (2 tries) "
        "(nothing stored)"
    )
    assert not release_path(table[0]).exists()


def test_some_failures_are_a_line_each_and_a_summary(
    run: Run, mirror: Mirror, table: list[ReleasedFile]
) -> None:
    (mirror.root / table[0].sources[0]).unlink()
    result = run("env", "pull", "--mirror", mirror.url)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.splitlines() == [
        f"autotts: error: M1/a: {mirror.url}{table[0].sources[0]}: HTTP 404 File not found "
        "(nothing stored)",
        "autotts: error: 1 of 2 failed: M1/a",
    ]
    assert result.stdout.splitlines()[-1] == (
        f"{release_root()}: 1 failed, 1 downloaded; use them by name: --env M2/b, or --env '*/b'"
    )
    assert cached_state(table[1]) == "verified"


def test_ctrl_c_keeps_finished_files_and_leaves_no_partial_one(
    tmp_path: Path, mirror: Mirror, table: list[ReleasedFile]
) -> None:
    """A real process, its table the synthetic one, stopped with SIGINT while the second
    file's body is half sent (the server holds the rest back until it is released)."""
    mirror.fail(table[1].sources[0], "stall")
    spec = tmp_path / "table.json"
    spec.write_text(json.dumps([dataclasses.asdict(e) for e in table]))
    code = (
        "import json, sys; import autotts.data as d; from autotts.cli import main; "
        "d.RELEASED = tuple(d.ReleasedFile(**{**e, 'sources': tuple(e['sources'])}) "
        "for e in json.load(open(sys.argv.pop(1)))); main()"
    )
    returncode, stderr = _interrupted(
        [str(spec), "env", "pull", "--mirror", mirror.url],
        tmp_path,
        ready=lambda: mirror.stalled.wait(timeout=60),
        launcher=["-c", code],
    )
    root = release_root()
    assert returncode == 130, stderr
    assert stderr.splitlines() == [
        f"autotts: interrupted: 1 verified file(s) are in {root}; no partial file was left; "
        "run the same command to fetch the rest"
    ]
    assert cached_state(table[0]) == "verified"
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == ["a.json"]


# ------------------------------------------------------------------------ the real files
def test_pulled_files_are_found_by_short_name(
    run: Run, replay: Path, tmp_path: Path, mirror: Mirror
) -> None:
    """Qwen3-4B/aime25 served as raw.githubusercontent.com would, pulled, then ``env info``
    finds it in the user cache with the replay directory empty."""
    from autotts.data import select_released

    [entry] = select_released(["Qwen3-4B/aime25"])
    mirror.link(entry.sources[0], replay / "Qwen3-4B" / "aime25.json")
    result = run("env", "pull", "Qwen3-4B/aime25", "--mirror", mirror.url)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].endswith(
        "1 downloaded; use them by name: --env Qwen3-4B/aime25, or --env '*/aime25'"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    info = run("env", "info", "Qwen3-4B/aime25", "--json", "--replicates", "2",
               env={"AUTOTTS_REPLAY_DIR": str(empty)})  # fmt: skip
    assert info.exit_code == 0, info.output
    [record] = records(info.stdout)
    assert record["path"] == str(release_path(entry))
    assert (record["model"], record["dataset"], record["questions"]) == ("Qwen3-4B", "aime25", 30)
