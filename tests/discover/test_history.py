import sqlite3

import pytest

from autotts.discover.history import CandidateRow, EvalKey, History, code_hash


def _row(cid: str, rnd: int, slot: int, code: str = "x = 1\n") -> CandidateRow:
    return CandidateRow(
        cid,
        1,
        rnd,
        slot,
        "C",
        code,
        code_hash(code),
        ["r0c0"],
        "openai",
        "why",
        "p",
        "r",
        10,
        5,
        0.25,
        "proposed",
        "",
        None,
    )


def test_store_round_trip_and_wal(tmp_path):
    with History.open(tmp_path / "run") as h:
        run = h.create_run({"seed": 3})
        assert h.latest_run() == (run, {"seed": 3})
        h.add_candidate(_row("r0c0", 0, 0))
        h.set_status("r0c0", "ok", "", 1.5)
        (c,) = h.candidates(run)
        assert (c.status, c.score, c.parents, c.cost_usd) == ("ok", 1.5, ["r0c0"], 0.25)
        assert h.spent_usd(run) == 0.25
        key = EvalKey("abc", "C", 0.5, "envhash", "official", 10, 0)
        assert h.get_result(key) is None
        h.put_result(
            key,
            {
                "accuracy": 50.0,
                "accuracy_ci95": [40.0, 60.0],
                "avg_total_tokens": 100.0,
                "avg_sequential_tokens": 50.0,
            },
        )
        assert (h.get_result(key) or {})["accuracy"] == 50.0
        # a different replicate count is a different result
        assert h.get_result(EvalKey("abc", "C", 0.5, "envhash", "official", 11, 0)) is None
    mode = sqlite3.connect(tmp_path / "run" / "history.sqlite").execute("PRAGMA journal_mode")
    assert mode.fetchone()[0] == "wal"


def test_slots_are_unique(tmp_path):
    with History.open(tmp_path) as h:
        h.create_run({})
        h.add_candidate(_row("r0c0", 0, 0))
        with pytest.raises(sqlite3.IntegrityError):
            h.add_candidate(_row("r0c0", 0, 0))


def test_rounds(tmp_path):
    with History.open(tmp_path) as h:
        run = h.create_run({})
        h.start_round(run, 0)
        assert not h.round_finished(run, 0)
        h.finish_round(run, 0)
        assert h.round_finished(run, 0)
