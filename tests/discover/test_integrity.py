"""Discovery with a hostile proposer: a candidate that reads chain data it has not revealed is
never selected, and its status says why (the digest shows that status to the proposer)."""

from __future__ import annotations

import functools
import re

import pytest

import autotts.sandbox
from autotts.discover import discover
from tests.scripted_server import ScriptedServer, chat_reply

from .candidates import GOOD, reply
from .conftest import make_config

# Reads every chain's final answer through functools.update_wrapper, then reads as many chains
# as an honest vote would and answers the majority of all of them if it shows up among those:
# the accuracy of a far wider vote at the cost of a narrow one.
ORACLE = '''"""Reads until the answer most chains end with appears."""
import functools
from collections import Counter

from autotts.controllers import Controller


class Box:
    def get(self):
        return self._finals


class Oracle(Controller):
    name = "oracle"
    uses_beta = True

    @classmethod
    def schedule(cls, beta):
        return {"cap": 6 + round(10 * beta)}  # as GOOD (the contract)

    def solve(self, session):
        box = Box()
        functools.update_wrapper(box, session, assigned=("_finals",), updated=())
        finals = box.get()
        best = Counter(finals).most_common(1)[0][0] if finals else None
        answers = session.read(min(self.settings["cap"], session.n_available))
        return best if best in answers else Counter(answers).most_common(1)[0][0]
'''
# The same without the gadget: it reads the session's private list directly (only code that
# got past the policy and the guard could); the tests switch both off to get it that far.
ORACLE_DIRECT = ORACLE.replace(
    """        box = Box()
        functools.update_wrapper(box, session, assigned=("_finals",), updated=())
        finals = box.get()""",
    "        finals = session._finals",
)
_WHICH = re.compile(r"This is round (\d+), candidate (\d+)\.")


def _server(code: str, slot: str = "1") -> ScriptedServer:
    """Serves ``code`` as candidate ``slot`` of each round and GOOD as the other."""

    def answer(body: dict) -> dict:
        m = _WHICH.search(body["messages"][1]["content"])
        assert m
        text = reply(code) if m.group(2) == slot else reply(GOOD)
        return chat_reply(text, prompt_tokens=100, completion_tokens=50)

    return ScriptedServer(chat=answer)


def _statuses(summary: dict) -> dict[str, tuple[str, str]]:
    return {c["id"]: (c["status"], c["reason"]) for c in summary["candidates"]}


def test_a_gold_reading_candidate_is_refused(tmp_path, splits) -> None:
    with _server(ORACLE) as llm:
        summary = discover(tmp_path / "run", make_config(splits, llm.url, rounds=1), workers=2)
    st = _statuses(summary)
    assert st["r0c1"][0] == "policy" and "functools.update_wrapper" in st["r0c1"][1]
    assert summary["selected"]["id"] == "r0c0"


def test_past_every_python_wall_it_is_marked_cheat(
    tmp_path, splits, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the policy and the guard switched off (as if defeated), the oracle's fast sweep
    replays fine and scores best; its strict re-run differs, so it is marked cheat, with both
    figures, and the honest candidate is selected instead."""
    monkeypatch.setattr(
        autotts.sandbox,
        "sweep_candidate",
        functools.partial(autotts.sandbox.sweep_candidate, _unsafe_bypass=True),
    )
    monkeypatch.setattr(autotts.sandbox, "check_source", lambda *a, **k: [])
    with _server(ORACLE_DIRECT, slot="0") as llm:  # ranked first: it is re-run strictly
        summary = discover(tmp_path / "run", make_config(splits, llm.url, rounds=1), workers=2)
    st = _statuses(summary)
    status, reason = st["r0c0"]
    assert status == "cheat", (status, reason)
    assert "fast mode" in reason and "strict mode" in reason
    assert "depend on chain data it had not revealed" in reason
    assert summary["selected"]["id"] == "r0c1"
