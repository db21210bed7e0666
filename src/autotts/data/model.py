"""In-memory replay environments.

A question keeps its chains as plain Python lists (probe answers as interned ``str`` objects,
token lengths as ``int``) because the replay loop reads single elements, where list indexing is
several times faster than numpy scalar access. The compact integer view the rest of the library
analyses with (answers interned to ints, probes as a padded matrix) is derived once, on demand,
by :meth:`Question.arrays`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

ERR = "ERR"
"""The answer the probe extractor records when a chain shows no answer yet."""


@dataclass(frozen=True)
class EnvMeta:
    """Provenance of an environment: what produced the chains and how."""

    model: str = "unknown"
    dataset: str = "unknown"
    interval_tokens: int = 500
    temperature: float | None = None
    probe_prompt: str | None = None
    source: str | None = None
    content_hash: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "dataset": self.dataset,
            "interval_tokens": self.interval_tokens,
            "temperature": self.temperature,
            "probe_prompt": self.probe_prompt,
            "source": self.source,
            "content_hash": self.content_hash,
            **({"extra": self.extra} if self.extra else {}),
        }


@dataclass(frozen=True)
class QuestionArrays:
    """Compact integer view of one question (answers interned to ``answers`` indices)."""

    answers: tuple[str, ...]
    gold: int  # index into ``answers``
    probe_ids: np.ndarray  # (n_chains, max_probes) int32, padded with -1
    n_probes: np.ndarray  # (n_chains,) int32
    tokens: np.ndarray  # (n_chains,) int64
    final_ids: np.ndarray  # (n_chains,) int32


class Question:
    """One question with its pre-collected chains, in released order."""

    def __init__(
        self,
        index: int,
        text: str,
        gold: str,
        probes: list[list[str]],
        tokens: list[int],
        finals: list[str],
    ) -> None:
        self.index = index
        self.text = text
        self.gold = gold
        self.probes = probes
        self.tokens = tokens
        self.finals = finals

    @property
    def n_chains(self) -> int:
        return len(self.tokens)

    @cached_property
    def arrays(self) -> QuestionArrays:
        import numpy as np

        table: dict[str, int] = {}
        for chain in self.probes:
            for a in chain:
                table.setdefault(a, len(table))
        for a in self.finals:
            table.setdefault(a, len(table))
        gold = table.setdefault(self.gold, len(table))
        n = np.fromiter((len(c) for c in self.probes), dtype=np.int32, count=self.n_chains)
        width = int(n.max()) if len(n) else 0
        ids = np.full((self.n_chains, width), -1, dtype=np.int32)
        flat = np.fromiter(
            (table[a] for c in self.probes for a in c), dtype=np.int32, count=int(n.sum())
        )
        ids[np.arange(width)[None, :] < n[:, None]] = flat
        return QuestionArrays(
            answers=tuple(table),
            gold=gold,
            probe_ids=ids,
            n_probes=n,
            tokens=np.asarray(self.tokens, dtype=np.int64),
            final_ids=np.fromiter((table[a] for a in self.finals), np.int32, self.n_chains),
        )

    def remapped(self, canon: dict[str, str]) -> Question:
        """The same chains with every answer (and the gold) replaced by ``canon[answer]``."""
        g = canon.__getitem__
        return Question(
            self.index,
            self.text,
            g(self.gold),
            [[g(a) for a in c] for c in self.probes],
            self.tokens,
            [g(a) for a in self.finals],
        )


@dataclass(frozen=True)
class Environment:
    """A replay environment: questions with their chains, plus provenance."""

    meta: EnvMeta
    questions: tuple[Question, ...]
    path: str | None = None

    @property
    def name(self) -> str:
        return f"{self.meta.model}/{self.meta.dataset}"

    @property
    def interval(self) -> int:
        return self.meta.interval_tokens

    def __len__(self) -> int:
        return len(self.questions)

    def answer_strings(self) -> set[str]:
        out: set[str] = set()
        for q in self.questions:
            out.add(q.gold)
            out.update(q.finals)
            for c in q.probes:
                out.update(c)
        return out
