"""Kill -9 a discovery run at a point, resume it, and get the uninterrupted run's summary."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.scripted_server import ScriptedServer

from .conftest import scripted_llm


def _argv(splits, url, run_dir):
    search, heldout = splits
    return [
        sys.executable,
        "-m",
        "autotts",
        "discover",
        "--search-env",
        *search,
        "--heldout-env",
        *heldout,
        "--proposer",
        "openai",
        "--model",
        "m",
        "--base-url",
        url,
        "--rounds",
        "2",
        "--candidates-per-round",
        "2",
        "--betas",
        "0,0.5,1",
        "--replicates",
        "4",
        "--workers",
        "2",
        "--run-dir",
        str(run_dir),
        "--json",
    ]


def _run(argv, **kw):
    env = {**os.environ, "OPENAI_API_KEY": "test"}
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300, **kw)


def _evaluations(run_dir):
    db = sqlite3.connect(run_dir / "history.sqlite")
    try:
        return dict(db.execute("SELECT key, created FROM evaluations").fetchall())
    except sqlite3.OperationalError:  # the run has created the file but not its tables yet
        return {}
    finally:
        db.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory, splits):
    """An uninterrupted run's summary (the CLI, as the interrupted runs use)."""
    run_dir = tmp_path_factory.mktemp("ref") / "run"
    with ScriptedServer(chat=scripted_llm) as server:
        done = _run(_argv(splits, server.url, run_dir))
    assert done.returncode == 0, done.stderr
    return json.loads((run_dir / "summary.json").read_text())


def _resume_and_compare(run_dir, url, before, reference):
    done = _run(
        [
            sys.executable,
            "-m",
            "autotts",
            "discover",
            "--run-dir",
            str(run_dir),
            "--resume",
            "--json",
            "--workers",
            "2",
        ]
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["config"]["search_envs"] == reference["config"]["search_envs"]
    summary["config"]["proposer_options"].pop("base_url")
    ref = json.loads(json.dumps(reference))
    ref["config"]["proposer_options"].pop("base_url")
    assert summary == ref
    after = _evaluations(run_dir)
    # nothing evaluated before the kill was evaluated again (rows keep their timestamps)
    assert all(after[k] == t for k, t in before.items())
    db = sqlite3.connect(run_dir / "history.sqlite")
    ids = [r[0] for r in db.execute("SELECT id FROM candidates ORDER BY id")]
    assert ids == ["r0c0", "r0c1", "r1c0", "r1c1"]  # none lost, none duplicated


def test_kill_while_proposing_then_resume(tmp_path, splits, reference):
    run_dir = tmp_path / "run"
    proc: list[subprocess.Popen] = []

    def killing_llm(body):
        if "This is round 1, candidate 1." in body["messages"][1]["content"] and proc:
            os.kill(proc[0].pid, signal.SIGKILL)  # dies mid-request, before the reply
        return scripted_llm(body)

    with ScriptedServer(chat=killing_llm) as server:
        env = {**os.environ, "OPENAI_API_KEY": "test"}
        p = subprocess.Popen(
            _argv(splits, server.url, run_dir),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        proc.append(p)
        assert p.wait(timeout=300) == -signal.SIGKILL
        proc.clear()
        before = _evaluations(run_dir)
        assert before  # baselines and round 0 were stored
        _resume_and_compare(run_dir, server.url, before, reference)


def test_kill_while_measuring_then_resume(tmp_path, splits, reference):
    run_dir = tmp_path / "run"
    with ScriptedServer(chat=scripted_llm) as server:
        env = {**os.environ, "OPENAI_API_KEY": "test"}
        p = subprocess.Popen(
            _argv(splits, server.url, run_dir),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if (run_dir / "history.sqlite").exists() and len(_evaluations(run_dir)) >= 12:
                break
            time.sleep(0.05)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
        before = _evaluations(run_dir)
        assert len(before) >= 12
        _resume_and_compare(run_dir, server.url, before, reference)
