"""A genome as a controller to run live, without running any code rendered from it.

A controller the evolve search found is a genome: data. Its rendered ``controller.py`` is for
people to read and, like every candidate, runs only in the sandbox. To *use* a found genome
outside the sandbox (``autotts solve`` / ``autotts serve --controller genome:FILE``), the
project's own code interprets it: :class:`.catalogue.template.Template`, every option of the
catalogue behind guards on the genome's plan, with the genome's beta schedules (as the exact
fast path computes them). The rendered code is that template with the guards folded, so the
two act alike (``tests/discover/evolve/test_interpret.py`` checks it episode by episode).

The genome is read from a JSON file (``{"choices", "genes"}``) or from the ``GENOME = {...}``
literal of a rendered controller with :func:`ast.literal_eval`: nothing in the file is executed.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from ...controllers import Controller, register_as
from .catalogue.template import Plan, Template
from .genome import Genome
from .render import class_name


class GenomeError(ValueError):
    """A file that holds no valid genome; ``str(err)`` names it and says why."""


def read_genome(path: str) -> Genome:
    """The genome in ``path``: a JSON genome, or a rendered controller's ``GENOME`` literal."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise GenomeError(f"{path}: cannot read: {e.strerror or e}") from None
    data: Any
    if path.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise GenomeError(f"{path}: invalid JSON: {e.msg} (line {e.lineno})") from None
    else:
        data = _literal(path, text)
    try:
        return Genome.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise GenomeError(f"{path}: not a genome: {e}") from None


def genome_node(tree: ast.Module) -> ast.expr | None:
    """The value of a module's top-level ``GENOME = ...`` (the last one), unevaluated."""
    found = None
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "GENOME"
        ):
            found = node.value
    return found


def _literal(path: str, text: str) -> Any:
    try:
        tree = ast.parse(text)
    except SyntaxError as e:
        raise GenomeError(f"{path}:{e.lineno}: does not parse: {e.msg}") from None
    node = genome_node(tree)
    if node is None:
        raise GenomeError(f"{path}: no GENOME = {{...}} (not a controller the evolve search wrote)")
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise GenomeError(f"{path}:{node.lineno}: GENOME is not a literal") from None


def genome_controller(genome: Genome) -> type[Controller]:
    """The template controller running ``genome`` (trusted code; the genome is data). Its
    beta schedule is the one the fast path uses: our renderer's, rendered anew from the genome
    in memory (never the file's)."""
    from .fast.encode import rendered_class

    schedule = rendered_class(genome).schedule

    def _schedule(cls: type, beta: float) -> dict[str, float]:
        return schedule(beta)

    return type(
        class_name(genome),
        (Template,),
        {"name": f"genome-{genome.key()}", "plan": Plan(**genome.choices),
         "schedule": classmethod(_schedule)},
    )  # fmt: skip


def register_genome(path: str) -> str:
    """Register the controller of the genome in ``path``; returns its registered name."""
    cls = genome_controller(read_genome(path))
    return register_as(cls.name, cls)
