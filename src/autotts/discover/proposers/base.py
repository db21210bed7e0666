"""The proposer interface: ``propose(context) -> Proposal``.

A proposer turns what the loop knows (seed code, the history digest of the search split, the
best candidate so far) into one new candidate: controller source code plus a rationale. The loop
does everything else — sandboxing, evaluation, history, selection — the same way for every
proposer, so an LLM, a coding agent and an offline search are interchangeable.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Context:
    """What a proposer may see. Nothing here comes from the held-out split."""

    round: int
    slot: int
    seed: int  # deterministic per (run seed, round, slot)
    seeds: dict[str, str]  # name -> source of seed controllers
    digest: str  # the history digest (search split only)
    best: tuple[str, str] | None  # (candidate id, source) of the best candidate so far
    best_ids: Sequence[str] = ()  # candidates the proposal may build on (credited as parents)
    search_envs: Sequence[Path] = ()  # the search split's environment files
    search_labels: Sequence[str] = ()  # their labels, in the same order
    # every baseline's sweep on the search split (name -> env label -> records)
    baselines: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]] = field(default_factory=dict)


@dataclass
class Proposal:
    code: str
    class_name: str
    rationale: str
    parents: list[str] = field(default_factory=list)
    prompt: str | None = None
    response: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0


class ProposalError(Exception):
    """The proposer produced no usable candidate; ``proposal`` keeps what was exchanged (prompt,
    response, usage) so the attempt is recorded and paid for."""

    def __init__(self, message: str, proposal: Proposal | None = None) -> None:
        super().__init__(message)
        self.proposal = proposal


class NothingToPropose(Exception):
    """The proposer has nothing worth a full evaluation in this slot (the evolve proposer when
    a generation beat nothing): the slot stays empty and the loop goes on."""


class CostLimitReached(Exception):
    """Spending has reached ``--max-cost-usd``: the run stops cleanly."""


class Proposer(Protocol):
    name: str

    def propose(self, context: Context) -> Proposal: ...


_BLOCK = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL)


def controller_class_name(code: str) -> str:
    """The controller class a module defines: the last top-level class subclassing
    ``Controller``. Raises ValueError with a one-line reason."""
    try:
        tree = ast.parse(code)
    except SyntaxError as e:
        raise ValueError(f"the code does not parse: line {e.lineno}: {e.msg}") from None
    names = [
        node.name
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and any(
            (isinstance(b, ast.Name) and b.id == "Controller")
            or (isinstance(b, ast.Attribute) and b.attr == "Controller")
            for b in node.bases
        )
    ]
    if not names:
        raise ValueError("the code defines no class subclassing Controller")
    return names[-1]


def extract_code(reply: str, max_chars: int = 60_000) -> tuple[str, str, str]:
    """(code, class name, rationale) from an LLM reply: the last fenced Python block that
    defines a controller class; the text before it is the rationale. ValueError if malformed."""
    if len(reply) > max_chars:
        raise ValueError(f"the reply is {len(reply)} characters long (limit {max_chars})")
    blocks = list(_BLOCK.finditer(reply))
    if not blocks:
        raise ValueError("the reply has no ```python code block")
    error = ""
    for m in reversed(blocks):
        code = m.group(1).strip() + "\n"
        try:
            name = controller_class_name(code)
        except ValueError as e:
            error = error or str(e)
            continue
        rationale = reply[: m.start()].strip()
        return code, name, rationale[:4000]
    raise ValueError(error)
