"""A found genome run outside the sandbox by autotts's own interpreter: it acts as its rendered
code does, it is read from files without running them, and the CLI takes it as genome:FILE."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autotts.data import synthesize
from autotts.discover.evolve.interpret import GenomeError, genome_controller, read_genome
from autotts.discover.evolve.render import render

from .common import load_rendered
from .test_catalogue import _episodes, _genomes


def test_the_interpreter_acts_as_the_rendered_code(tmp_path: Path) -> None:
    env = synthesize(n_questions=3, n_chains=16, seed=7, model="Interp")
    for g in _genomes(12):
        path = tmp_path / "controller.py"
        path.write_text(render(g))
        read = read_genome(str(path))
        assert read.to_json() == g.to_json()
        cls = genome_controller(read)
        for beta in (0.0, 0.5, 1.0):
            assert cls.schedule(beta) == load_rendered(g).schedule(beta)
        for budget in (None, 20000.0):
            assert _episodes(cls, env, budget) == _episodes(load_rendered(g), env, budget)


def test_a_genome_file_is_read_not_run(tmp_path: Path) -> None:
    g = _genomes(1)[0]
    as_json = tmp_path / "genome.json"
    as_json.write_text(json.dumps(g.to_json()))
    assert read_genome(str(as_json)).to_json() == g.to_json()
    marker = tmp_path / "ran"
    hostile = tmp_path / "hostile.py"
    hostile.write_text(
        f"open({str(marker)!r}, 'w').write('x')\nGENOME = __import__('os').getcwd()\n"
    )
    with pytest.raises(GenomeError, match="GENOME is not a literal"):
        read_genome(str(hostile))
    assert not marker.exists()
    for text, message in [
        ("x = 1\n", "no GENOME"),
        ("GENOME = {'choices': {}}\n", "not a genome"),
        ("def (:\n", "does not parse"),
    ]:
        bad = tmp_path / "bad.py"
        bad.write_text(text)
        with pytest.raises(GenomeError, match=message):
            read_genome(str(bad))
    with pytest.raises(GenomeError, match="cannot read"):
        read_genome(str(tmp_path / "missing.json"))


def test_the_cli_takes_a_genome_and_says_what_is_wrong_with_one(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from autotts.cli import cli
    from autotts.cli.common import resolve_controller
    from autotts.controllers import ControllerSpec, make_solver

    g = _genomes(1)[0]
    path = tmp_path / "controller.py"
    path.write_text(render(g))
    name = resolve_controller(f"genome:{path}")
    assert name == f"genome-{g.key()}"
    make_solver(ControllerSpec(name, beta=0.5))  # builds
    assert resolve_controller("cmc") == "cmc"
    args = ["solve", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--controller"]
    result = CliRunner().invoke(cli, [*args, f"genome:{tmp_path / 'x.json'}", "What?"])
    assert result.exit_code == 2 and "x.json: cannot read" in result.output
    assert result.output.count("\n") == 1
