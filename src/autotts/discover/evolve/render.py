"""Genome → a small, standalone, readable controller module.

The rendered file imports only the public controller API, holds a docstring that says which
mechanisms it combines, ``schedule(beta)`` with one line per setting, and a ``solve`` that
contains only the code of the chosen mechanisms. The genome is kept in the source (``GENOME``)
so a candidate read back from the history can be bred from again.
"""

from __future__ import annotations

from collections.abc import Sequence
from textwrap import fill, indent

from .genome import SETTINGS, Genome, stop_rules
from .solve_code import solve_code

WIDEN_DOC = {
    "none": "never opens chains beyond the first ones",
    "trend": "opens more chains while an EMA of the finished answers' Beta confidence stalls",
    "plateau": "opens more chains when the finished answers' confidence has not improved "
    "for a few steps",
    "disagree": "opens more chains while the live chains' leading answer holds too small a share",
    "ramp": "opens `widen_burst` more chains every `plateau_steps` steps",
}
DEPTH_DOC = {
    "uniform": "advances every live chain one interval per step",
    "aligned": "gives chains that agree with the finished majority a burst of intervals, "
    "deepest first",
    "deepest": "advances only the few most advanced chains each step",
    "shallowest": "advances only the few least advanced chains each step",
    "support": "gives each chain a burst proportional to the share of chains agreeing with it",
    "leader": "gives chains that agree with the live chains' leading answer a burst of "
    "intervals, deepest first",
}
PRUNE_DOC = {
    "none": "never prunes",
    "off_majority": "prunes a chain that stays off the live majority for `patience` steps",
    "abandon": "abandons chains that keep disagreeing with the finished majority, keeping "
    "`floor` live",
}
TRIM_DOC = {
    "none": "",
    "overlong": "Once answers have finished, a live chain `stretch` times longer than the "
    "shortest finished one is pruned (keeping `floor` live). ",
}
RETIRE_DOC = {
    "none": "",
    "settled": "A chain whose probed answer has held for `settle` steps is retired: "
    "it stops generating and its answer counts as finished.",
    "agreeing": "A chain whose probed answer has held for `settle` steps and is the live "
    "leader is retired: it stops generating and its answer counts as finished.",
}
VOTE_DOC = {
    "finished": "",
    "weighted": ", plus the live chains' latest answers weighted by depth",
    "shorter": ", each weighted by (shortest finished length / its length) ** `gamma`",
    "steady": ", each weighted by 1 + `lean` * min(probes in a row showing its answer, 8) / 8",
}
STOP_DOC = {
    "stable": "the live majority has not changed for `stable_steps` steps",
    "conf": "the Beta confidence of the finished answers reaches `conf_threshold`",
    "ema": "an EMA of that confidence reaches `conf_threshold` and is not falling",
}


def _pruning(c: dict[str, str]) -> str:
    return (
        f"Pruning: {PRUNE_DOC[c['prune']]}. {TRIM_DOC[c['trim']]}{RETIRE_DOC[c['retire']]}".strip()
    )


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
        "from autotts.controllers import Controller, beta_confidence, leader\n"
        "from autotts.env import BudgetExceeded",
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
        "from ..env import BudgetExceeded\nfrom .base import Controller, register\n"
        "from .voting import beta_confidence, leader",
        name.title().replace("_", ""),
        name,
        decorator="@register\n",
        class_doc=summary,
    )


def _within_budget(body: str) -> str:
    """The solve body with its actions (from the first opening to the last answer) in a
    ``try`` that, when the budget refuses an action, answers with what was seen."""
    start = body.index('open_chains(min(s["n_init"], max_chains))\n')
    end = body.rindex("return answer()")
    return (
        body[:start]
        + "try:\n"
        + indent(body[start:end], "    ")
        + "except BudgetExceeded:  # the budget is spent: answer with what was seen\n"
        + "    pass\n"
        + body[end:]
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
    uses_ema = "ema" in rules or c["widen"] == "trend"
    uses_conf_now = bool({"conf", "ema"} & set(rules)) or c["widen"] in ("trend", "plateau")
    join = " or " if c["join"] == "any" else " and "
    stop_text = " if " + join.join(STOP_DOC[r] for r in rules)
    doc = [
        *intro,
        "",
        f"Width: starts with `n_init` chains and {WIDEN_DOC[c['widen']]}.",
        f"Depth: {DEPTH_DOC[c['depth']]}"
        + (
            ", probing every `probe_every` steps."
            if c["probe"] == "sparse"
            else ", probing after every advance."
        ),
        _pruning(c),
        f"Stopping: after `warm_up` steps,{stop_text}"
        + ("; or once `token_cap` tokens are spent" if c["cap"] == "tokens" else "")
        + "; at most `max_steps` steps.",
        "Answer: the vote of the finished answers"
        + VOTE_DOC[c["vote"]]
        + (
            "; ERR answers are ignored while any other answer exists."
            if c["err"] == "ignore"
            else "."
        ),
        "Budget: stops at the first action the budget refuses and answers as above.",
    ]
    sched = "\n".join(_schedule_line(n, gene) for n, gene in g.genes.items())
    body = _within_budget(solve_code(g, uses_ema, uses_conf_now, join))
    text = "\n".join(fill(line, 96) if line else "" for line in doc)
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
        "    def solve(self, session):",
        indent(body, " " * 8),
    ]
    return "\n".join(lines).rstrip() + "\n"
