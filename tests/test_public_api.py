"""The front door: ``autotts`` re-exports a small public API, and no module reaches into
another package's internals (an AST scan over ``src/``)."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import autotts

SRC = Path(autotts.__file__).resolve().parent


def test_all_is_importable_and_documented() -> None:
    assert sorted(autotts.__all__) == sorted(autotts._HOMES)
    for name in autotts.__all__:
        assert getattr(autotts, name) is not None
        home = importlib.import_module(f"autotts.{autotts._HOMES[name]}")
        assert name in home.__all__, (name, home.__name__)
    assert "EvalSettings" in dir(autotts)


def test_import_autotts_is_cheap() -> None:
    code = "import sys, autotts; print(sorted(m for m in sys.modules if m.startswith('autotts')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['autotts']"


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _cross_package_imports() -> list[tuple[str, str, str, int]]:
    """(importing module, imported module, name, line) of every ``from autotts.X... import``
    whose target lies in another top-level package than the importing module."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if not target.startswith("autotts.") or _package(target) == _package(module):
                continue
            found += [(module, target, a.name, node.lineno) for a in node.names]
    return found


def test_no_module_imports_another_packages_internals() -> None:
    imports = _cross_package_imports()
    assert len(imports) > 50  # the scan sees the code
    bad = []
    for module, target, name, line in imports:
        package = importlib.import_module(_package(target))
        exported = getattr(package, "__all__", None)
        if target != _package(target):
            bad.append(f"{module}:{line}: {name} from the internal module {target}")
        elif name.startswith("_") or exported is None or name not in exported:
            bad.append(f"{module}:{line}: {name} is not exported by {target}")
    assert bad == []
