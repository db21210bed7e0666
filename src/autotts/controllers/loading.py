"""Turning a controller spec (a registered name, ``path/to/file.py:Class``, or ``file.py`` when
the file defines one controller class) into something that can solve sessions.

File controllers are loaded as given. Subclasses of :class:`Controller` are built as
``Class(beta=b, **params)``; other classes (written for the original AutoTTS code, using the
session's compatibility surface) as ``Class(config={"beta": b}, **params)`` when a beta is given,
else ``Class(**params)``. Either kind is called through ``solve(session)`` (or ``__call__``).

This module executes the file's code in this process: it is for code the user trusts. Candidates
written by a proposer are untrusted and must run in a sandbox instead.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any

from ..env import Session
from .base import Controller, ControllerError, get_controller

Solve = Callable[[Session], Any]


@dataclass(frozen=True)
class ControllerSpec:
    """What to build: a registered name or ``file.py:Class``, named params, and a beta."""

    spec: str
    params: dict[str, Any] = field(default_factory=dict)
    beta: float | None = None

    def with_beta(self, beta: float | None) -> ControllerSpec:
        return ControllerSpec(self.spec, dict(self.params), beta)


@cache
def _load_module(path: str) -> ModuleType:
    """Import a controller file once per process (its classes share its module globals)."""
    if not os.path.isfile(path):
        raise ControllerError(f"controller file not found: {path}")
    module_name = f"autotts_user_{hashlib.sha256(path.encode()).hexdigest()[:16]}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ControllerError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look modules up here
    folder = os.path.dirname(path)
    sys.path.insert(0, folder)  # original method.py files import their siblings
    try:
        spec.loader.exec_module(module)
    except SyntaxError as e:
        del sys.modules[module_name]
        raise ControllerError(f"{path}:{e.lineno}: syntax error: {e.msg}") from None
    except Exception as e:
        del sys.modules[module_name]
        raise ControllerError(f"{path}: importing failed: {type(e).__name__}: {e}") from None
    finally:
        sys.path.remove(folder)
    return module


def _defined_classes(module: ModuleType) -> dict[str, type]:
    return {
        n: v
        for n, v in vars(module).items()
        if isinstance(v, type) and not n.startswith("_") and v.__module__ == module.__name__
    }


def _load_file_class(path: str, class_name: str | None) -> type:
    module = _load_module(path)
    classes = _defined_classes(module)
    if class_name is None:
        return classes[only_controller_class(path, _controller_classes(classes), list(classes))]
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        found = ", ".join(sorted(classes)) or "none"
        raise ControllerError(f"{path}: no class {class_name!r} (classes defined there: {found})")
    return cls


def _controller_classes(classes: dict[str, type]) -> list[str]:
    """Controller subclasses; failing those, classes with a ``solve`` (original style)."""
    native = [n for n, c in classes.items() if issubclass(c, Controller)]
    return native or [n for n, c in classes.items() if callable(getattr(c, "solve", None))]


def only_controller_class(path: str, controllers: list[str], classes: list[str]) -> str:
    """The one controller class of a file given without ``:CLASS``, or a ControllerError that
    lists what is there."""
    if len(controllers) == 1:
        return controllers[0]
    if controllers:
        raise ControllerError(
            f"{path} defines {len(controllers)} controller classes ({', '.join(controllers)}): "
            f"name one, e.g. {path}:{controllers[0]}"
        )
    listed = f" (classes defined there: {', '.join(classes)})" if classes else ""
    raise ControllerError(f"{path} defines no controller class{listed}")


def source_controller_class(path: str, source: str) -> str:
    """The one controller class of a file read as text, found without running it (for code
    that only the sandbox may run): top-level classes deriving from ``Controller``, failing
    those, classes defining ``solve``."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise ControllerError(f"{path}:{e.lineno}: syntax error: {e.msg}") from None
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    native = [
        c.name
        for c in classes
        if any(getattr(b, "id", getattr(b, "attr", None)) == "Controller" for b in c.bases)
    ]
    solving = [
        c.name
        for c in classes
        if any(isinstance(f, ast.FunctionDef) and f.name == "solve" for f in c.body)
    ]
    return only_controller_class(path, native or solving, [c.name for c in classes])


def split_file_spec(spec: str) -> tuple[str, str | None] | None:
    """``("x.py", "C")`` for ``x.py:C``, ``("x.py", None)`` for ``x.py``; None for a name."""
    if spec.endswith(".py"):
        return spec, None
    path, sep, class_name = spec.rpartition(":")
    if sep and path.endswith(".py"):
        return path, class_name
    return None


def controller_class(spec: str) -> Any:
    """The class a spec names (imports a file controller)."""
    file = split_file_spec(spec)
    if file is not None:
        return _load_file_class(os.path.abspath(file[0]), file[1])
    return get_controller(spec)


def uses_beta(spec: str) -> bool | None:
    """True/False for autotts controllers, None when unknown (original-style classes)."""
    cls = controller_class(spec)
    return cls.uses_beta if issubclass(cls, Controller) else None


def make_solver(cs: ControllerSpec) -> Solve:
    """Build a fresh controller and return its solve function."""
    cls = controller_class(cs.spec)
    try:
        if issubclass(cls, Controller):
            obj: Any = cls(beta=cs.beta, **cs.params)
        elif cs.beta is not None:
            obj = cls(config={"beta": cs.beta}, **cs.params)
        else:
            obj = cls(**cs.params)
    except ControllerError:
        raise
    except Exception as e:
        raise ControllerError(f"{cs.spec}: constructing failed: {type(e).__name__}: {e}") from None
    solve = getattr(obj, "solve", None) or (obj if callable(obj) else None)
    if solve is None:
        raise ControllerError(f"{cs.spec}: the class has no solve(session) method")
    return solve
