"""One process per run directory: a second discover (or --resume) on it is refused with one
line naming the holder's pid, and the first run goes on undisturbed."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from autotts.discover import discover
from autotts.locks import DirectoryInUse, lock_directory
from tests.scripted_server import ScriptedServer

from .conftest import make_config, scripted_llm
from .test_resume import _argv, _run


def test_a_locked_run_dir_is_refused_in_process(tmp_path: Path, splits: Any) -> None:
    in_use = rf"run is in use by pid {os.getpid()}$"
    with lock_directory(tmp_path / "run"), pytest.raises(DirectoryInUse, match=in_use):
        discover(tmp_path / "run", make_config(splits, "http://unused"))
    assert not (tmp_path / "run" / "history.sqlite").exists()


def test_two_discovers_on_one_run_dir(tmp_path: Path, splits: Any) -> None:
    release = threading.Event()
    asked = threading.Event()

    def slow_llm(body: dict) -> dict:  # the first run waits here, holding its run dir
        asked.set()
        assert release.wait(120)
        return scripted_llm(body)

    run_dir = tmp_path / "run"
    with ScriptedServer(chat=slow_llm) as server:
        argv = _argv(splits, server.url, run_dir)
        env = {**os.environ, "OPENAI_API_KEY": "test"}
        first = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        try:
            assert asked.wait(120), "the first run never asked its LLM"
            for second_argv in (argv, [*argv[:4], "--run-dir", str(run_dir), "--resume"]):
                second = _run(second_argv)
                assert second.returncode == 2, second.stderr
                assert second.stderr == (
                    f"autotts: error: {run_dir} is in use by pid {first.pid}\n"
                )
        finally:
            release.set()
            out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err.decode()
    summary = json.loads(out)
    assert summary["rounds_completed"] == 2  # the refused processes changed nothing
    assert (run_dir / "summary.json").is_file()
