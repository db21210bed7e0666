"""Fixtures for the discovery loop: small search/held-out splits and a scripted LLM."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from autotts.data.io import write_env
from autotts.data.synth import synthesize
from autotts.discover import DiscoverConfig
from tests.scripted_server import ScriptedServer, chat_reply

from .candidates import GOOD, HOSTILE_IMPORT, LOOPING, SHRINKING, STEPPER, reply

HELDOUT_MODEL = "HeldModelZ"
HELDOUT_DATASET = "heldoutset"

# what the scripted LLM answers, by (round, slot) read from the prompt
SCRIPT = {
    (0, 0): [reply(GOOD)],
    (0, 1): [reply(HOSTILE_IMPORT)],
    (1, 0): ["I will think about it, no code yet.", reply(STEPPER)],  # malformed, then good
    (1, 1): [reply(SHRINKING)],
    (2, 0): [reply(LOOPING)],
    (2, 1): [reply(GOOD)],  # the same code again: served from the store
}

_WHICH = re.compile(r"This is round (\d+), candidate (\d+)\.")


def scripted_llm(body: dict) -> dict:
    prompt = body["messages"][1]["content"]
    m = _WHICH.search(prompt)
    assert m, "the prompt names its round and slot"
    answers = SCRIPT[(int(m.group(1)), int(m.group(2)))]
    retry = sum(1 for msg in body["messages"] if msg["role"] == "assistant")
    return chat_reply(
        answers[min(retry, len(answers) - 1)], prompt_tokens=2000, completion_tokens=400
    )


@pytest.fixture
def llm():
    with ScriptedServer(chat=scripted_llm) as server:
        yield server


@pytest.fixture(scope="session")
def splits(tmp_path_factory) -> tuple[list[str], list[str]]:
    root = tmp_path_factory.mktemp("splits")
    search, heldout = [], []
    for i in range(2):
        p = root / f"search{i}.json"
        write_env(
            synthesize(
                n_questions=8,
                n_chains=64,
                seed=10 + i,
                model=f"SearchModel{i}",
                dataset="searchset",
            ),
            p,
        )
        search.append(str(p))
        p = root / f"heldout{i}.json"
        write_env(
            synthesize(
                n_questions=8,
                n_chains=64,
                seed=20 + i,
                model=f"{HELDOUT_MODEL}{i}",
                dataset=HELDOUT_DATASET,
            ),
            p,
        )
        heldout.append(str(p))
    return search, heldout


def make_config(splits, server_url: str, rounds: int = 2, **kw) -> DiscoverConfig:
    search, heldout = splits
    return DiscoverConfig(
        search_envs=search,
        heldout_envs=heldout,
        proposer="openai",
        proposer_options={"model": "m", "base_url": server_url, "price_in": 1.0, "price_out": 5.0},
        rounds=rounds,
        candidates_per_round=2,
        betas=[0.0, 0.5, 1.0],
        replicates=4,
        seed=0,
        trace_replicates=2,
        timeout_s=kw.pop("timeout_s", 60.0),
        **kw,
    )


def run_dir_files(run_dir: Path) -> list[str]:
    return sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file())
