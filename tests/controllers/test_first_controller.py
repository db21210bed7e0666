"""docs/controllers.md's "Write your first controller" commands run as written, and the helpers it
documents take what it says they take."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from autotts.cli import cli
from autotts.controllers import (
    ControllerError,
    ControllerSpec,
    beta_confidence,
    controller_class,
    leader,
    source_controller_class,
    vote,
)

ROOT = Path(__file__).resolve().parents[2]


def _readme_commands() -> list[list[str]]:
    text = (ROOT / "docs" / "controllers.md").read_text(encoding="utf-8")
    section = text[text.index("# Write your first controller") :]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block is not None
    commands = []
    for line in block.group(1).splitlines():
        args = shlex.split(line, comments=True)
        assert args[0] == "autotts"
        commands.append(args[1:])
    return commands


def test_the_readme_commands_run_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    commands = _readme_commands()
    assert len(commands) == 3
    outputs = []
    for args in commands:
        result = CliRunner().invoke(cli, args, prog_name="autotts")
        assert result.exit_code == 0, (args, result.output)
        outputs.append(result.stdout)
    assert outputs[1].startswith("OK: examples/first_controller.py:FirstConfident passes")
    assert "first_controller.py" in outputs[2] and "60.67" in outputs[2]


def test_a_file_without_class_uses_its_one_controller(tmp_path: Path) -> None:
    path = ROOT / "examples" / "first_controller.py"
    assert controller_class(str(path)).__name__ == "FirstConfident"
    assert source_controller_class(str(path), path.read_text()) == "FirstConfident"
    original = ROOT / "examples" / "original_method.py"
    assert controller_class(str(original)).__name__ == "OptimalController"
    two = tmp_path / "two.py"
    two.write_text(
        "from autotts.controllers import Controller\n"
        "class A(Controller):\n    name = 'a'\n"
        "class B(Controller):\n    name = 'b'\n"
    )
    for find in (lambda: controller_class(str(two)),
                 lambda: source_controller_class(str(two), two.read_text())):  # fmt: skip
        with pytest.raises(ControllerError, match=r"defines 2 controller classes \(A, B\)"):
            find()
    none = tmp_path / "none.py"
    none.write_text("class Helper:\n    pass\n")
    with pytest.raises(ControllerError, match=r"defines no controller class \(classes defined"):
        controller_class(str(none))


def test_evaluate_cli_takes_a_file_without_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autotts.data import synthesize, write_env

    monkeypatch.chdir(tmp_path)
    write_env(synthesize(n_questions=2, n_chains=4, seed=1), tmp_path / "x.json")
    two = tmp_path / "two.py"
    two.write_text(
        "from autotts.controllers import Controller\n"
        "class A(Controller):\n    name = 'a'\n"
        "class B(Controller):\n    name = 'b'\n"
    )
    result = CliRunner().invoke(cli, ["evaluate", "--env", "x.json", "--controller", str(two)])
    assert result.exit_code == 2
    assert f"{two} defines 2 controller classes (A, B): name one, e.g. {two}:A" in result.stderr


def test_leader_takes_counts_or_any_iterable_of_answers() -> None:
    assert leader(["7", "3", "3"]) == ("3", 2, 1)
    assert leader(iter(["a", "b"])) == ("a", 1, 1)  # ties to the first seen
    assert leader(("x",)) == ("x", 1, 0)
    assert leader([]) == (None, 0, 0)
    assert leader({"a": 2, "b": 3}) == ("b", 3, 2)
    with pytest.raises(TypeError, match="not one str"):
        leader("33")
    assert vote(x for x in ["b", "a", "a"]) == "a"
    assert 0.0 <= beta_confidence(*leader(["a", "a", "b"])[1:]) <= 1.0
    assert ControllerSpec("x").spec == "x"
