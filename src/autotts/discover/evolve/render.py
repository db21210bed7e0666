"""Genome → a small, standalone, readable controller module.

The rendered file imports only the public controller API, holds a docstring that says which
mechanisms it combines, ``schedule(beta)`` with one line per setting, and a ``solve`` that
contains only the code of the chosen mechanisms. The genome is kept in the source (``GENOME``)
so a candidate read back from the history can be bred from again.
"""

from __future__ import annotations

from collections.abc import Sequence
from textwrap import fill, indent

from .catalogue import SETTINGS, doc
from .catalogue.specialize import specialize
from .catalogue.template import Plan
from .genome import Genome, stop_rules


def _pruning(c: dict[str, str]) -> str:
    parts = [f"{doc('prune', c['prune'])}.", doc("trim", c["trim"]), doc("retire", c["retire"])]
    return "Pruning: " + " ".join(p for p in parts if p)


def class_name(g: Genome) -> str:
    return f"Evolved{g.key()[:8].upper()}"


def _number(name: str, v: float) -> str:
    if SETTINGS[name].integer:
        return str(int(v))
    return repr(round(v, 4))


def _schedule_line(name: str, gene: tuple[float, float, float]) -> str:
    v0, v1, p = gene
    scale = " * 1000" if name == "token_cap" else ""
    if v0 == v1:
        expr = _number(name, v0)
    else:
        power = "b" if p == 1 else f"b ** {p!r}"
        delta = v1 - v0
        sign = "+" if delta > 0 else "-"
        expr = f"{_number(name, v0)} {sign} {_number(name, abs(delta))} * {power}"
    if SETTINGS[name].integer:
        expr = f"round({expr})"
    if scale:
        expr = f"round(({expr}){scale})"
    return f'"{name}": {expr},  # {SETTINGS[name].doc}'


def render(g: Genome) -> str:
    """The controller module of ``g`` (a candidate: imports the public controller API)."""
    return _module(
        g,
        ["Discovered by the evolve proposer (LLM-free search over controller mechanisms)."],
        "from collections.abc import Iterable\n\n"
        "from autotts.controllers import Controller, beta_confidence, leader\n"
        "from autotts.env import BudgetExceeded, Session",
        class_name(g),
        class_name(g).lower(),
        decorator="",
    )


def as_builtin(g: Genome, name: str, provenance: Sequence[str], summary: str) -> str:
    """The module of ``g`` as a built-in controller registered as ``name``; ``provenance``
    (e.g. the discover command that found it) opens its docstring, ``summary`` (one sentence)
    is the class docstring."""
    return _module(
        g,
        list(provenance),
        "from collections.abc import Iterable\n\n"
        "from ..env import BudgetExceeded, Session\nfrom .base import Controller, register\n"
        "from .voting import beta_confidence, leader",
        name.title().replace("_", ""),
        name,
        decorator="@register\n",
        class_doc=summary,
    )


def _genome_literal(g: Genome) -> str:
    """``GENOME`` as a readable Python literal, one mechanism or schedule per line."""
    lines = ["{", '    "choices": {']
    lines += [f'        "{k}": "{v}",' for k, v in sorted(g.choices.items())]
    lines += ["    },", '    "genes": {']
    lines += [f'        "{k}": {list(v)!r},' for k, v in sorted(g.genes.items())]
    lines += ["    },", "}"]
    return "\n".join(lines)


def _module(
    g: Genome,
    intro: list[str],
    imports: str,
    cls: str,
    name: str,
    decorator: str,
    class_doc: str = "",
) -> str:
    c = g.choices
    rules = stop_rules(c)
    join = doc("join", c["join"])
    stop_text = " if " + join.join(doc("stop", r) for r in rules)
    cap, err = doc("cap", c["cap"]), doc("err", c["err"])
    doc_lines = [
        *intro,
        "",
        f"Width: starts with `n_init` chains and {doc('widen', c['widen'])}.",
        f"Depth: {doc('depth', c['depth'])}, {doc('probe', c['probe'])}.",
        _pruning(c),
        f"Stopping: after `warm_up` steps,{stop_text}"
        + (f"; {cap}" if cap else "")
        + "; at most `max_steps` steps.",
        f"Answer: the vote of the finished answers{doc('vote', c['vote'])}"
        + (f"; {err}." if err else "."),
        "Budget: stops at the first action the budget refuses and answers as above.",
    ]
    sched = "\n".join(_schedule_line(n, gene) for n, gene in g.genes.items())
    body = specialize(Plan(**c))
    if "beta_confidence(" not in body:  # import only what the code calls
        imports = imports.replace("beta_confidence, ", "")
    text = "\n".join(fill(line, 96) if line else "" for line in doc_lines)
    lines = [
        '"""' + text + '\n"""',
        "",
        imports,
        "",
        "# the genome the search bred (mechanisms and beta schedules); not used at run time",
        f"GENOME = {_genome_literal(g)}",
        "",
        "",
        f"{decorator}class {cls}(Controller):",
        *([f'    """{class_doc}"""', ""] if class_doc else []),
        f'    name = "{name}"',
        "    uses_beta = True",
        "",
        "    @classmethod",
        "    def schedule(cls, beta):",
        "        b = min(1.0, max(0.0, beta))",
        "        return {",
        indent(sched, " " * 12),
        "        }",
        "",
        "    def solve(self, session: Session) -> str | None:",
        indent(body, " " * 8),
    ]
    return "\n".join(lines).rstrip() + "\n"
