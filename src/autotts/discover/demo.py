"""The main job's data: what ``autotts discover`` runs on when given no environments.

With ``AUTOTTS_REPLAY_DIR`` pointing at the released replay data (``*/aime24.json`` and
``*/aime25.json``), the search split is every aime24 file and the held-out split every aime25
file. Otherwise both splits are synthetic (:func:`autotts.data.synthesize`), generated into the
run directory with different seeds, so the held-out questions are not the search questions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SEARCH_SEED = 1
HELDOUT_SEED = 2
DEMO_QUESTIONS = 30
DEMO_CHAINS = 128


@dataclass(frozen=True)
class DemoData:
    search: list[str]
    heldout: list[str]
    description: str  # one line saying where the splits come from


def replay_splits() -> DemoData | None:
    """The released aime24 (search) / aime25 (held-out) files under ``$AUTOTTS_REPLAY_DIR``."""
    root = os.environ.get("AUTOTTS_REPLAY_DIR")
    if not root:
        return None
    search = sorted(str(p.resolve()) for p in Path(root).glob("*/aime24.json"))
    heldout = sorted(str(p.resolve()) for p in Path(root).glob("*/aime25.json"))
    if not search or not heldout:
        return None
    return DemoData(
        search,
        heldout,
        f"the replay data in {root}: search split {len(search)} × aime24, "
        f"held-out split {len(heldout)} × aime25",
    )


def synthetic_splits(
    folder: Path, questions: int = DEMO_QUESTIONS, chains: int = DEMO_CHAINS
) -> DemoData:
    """Write a synthetic search split and a synthetic held-out split into ``folder``."""
    from ..data import synthesize, write_env

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for split, seed in (("search", SEARCH_SEED), ("heldout", HELDOUT_SEED)):
        path = folder / f"synthetic-{split}.json"
        env = synthesize(
            n_questions=questions,
            n_chains=chains,
            seed=seed,
            model="synthetic",
            dataset=f"synth-{split}",
        )
        write_env(env, path)
        paths.append(str(path.resolve()))
    return DemoData(
        [paths[0]],
        [paths[1]],
        f"synthetic environments ({questions} questions × {chains} chains; search seed "
        f"{SEARCH_SEED}, held-out seed {HELDOUT_SEED}) written to {folder}",
    )


def demo_splits(
    folder: Path, questions: int = DEMO_QUESTIONS, chains: int = DEMO_CHAINS
) -> DemoData:
    """The replay data if ``$AUTOTTS_REPLAY_DIR`` holds it, else synthetic splits (saying why
    when the variable is set)."""
    found = replay_splits()
    if found is not None:
        return found
    data = synthetic_splits(folder, questions, chains)
    root = os.environ.get("AUTOTTS_REPLAY_DIR")
    if root:
        why = f" (AUTOTTS_REPLAY_DIR={root} holds no */aime24.json and */aime25.json)"
        data = DemoData(data.search, data.heldout, data.description + why)
    return data
