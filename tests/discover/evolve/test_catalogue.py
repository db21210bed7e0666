"""The catalogue is the one source: every option has code in the template and every guard
names an option; a rendered ``solve`` reads exactly the settings its genome schedules, keeps no
state it never reads, holds no trace of the plan, and does what the unspecialized template does
with the same plan, episode by episode."""

from __future__ import annotations

import ast
import random

import pytest

from autotts.data import synthesize
from autotts.discover.evolve import catalogue
from autotts.discover.evolve.catalogue import MECHANISMS, OPTIONS, SETTINGS
from autotts.discover.evolve.catalogue import template as template_module
from autotts.discover.evolve.catalogue.specialize import specialize
from autotts.discover.evolve.catalogue.template import Plan, Template
from autotts.discover.evolve.genome import (
    Genome,
    active_settings,
    needs_every_probe,
    random_genome,
)
from autotts.discover.evolve.render import render
from autotts.evaluate import EvalSettings, Protocol
from autotts.evaluate.runner import new_session, play
from autotts.sandbox import check_source

from .common import PAIR_IDS, PAIRS, load_rendered, pair_genome


def _genomes(n: int = 60) -> list[Genome]:
    rng = random.Random(42)
    return [random_genome(rng) for _ in range(n)] + [pair_genome(m, o) for m, o in PAIRS]


def _solve_tree(g: Genome) -> ast.Module:
    return ast.parse(specialize(Plan(**g.choices)))


def test_records_are_the_genome_space() -> None:
    assert len({(o.mechanism, o.name) for o in OPTIONS}) == len(OPTIONS)
    for o in OPTIONS:
        assert set(o.settings) <= set(SETTINGS), o
        assert catalogue.settings_of(o.mechanism, o.name) == o.settings
    assert set(Plan.__dataclass_fields__) == set(MECHANISMS)


def _guarded_options() -> set[tuple[str, str]]:
    """(mechanism, option) pairs the template compares the plan against."""
    tree = ast.parse(open(template_module.__file__).read())  # noqa: SIM115
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare) or not isinstance(node.left, ast.Attribute):
            continue
        owner = node.left.value
        if not (isinstance(owner, ast.Name) and owner.id in ("p", "self")):
            continue
        for right in node.comparators:
            for c in ast.walk(right):
                if isinstance(c, ast.Constant) and isinstance(c.value, str):
                    found.add((node.left.attr, c.value))
    return found


def test_every_guard_names_an_option() -> None:
    for mech, option in _guarded_options():
        assert option in MECHANISMS[mech], (mech, option)


@pytest.mark.parametrize(("mech", "option"), PAIRS, ids=PAIR_IDS)
def test_every_option_has_its_own_code(mech: str, option: str) -> None:
    """Switching to ``option`` changes the rendered code of some genome."""
    for g in _genomes(40):
        if g.choices[mech] == option:
            continue
        other = Genome({**g.choices, mech: option}, {n: (1, 1, 1) for n in SETTINGS})
        if other.choices[mech] != option:
            continue  # (coherent() moved it)
        if specialize(Plan(**other.choices)) != specialize(Plan(**g.choices)):
            return
    pytest.fail(f"{mech}={option} changes no genome's code")


def _settings_read(tree: ast.AST) -> set[str]:
    return {
        str(n.slice.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Subscript)
        and isinstance(n.value, ast.Name)
        and n.value.id == "s"
        and isinstance(n.slice, ast.Constant)
    }


def test_rendered_code_reads_exactly_the_scheduled_settings() -> None:
    for g in _genomes():
        assert _settings_read(_solve_tree(g)) == set(active_settings(g.choices)), g.choices


def test_rendered_code_keeps_no_unread_state_and_no_plan() -> None:
    for g in _genomes():
        tree = _solve_tree(g)
        assert "p" not in {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}, g.choices
        writes = set()  # names only written through: x.append(...), x[i] = ..., x[i] += ...
        for n in ast.walk(tree):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute):
                if n.func.attr == "append":
                    writes.add(id(n.func.value))
            elif isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store):
                writes.add(id(n.value))
        state = [
            st.target.id
            for st in tree.body
            if isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name)
        ]
        for name in state:
            reads = [
                n
                for n in ast.walk(tree)
                if isinstance(n, ast.Name)
                and n.id == name
                and isinstance(n.ctx, ast.Load)
                and id(n) not in writes
            ]
            assert reads, (name, g.choices)


def test_rendered_code_is_policy_clean_and_imports_what_it_uses() -> None:
    for g in _genomes(20):
        source = render(g)
        assert check_source(source, "controller.py") == []
        tree = ast.parse(source)
        imported = {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom)
                    for a in n.names}  # fmt: skip
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        assert imported <= used, imported - used


def test_the_genome_and_the_plan_agree_on_what_implies_probe_every() -> None:
    for g in _genomes():
        assert needs_every_probe(g.choices) == Plan(**g.choices).holds, g.choices


def _episodes(cls: type, env, budget: float | None) -> list[tuple]:
    rs = EvalSettings(Protocol("official", 2, 0), budget=budget)
    out = []
    for q in range(len(env.questions)):
        for order in rs.protocol.orders(q, env.questions[q].n_chains):
            for beta in (0.0, 0.5, 1.0):
                s = new_session(env, q, order, rs)
                answer, error, truncated = play(s, cls(beta=beta).solve)
                out.append((answer, error, truncated, tuple(s.trace())))
    return out


def test_rendered_code_does_what_the_template_does() -> None:
    env = synthesize(n_questions=3, n_chains=16, seed=5, model="Cat")
    for g in _genomes(30):
        rendered = load_rendered(g)
        plan = {"plan": Plan(**g.choices), "schedule": rendered.schedule}
        planned = type("Planned", (Template,), plan)
        for budget in (None, 20000.0):
            assert _episodes(rendered, env, budget) == _episodes(planned, env, budget), g.choices
