"""`autotts discover` with no arguments: the whole product on the default data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autotts.discover.selection import heldout_below
from autotts.discover.verdict import most_accurate_baseline, plain_result

from .conftest import Run, one_error_line, tiny_env_file


def test_discover_with_no_arguments_runs_the_main_job(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUTOTTS_REPLAY_DIR", raising=False)
    # the default data at a tiny size, and one round, so the test is quick
    r = run("discover", env={"AUTOTTS_DISCOVER_DEMO_SIZE": "6x16", "AUTOTTS_DISCOVER_ROUNDS": "1"})
    assert r.exit_code == 0, r.output
    [run_dir] = (tmp_path / "runs").iterdir()
    assert run_dir.name.startswith("discover-")
    summary = json.loads((run_dir / "summary.json").read_text())
    page = (run_dir / "report" / "index.html").read_text()
    assert "with <code>autotts discover</code>." in page  # what made the report
    cfg = summary["config"]
    assert cfg["proposer"] == "evolve" and cfg["replicates"] == 20 and cfg["rounds"] == 1
    assert cfg["betas"] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert [Path(p).name for p in cfg["search_envs"]] == ["synthetic-search.json"]
    assert [Path(p).name for p in cfg["heldout_envs"]] == ["synthetic-heldout.json"]
    assert cfg["search_hashes"] != cfg["heldout_hashes"]  # different seeds

    out = r.stdout
    assert "Finished in " in out and " s, 1 round(s) done: the evolve proposer, " in out
    assert "20 replicates, betas 0, 0.25, 0.5, 0.75, 1; on synthetic environments (6 " in out
    report_line = next(line for line in out.splitlines() if line.startswith("report: "))
    assert (
        Path(report_line.removeprefix("report: ")).resolve()
        == (run_dir / "report" / "index.html").resolve()
    )
    # the printed result is the summary's, said in words
    printed = out.splitlines()
    result = plain_result(summary, f"runs/{run_dir.name}")
    assert len(result) >= 2 and all(line in printed for line in result)
    if summary["selected"] is None:
        assert "Nothing was found" in out
    elif summary["beats_baselines"]:
        assert f"Found {summary['selected']['id']}: ahead by " in out
    else:
        assert "Nothing beat the baselines on the search split: best is " in out
    assert f"run directory runs/{run_dir.name}: the evolve proposer" in r.stderr
    assert "baselines on 1 environments" in r.stderr

    # a second run in another directory takes the baselines from the cache
    again = run(
        "discover",
        "--run-dir",
        "second",
        env={"AUTOTTS_DISCOVER_DEMO_SIZE": "6x16", "AUTOTTS_DISCOVER_ROUNDS": "1"},
    )
    assert again.exit_code == 0, again.output
    assert "baselines on" not in again.stderr
    second = json.loads((tmp_path / "second" / "summary.json").read_text())
    assert second["heldout"]["sc"] == summary["heldout"]["sc"]


def test_the_replay_data_is_the_default_when_it_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autotts.discover.demo import demo_splits

    for model in ("M2", "M1"):
        (tmp_path / "replay" / model).mkdir(parents=True)
        tiny_env_file(tmp_path / "replay" / model / "aime24.json")
        tiny_env_file(tmp_path / "replay" / model / "aime25.json")
    monkeypatch.setenv("AUTOTTS_REPLAY_DIR", str(tmp_path / "replay"))
    data = demo_splits(tmp_path / "unused")
    assert [Path(p).parent.name + "/" + Path(p).name for p in data.search] == [
        "M1/aime24.json",
        "M2/aime24.json",
    ]
    assert [Path(p).name for p in data.heldout] == ["aime25.json"] * 2
    assert not (tmp_path / "unused").exists()
    monkeypatch.setenv("AUTOTTS_REPLAY_DIR", str(tmp_path / "empty"))
    fallback = demo_splits(tmp_path / "d", 4, 8)
    assert [Path(p).name for p in fallback.search] == ["synthetic-search.json"]
    assert fallback.description.endswith(f"(AUTOTTS_REPLAY_DIR={tmp_path / 'empty'} holds no "
                                         "*/aime24.json and */aime25.json)")  # fmt: skip


def _summary(advantage: dict[str, float | None], beats: bool = True) -> dict:
    def sweep(points: list[tuple[str, float, float]]) -> dict:
        return {"e": [{"point": p, "accuracy": a, "avg_total_tokens": t} for p, a, t in points]}

    return {
        "config": {"heldout_envs": ["h.json"]},
        "selected": {
            "id": "r1c0",
            "score": 0.5,
            "code_path": "candidates/r1c0/controller.py",
            "spec": "candidates/r1c0/controller.py:C",
        },
        "heldout": {
            "sc": sweep([("k=4", 50.0, 4e4), ("k=64", 60.0, 6e5)]),
            "cmc": sweep([("b=0", 55.0, 5e4), ("b=1", 62.0, 5e5)]),
            "selected": sweep([("b=0", 52.0, 3e4), ("b=1", 61.0, 4e5)]),
        },
        "heldout_advantage": {n: {"mean": v} for n, v in advantage.items()},
        "heldout_below": heldout_below({n: {"mean": v} for n, v in advantage.items()}),
        "beats_baselines": beats,
        "best_baseline": "cmc",
        "best_baseline_advantage": 0.4,
        "selection_is_seed": None,
        "search_advantage": {"value": 0.5, "ci95": [0.1, 0.9] if beats else [-0.2, 0.9]},
    }


def test_the_result_says_when_nothing_beat_the_baselines() -> None:
    s = _summary({"sc": 1.5, "cmc": -0.7, "esc": None})
    assert most_accurate_baseline(s["heldout"]) == ("cmc", "b=1", 62.0, 5e5)
    text = "\n".join(plain_result(s, "runs/x"))
    assert "Below cmc on held-out by 0.70 points (at matched tokens)." in text
    assert "It does not beat the baselines" in text
    assert "behind cmc (-0.70); ahead of sc (+1.50) points;" in text
    assert "the most accurate baseline point on the held-out split is cmc (b=1): 62.0 %" in text
    assert "Not comparable at matched tokens (no token overlap): esc." in text
    assert "code: runs/x/candidates/r1c0/controller.py" in text


def test_the_result_says_when_the_selection_is_ahead() -> None:
    text = "\n".join(plain_result(_summary({"sc": 1.5, "cmc": 0.2}), "r"))
    assert "ahead of every baseline it can be compared with: sc by +1.50, cmc by +0.20" in text
    assert "Found r1c0: ahead by +0.50 points at matched tokens over the baselines' joint " in text
    assert "(95 % CI +0.10 to +0.90, paired bootstrap over questions)" in text
    assert "does not beat" not in text and "below" not in text.lower()


def test_level_with_a_baseline_is_not_beating_it() -> None:
    s = _summary({"sc": 1.5, "cmc": 0.001}, beats=False)
    text = "\n".join(plain_result(s, "r"))
    assert "It does not beat the baselines" in text
    assert "level with cmc (+0.00); ahead of sc (+1.50) points" in text
    assert text.startswith(
        "Nothing beat the baselines on the search split: best is cmc (+0.40 points over the "
        "other baselines' frontier). The best candidate, r1c0, is not clearly ahead: +0.50 "
        "points at matched tokens over the baselines' joint frontier on the search split (95 % "
        "CI -0.20 to +0.90, paired bootstrap over questions)"
    )
    assert "Found" not in text and "below" not in text.lower()


def test_the_result_when_nothing_was_selected() -> None:
    s = _summary({})
    s["selected"] = None
    [line] = plain_result(s)
    assert line.startswith(
        "Nothing was found: no candidate passed every check; the best baseline on the search "
        "split is cmc; the most accurate baseline point on the held-out split is"
    )
    assert "cmc (b=1)" in line


def test_cache_info_and_clear(run: Run, tmp_path: Path) -> None:
    from autotts.discover import BaselineCache

    env = {"AUTOTTS_CACHE_DIR": str(tmp_path / "c")}
    BaselineCache(tmp_path / "c").put({"k": 1}, {"result": {}, "trace": {}})
    r = run("cache", "info", "--json", env=env)
    assert r.exit_code == 0 and json.loads(r.output)["entries"] == 1
    r = run("cache", "clear", env=env)
    assert r.output.strip() == f"{tmp_path / 'c'}: deleted 1 baseline measurement(s)"
    assert json.loads(run("cache", "info", "--json", env=env).output)["entries"] == 0


def test_quick_sets_replicates_and_betas_unless_given(run: Run, tmp_path: Path) -> None:
    help_text = " ".join(run("discover", "--help").output.split())
    assert (
        "--quick A first look: --replicates 20, --betas 0:1:0.25 and (evolve) --generations 2 "
        "(unless given)" in help_text
    )
    search, heldout = tiny_env_file(tmp_path / "s.json"), tiny_env_file(tmp_path / "h.json")
    small = ["--rounds", "1", "--population", "2", "--candidates-per-round", "1"]
    r = run(
        "discover",
        "--search-env",
        search,
        "--heldout-env",
        heldout,
        "--run-dir",
        tmp_path / "run",
        "--quick",
        "--replicates",
        "3",
        *small,
        "--json",
    )
    assert r.exit_code == 0, r.output
    printed = json.loads(r.stdout)
    cfg = printed["config"]
    assert cfg["betas"] == [0.0, 0.25, 0.5, 0.75, 1.0] and cfg["replicates"] == 3
    assert cfg["proposer_options"]["generations"] == 2  # --quick's, as not given
    # --json carries summary.json's plain verdict fields
    assert printed == json.loads((tmp_path / "run" / "summary.json").read_text())
    assert printed["beats_baselines"] is False  # every chain of the tiny env answers alike
    assert printed["best_baseline"] in printed["search"]
    assert {"search_advantage", "selection_is_seed", "heldout_below"} <= set(printed)


def test_resume_needs_a_run_dir(run: Run) -> None:
    line = one_error_line(run("discover", "--resume"))
    assert line == "autotts: error: --resume needs --run-dir: the run directory to continue"
