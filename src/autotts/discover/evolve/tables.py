"""Per-question tables of a sweep, and the question folds the evolve search uses.

A :class:`Table` holds one controller on one environment: for each beta and question, the
fraction of replicates answered right and the mean cost and sequential tokens per episode. Any
subset of questions gives a sweep (``rows``) exactly as the evaluator would have reported it on
those questions alone, so a fold costs nothing extra to score.

Folds. The search split's questions are split into a *breeding* fold (two thirds) and a
*validation* fold (every third question, ``i % 3 == 2``). Breeding — parents, the TPE sampler,
the archive — only ever sees the breeding fold's fitness; promotion to a full measurement and
the final selection rank by the validation fold's. Question folds rather than leaving a model out,
because the held-out split asks new questions of the same models: a validation fold of unseen
questions is what the held-out judgement will be. Interleaved rather than contiguous, because
benchmarks list their problems in rising difficulty (AIME's 1..15 per exam), so each fold spans
the whole range. An environment of fewer than three questions cannot spare one: both of its
folds are all its questions (its validation fitness is then its breeding fitness).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

VALIDATION_EVERY = 3


def validation_questions(n: int) -> tuple[int, ...]:
    """The validation fold of an environment with ``n`` questions (every third one; all of
    them when there are fewer than three)."""
    if n < VALIDATION_EVERY:
        return tuple(range(n))
    return tuple(range(VALIDATION_EVERY - 1, n, VALIDATION_EVERY))


def breeding_questions(n: int) -> tuple[int, ...]:
    """The breeding fold: the questions not in :func:`validation_questions` (all of them
    when there are fewer than three)."""
    if n < VALIDATION_EVERY:
        return tuple(range(n))
    held = set(validation_questions(n))
    return tuple(q for q in range(n) if q not in held)


Row = tuple[float, float, float, float]  # (beta, tokens, sequential tokens, accuracy %)


@dataclass(frozen=True)
class Table:
    """Per beta (rows of the arrays) and question (columns): fraction right, mean cost and
    mean sequential tokens per episode."""

    betas: tuple[float, ...]
    accuracy: np.ndarray
    tokens: np.ndarray
    sequential: np.ndarray

    @property
    def n_questions(self) -> int:
        return int(self.accuracy.shape[1])

    def rows(self, questions: Sequence[int] | None = None) -> list[Row]:
        """The sweep on ``questions`` (default all): one row per beta, in beta order."""
        cols = list(range(self.n_questions)) if questions is None else list(questions)
        acc = self.accuracy[:, cols].mean(axis=1)
        tok = self.tokens[:, cols].mean(axis=1)
        seq = self.sequential[:, cols].mean(axis=1)
        return [
            (b, float(t), float(s), 100.0 * float(a))
            for b, t, s, a in zip(self.betas, tok, seq, acc, strict=True)
        ]

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, Any]]) -> Table:
        """A table from evaluator records (``{"beta", "result": EvalResult JSON}``) of one
        environment; they must carry per-question tokens (results from this version on)."""
        res = [r["result"] for r in records]
        for r in res:
            if not r.get("per_question_tokens"):
                raise ValueError(
                    f"{r.get('controller')} on {r.get('env')}: the record has no per-question "
                    "tokens (measured by an older autotts); clear the baseline cache"
                )
        return cls(
            tuple(float(r["beta"]) if r.get("beta") is not None else 0.0 for r in res),
            np.array([r["per_question_accuracy"] for r in res], dtype=float),
            np.array([r["per_question_tokens"] for r in res], dtype=float),
            np.array([r["per_question_sequential"] for r in res], dtype=float),
        )
