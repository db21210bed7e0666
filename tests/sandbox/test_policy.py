"""The static policy: every forbidden construct is reported with its line; benign controllers
(the built-ins, the examples, a kitchen sink of allowed features) pass."""

from __future__ import annotations

import importlib
import inspect
import re
import types
import warnings

import pytest

from autotts.controllers import registered
from autotts.sandbox import Violation, check_source
from autotts.sandbox.allowlist import ALLOWED_MODULES, NUMPY_SUBMODULES, module_allowed

from .conftest import ROOT, candidate, line_of

HEADER = """
import typing, dataclasses, functools
import numpy as np
from autotts.env import Session
"""

# (code, fragment of the expected message); code is the first statement of solve(), or a
# module-level statement when it starts with "@module"
FORBIDDEN = [
    # imports
    ("@module import os", "import of 'os' is not allowed (allowed: math, statistics"),
    ("@module import subprocess", "import of 'subprocess' is not allowed"),
    ("@module import sys", "import of 'sys' is not allowed"),
    ("@module import gc", "import of 'gc' is not allowed"),
    ("@module import inspect", "import of 'inspect' is not allowed"),
    ("@module import ctypes", "import of 'ctypes' is not allowed"),
    ("@module import socket", "import of 'socket' is not allowed"),
    ("@module import pickle", "import of 'pickle' is not allowed"),
    ("@module from os import path", "import from 'os' is not allowed"),
    ("@module import scipy", "import of 'scipy' is not allowed"),
    ("@module import scipy.io", "import of 'scipy.io' is not allowed"),
    ("@module import scipy.stats", "binds 'scipy'"),
    ("@module import numpy.testing", "import of 'numpy.testing' is not allowed"),
    ("@module from numpy import load", "importing 'load' from 'numpy' is not allowed"),
    ("@module from numpy import lib", "importing 'lib' from 'numpy' is not allowed"),
    ("@module from numpy import _core", "importing private name '_core'"),
    ("@module from typing import get_type_hints", "importing 'get_type_hints' from 'typing'"),
    ("@module from functools import singledispatch", "importing 'singledispatch'"),
    ("@module from collections import *", "'from collections import *' is not allowed"),
    ("@module from .base import Controller", "relative imports are not allowed"),
    ("@module import autotts.controllers", "import names from autotts.controllers instead"),
    ("@module from autotts.controllers import make_solver", "not part of the controller API"),
    ("@module from autotts.controllers import controller_class", "not part of the controller"),
    ("@module from autotts.evaluate import evaluate", "import from 'autotts.evaluate'"),
    ("@module from autotts.data import load_env", "import from 'autotts.data'"),
    ("@module from autotts.env.session import _FINAL", "import from 'autotts.env.session'"),
    # builtins that evaluate code, open files or introspect
    ("x = eval('1')", "use of 'eval' is not allowed"),
    ("exec('x = 1')", "use of 'exec' is not allowed"),
    ("c = compile('1', 'f', 'eval')", "use of 'compile' is not allowed"),
    ("f = open('/etc/hostname')", "use of 'open' is not allowed"),
    ("g = globals()", "use of 'globals' is not allowed"),
    ("g = locals()", "use of 'locals' is not allowed"),
    ("v = vars(session)", "use of 'vars' is not allowed"),
    ("p = getattr(session, '_probes')", "use of 'getattr' is not allowed"),
    ("setattr(session, 'budget', None)", "use of 'setattr' is not allowed"),
    ("delattr(session, 'budget')", "use of 'delattr' is not allowed"),
    ("d = dir(session)", "use of 'dir' is not allowed"),
    ("help(session)", "use of 'help' is not allowed"),
    ("input()", "use of 'input' is not allowed"),
    ("breakpoint()", "use of 'breakpoint' is not allowed"),
    ("m = memoryview(b'x')", "use of 'memoryview' is not allowed"),
    ("m = __import__('os')", "use of the dunder name '__import__'"),
    ("b = __builtins__", "use of the dunder name '__builtins__'"),
    # the session's private state, directly and through introspection
    ("p = session._probes", "access to '._probes' is not allowed"),
    ("p = session._c[0][3]", "access to '._c' is not allowed"),
    ("d = session.__dict__", "access to '.__dict__' is not allowed"),
    ("s = session.__slots__", "access to '.__slots__' is not allowed"),
    ("m = type(session).__mro__", "access to '.__mro__' is not allowed"),
    ("k = session.__class__", "access to '.__class__' is not allowed"),
    ("s = object.__subclasses__()", "access to '.__subclasses__' is not allowed"),
    ("g = vote.__globals__", "access to '.__globals__' is not allowed"),
    ("c = vote.__code__", "access to '.__code__' is not allowed"),
    ("m = session.branch.__self__", "access to '.__self__' is not allowed"),
    ("r = super(C, session)._probes", "access to '._probes' is not allowed"),
    ("x = object.__getattribute__(session, 'x')", "access to '.__getattribute__'"),
    (
        "try:\n    session.probe(99)\nexcept Exception as e:\n    t = e.__traceback__",
        "__traceback__",
    ),
    ("f = gen.gi_frame", "access to '.gi_frame' is not allowed (introspection)"),
    ("f = frame.f_back", "access to '.f_back' is not allowed"),
    ("g = frame.f_globals", "access to '.f_globals' is not allowed"),
    ("g = frame.f_locals", "access to '.f_locals' is not allowed"),
    ("f = tb.tb_frame", "access to '.tb_frame' is not allowed"),
    ("f = coro.cr_frame", "access to '.cr_frame' is not allowed"),
    ("c = code.co_code", "access to '.co_code' is not allowed"),
    ("m = type(session).mro()", "access to '.mro' is not allowed"),
    ("a = typing.sys", "access to '.sys' is not allowed (modules outside the allowlist)"),
    ("a = dataclasses.inspect", "access to '.inspect' is not allowed"),
    ("a = typing.operator", "access to '.operator' is not allowed"),
    ("b = dataclasses.re.enum.bltns.eval('1')", "access to '.eval' is not allowed"),
    ("c = dataclasses.copy.deepcopy(session)", "access to '.deepcopy' is not allowed"),
    ("h = typing.get_type_hints(C)", "access to '.get_type_hints' is not allowed"),
    ("d = dataclasses.make_dataclass('D', [])", "access to '.make_dataclass' is not allowed"),
    ("f = functools.singledispatch(vote)", "access to '.singledispatch' is not allowed"),
    ("ok = hasattr(session, '_probes')", "hasattr() needs a literal public attribute name"),
    ("ok = hasattr(session, name)", "hasattr() needs a literal public attribute name"),
    ("match session:\n    case Session(_probes=p):\n        pass", "matching on the attribute"),
    # format strings that read attributes
    ("t = '{0._probes}'.format(session)", "format field '{0._probes}' reads an attribute"),
    ("t = '{s.__class__}'.format(s=session)", "reads an attribute"),
    ("t = '{0:{1._c}}'.format(1, session)", "format field '{1._c}' reads an attribute"),
    ("t = '{0}'\nu = t.format(session)", "'.format' is only allowed as \"literal\".format"),
    ("u = str.format('{0}', session)", "'.format' is only allowed"),
    ("u = '{0}'.format_map", "'.format_map' is only allowed"),
    # files and native code through numpy
    ("a = np.load('x.npy')", "access to '.load' is not allowed (file access)"),
    ("np.save('x', 1)", "access to '.save' is not allowed (file access)"),
    ("np.savez('x', a=1)", "access to '.savez' is not allowed"),
    ("np.savetxt('x', [1])", "access to '.savetxt' is not allowed"),
    ("a = np.loadtxt('x')", "access to '.loadtxt' is not allowed"),
    ("a = np.genfromtxt('x')", "access to '.genfromtxt' is not allowed"),
    ("a = np.fromfile('x')", "access to '.fromfile' is not allowed"),
    ("np.zeros(1).tofile('x')", "access to '.tofile' is not allowed"),
    ("a = np.memmap('x')", "access to '.memmap' is not allowed"),
    ("d = np.DataSource()", "access to '.DataSource' is not allowed"),
    ("p = np.zeros(1).ctypes", "access to '.ctypes' is not allowed"),
    ("c = np.ctypeslib", "access to '.ctypeslib' is not allowed"),
    ("s = np.lib.stride_tricks", "access to '.lib' is not allowed"),
    ("t = np.testing", "access to '.testing' is not allowed"),
    ("f = np.f2py", "access to '.f2py' is not allowed"),
    ("c = np.core", "access to '.core' is not allowed"),
    ("b = np.zeros(1).dumps()", "access to '.dumps' is not allowed"),
    # self/cls are the controller's own objects only
    ("self = session", "'self' may only name the first parameter of a method"),
    ("for cls in [session]:\n    pass", "'cls' may only name the first parameter"),
    ("grab = lambda self: 1", "'self' may only name the first parameter"),
    ("def grab(self):\n    return 1", "'self' may only name the first parameter"),
    ("@module def peek(self):\n    return 1", "'self' may only name the first parameter"),
    ("try:\n    pass\nexcept Exception as self:\n    pass", "'self' may only name"),
    # writes to the session, modules and API classes; class-making tricks
    ("session.interval = 1", "assigning '.interval' is not allowed"),
    ("session.kappa_probe = 0", "assigning '.kappa_probe' is not allowed"),
    ("session.n_probes -= 1", "assigning '.n_probes' is not allowed"),
    ("del session.budget", "assigning '.budget' is not allowed"),
    ("np.percentile = vote", "modifying the imported 'np' is not allowed"),
    ("np.random.default_rng = vote", "modifying the imported 'np' is not allowed"),
    ("m = np", "module 'np' may only be used as 'np.<name>'"),
    ("vote(np)", "module 'np' may only be used as 'np.<name>'"),
    ("S = Session", "the class 'Session' may only be used directly"),
    ("Session.tokens = 0", "modifying the imported 'Session' is not allowed"),
    ("S = type(session)", "'type' may only be called with one argument, as type(x)"),
    ("type(session).tokens = property(vote)", "'type' may only be called with one argument"),
    ("X = type('X', (object,), {})", "'type' may only be called with one argument"),
    ("f = map(type, [session])", "'type' may only be called with one argument"),
    ("@module class M(type):\n    pass\nclass K(metaclass=M):\n    pass", "metaclasses"),
    ("@module __name__ = 'x'", "binding the dunder name '__name__' is not allowed"),
    ("@module def __getattr__(name):\n    return 1", "binding the dunder name '__getattr__'"),
]


def _source(code: str) -> tuple[str, str]:
    """(source, the code's first line) for a FORBIDDEN entry."""
    if code.startswith("@module "):
        code = code.removeprefix("@module ")
        return candidate("return None", header=HEADER + code), code.splitlines()[0]
    return candidate(code + "\nreturn None", header=HEADER), code.splitlines()[0]


@pytest.mark.parametrize(("code", "fragment"), FORBIDDEN, ids=[c for c, _ in FORBIDDEN])
def test_forbidden_construct_is_reported_with_its_line(code: str, fragment: str) -> None:
    source, first = _source(code)
    violations = check_source(source)
    assert violations, f"accepted: {code!r}"
    line = line_of(source, first)
    here = [v for v in violations if fragment in v.message]
    assert here, [str(v) for v in violations]
    assert line <= here[0].line <= line + len(code.splitlines()), [str(v) for v in violations]
    assert str(here[0]).startswith(f"controller.py:{here[0].line}: ")


def test_violation_format_and_order() -> None:
    source = "import os\nfrom autotts.controllers import Controller\nimport sys\nx = eval('1')\n"
    violations = check_source(source, "cand.py")
    assert [v.line for v in violations] == [1, 3, 4]
    assert str(violations[0]) == (
        "cand.py:1: import of 'os' is not allowed (allowed: " + ", ".join(ALLOWED_MODULES) + ")"
    )
    assert violations[2] == Violation(4, 4, "use of 'eval' is not allowed", "cand.py")


def test_syntax_errors_and_oversized_code_are_violations() -> None:
    (v,) = check_source("x = (\n")
    assert v.message.startswith("syntax error") and v.line == 1
    (v,) = check_source("x = 1\n" * 200_000)
    assert "larger than" in v.message
    deep = "x = " + "(" * 500 + "1" + ")" * 500 + "\n"
    assert check_source(deep)  # too deep for the parser or the checker: refused, not crashed


def _with_absolute_imports(source: str) -> str:
    """A built-in controller's module as a candidate would write it."""
    source = re.sub(r"from \.\.env import", "from autotts.env import", source)
    return re.sub(r"from \.(base|voting) import", "from autotts.controllers import", source)


@pytest.mark.parametrize("name", sorted(registered()))
def test_builtin_controllers_pass(name: str) -> None:
    module = inspect.getmodule(registered()[name])
    assert module is not None
    source = _with_absolute_imports(inspect.getsource(module))
    assert check_source(source) == []


@pytest.mark.parametrize("path", ["examples/quorum.py", "examples/original_method.py"])
def test_examples_pass(path: str) -> None:
    assert check_source((ROOT / path).read_text()) == []


def test_kitchen_sink_passes() -> None:
    assert check_source((ROOT / "tests/sandbox/kitchen_sink.py").read_text()) == []


ALLOWED_SNIPPETS = [
    "w = type(session).__name__",
    "ok = type(session) is Session and isinstance(session, (Session, type))",
    "ok = hasattr(session, 'n_open')",
    "t = '{0:.2f} {1!r} {x[0]}'.format(1.0, 'a', x=[1])",
    "t = f'{session.n_open:>4}'",
    "k = sorted([1], key=[2].__getitem__)",
    "session.budget",
    "a = np.random.default_rng(0).random(3)",
    "t = typing.cast(int, 1)",
    "s = super().__repr__()",
]


@pytest.mark.parametrize("code", ALLOWED_SNIPPETS)
def test_allowed_snippets(code: str) -> None:
    source, _ = _source(code)
    assert check_source(source) == []


def test_controller_private_state_and_dunder_methods_are_allowed() -> None:
    source = candidate(
        "self._seen = {}\nreturn self._pick(session)",
        header="""
        class Helper:
            __slots__ = ("_x",)
            def __init__(self):
                self._x = 1
            def __repr__(self):
                return f"Helper({self._x})"
            @classmethod
            def make(cls):
                return cls._build()
            @classmethod
            def _build(cls):
                return cls()
        """,
    ).replace(
        "class C(Controller):", "class C(Controller):\n    def _pick(self, s):\n        return None"
    )
    assert check_source(source) == []


def _reachable_modules() -> dict[str, str]:
    """Modules reachable from the allowed ones through attributes the policy does not block and
    the loader's module views hand out (public attributes; allowed submodules only)."""
    from autotts.sandbox.allowlist import BLOCKED_ATTRIBUTES

    roots = [m for m in (*ALLOWED_MODULES, *NUMPY_SUBMODULES) if not m.startswith("autotts")]
    seen = {m: "(root)" for m in roots}
    todo = [importlib.import_module(m) for m in roots]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while todo:
            module = todo.pop()
            for name in dir(module):
                if name.startswith("_") or name in BLOCKED_ATTRIBUTES:
                    continue
                try:
                    value = getattr(module, name)
                except Exception:
                    continue
                if isinstance(value, types.ModuleType) and value.__name__ not in seen:
                    seen[value.__name__] = f"{module.__name__}.{name}"
                    if module_allowed(value.__name__):
                        todo.append(value)
    return seen


def test_module_views_close_the_paths_names_cannot() -> None:
    """Modules re-export other modules under any name (enum.bltns is builtins); the loader's
    views refuse every module outside the allowlist. This lists what a candidate could reach
    if the views only followed allowed names, and checks the views stop at each of them."""
    from autotts.sandbox.loader import view_of

    reachable = _reachable_modules()
    outside = {m: via for m, via in reachable.items() if not module_allowed(m)}
    assert outside, "expected some re-exported modules (e.g. typing.collections)"
    for via in outside.values():
        parent, _, name = via.rpartition(".")
        view = view_of(importlib.import_module(parent))
        with warnings.catch_warnings(), pytest.raises(AttributeError, match="does not allow"):
            warnings.simplefilter("ignore")  # deprecated scipy namespaces warn on access
            getattr(view, name)
