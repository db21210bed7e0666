"""Tiny environments built in code, for tests."""

from __future__ import annotations

from collections.abc import Sequence

from autotts.data import Environment, EnvMeta, Question

Chain = tuple[Sequence[str], int, str]  # (probe answers, total tokens, final answer)


def make_question(chains: Sequence[Chain], gold: str, index: int = 0, text: str = "q") -> Question:
    return Question(
        index,
        text,
        gold,
        [list(p) for p, _, _ in chains],
        [t for _, t, _ in chains],
        [f for _, _, f in chains],
    )


def make_env(
    questions: Sequence[tuple[Sequence[Chain], str]],
    interval: int = 500,
    model: str = "tiny",
    dataset: str = "hand",
) -> Environment:
    """``questions`` = [(chains, gold), ...]."""
    qs = tuple(
        make_question(ch, gold, i, f"question {i}") for i, (ch, gold) in enumerate(questions)
    )
    return Environment(EnvMeta(model=model, dataset=dataset, interval_tokens=interval), qs)


def released_records(env: Environment) -> list[dict[str, object]]:
    """The environment in the released JSON format (for writing test files)."""
    from autotts.data.io import question_records

    return question_records(env)
