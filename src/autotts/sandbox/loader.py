"""Executing candidate code as a module, in the sandbox child, after the guard is installed.

The module gets its own builtins: only the harmless ones (no ``eval``, ``open``, ``getattr``,
...), an ``__import__`` that admits the policy's allowlist only, and a ``__build_class__`` that
refuses metaclasses and classes deriving from anything but the candidate's own classes,
``object``, ``Controller`` (and built-in controllers), plain containers, exceptions and typing
helpers — so no candidate class inherits the private machinery of a trusted one.

Imports give the candidate :class:`ModuleView` objects, not modules: public attributes only,
read-only, and no submodules outside the allowlist — modules re-export other modules under any
name (``enum.bltns`` is ``builtins``), so no list of names could close those paths.

Every method whose first parameter is ``self``/``cls`` starts with a check, added to the parsed
code, that it was called on an object of a class the candidate defined: otherwise
``Helper.peek(session)`` would make a foreign object ``self`` and open its private attributes.
"""

from __future__ import annotations

import abc
import ast
import builtins
import collections
import linecache
import sys
import types
import typing
from collections.abc import Callable
from typing import Any

from ..controllers import Controller
from .allowlist import SELF_NAMES, attribute_allowed, from_import_problem, module_allowed
from .outcome import Rejection

CANDIDATE_MODULE = "autotts_candidate"
OWNER_CHECK = "__sandbox_owner_check__"

SAFE_BUILTINS = (
    "abs", "all", "any", "ascii", "bin", "bool", "bytearray", "bytes", "callable", "chr",
    "classmethod", "complex", "dict", "divmod", "enumerate", "filter", "float", "format",
    "frozenset", "hasattr", "hash", "hex", "id", "int", "isinstance", "issubclass", "iter", "len",
    "list", "map", "max", "min", "next", "object", "oct", "ord", "pow", "print", "property",
    "range", "repr", "reversed", "round", "set", "slice", "sorted", "staticmethod", "str", "sum",
    "super", "tuple", "type", "zip", "aiter", "anext", "NotImplemented", "Ellipsis",
)  # fmt: skip
SAFE_BASES: frozenset[type] = frozenset(
    (object, int, float, complex, tuple, list, dict, set, frozenset, bytearray,
     collections.Counter, collections.OrderedDict, collections.defaultdict, collections.deque,
     collections.UserDict, collections.UserList, Controller)
)  # fmt: skip
SAFE_BASE_MODULES = ("typing", "collections.abc")
SAFE_METACLASSES: frozenset[type] = frozenset(
    (type, abc.ABCMeta, getattr(typing, "_ProtocolMeta", type))
)

Refuse = Callable[[str], object]


def load_candidate(source: str, filename: str, class_name: str, refuse: Refuse) -> type:
    """Transform and execute ``source`` (already checked against the policy, unless a test
    switched that off); returns its class ``class_name``. Problems are raised as
    :class:`Rejection` (``policy`` or ``error``); ``refuse`` ends the process on a run-time
    refusal."""
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as e:
        raise Rejection("policy", f"{filename}:{e.lineno}: syntax error: {e.msg}") from None
    code = compile(_add_owner_checks(tree), filename, "exec", dont_inherit=True)
    module = types.ModuleType(CANDIDATE_MODULE)
    module.__dict__["__builtins__"] = candidate_builtins(refuse)
    sys.modules[CANDIDATE_MODULE] = module
    # tracebacks and warnings read source lines through linecache: never from a file
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:
        exec(code, module.__dict__)
    except MemoryError:
        raise
    except Exception as e:
        raise Rejection("error", describe(e, "loading the controller raised ")) from e
    cls = module.__dict__.get(class_name)
    if not (isinstance(cls, type) and cls.__module__ == CANDIDATE_MODULE):
        found = sorted(
            n
            for n, v in module.__dict__.items()
            if isinstance(v, type) and v.__module__ == CANDIDATE_MODULE and not n.startswith("_")
        )
        raise Rejection(
            "error",
            f"{filename} defines no class {class_name!r} "
            f"(classes defined there: {', '.join(found) or 'none'})",
        )
    return cls


def policy_reason(violations: list[Any]) -> str:
    more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
    return f"{violations[0]}{more}"


def describe(e: BaseException, doing: str = "") -> str:
    """``controller.py:12: <doing>ZeroDivisionError: division by zero``: the exception, at the
    innermost line of the candidate's code its traceback passes through (if any)."""
    where = ""
    tb = e.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_globals.get("__name__") == CANDIDATE_MODULE:
            where = f"{frame.f_code.co_filename}:{tb.tb_lineno}: "
        tb = tb.tb_next
    try:
        message = str(e)  # the candidate's own exception class may define __str__
    except Exception:
        message = "<unprintable>"
    return f"{where}{doing}{type(e).__name__}: {message}"


class ModuleView:
    """What the candidate gets for an allowed module: its public attributes, read-only; a
    submodule only if it is allowed too (as a view). Attributes are cached on first use."""

    def __init__(self, module: types.ModuleType) -> None:
        object.__setattr__(self, "_ModuleView__module", module)

    def __getattr__(self, name: str) -> Any:
        module: types.ModuleType = object.__getattribute__(self, "_ModuleView__module")
        if name.startswith("_") and name != "__name__":
            raise AttributeError(f"module {module.__name__!r} has no public attribute {name!r}")
        if name != "__name__" and not attribute_allowed(module.__name__, name):
            raise AttributeError(f"the sandbox does not allow {module.__name__}.{name}")
        value = getattr(module, name)
        if isinstance(value, (types.ModuleType, ModuleView)):
            value = view_of(value) if module_allowed(value.__name__) else None
            if value is None:
                raise AttributeError(
                    f"module {module.__name__!r}: {name!r} is a module the sandbox does not allow"
                )
        object.__setattr__(self, name, value)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("modules are read-only in the sandbox")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("modules are read-only in the sandbox")

    def __repr__(self) -> str:
        return f"<module {self.__name__!r} (sandbox view)>"


_VIEWS: dict[str, ModuleView] = {}


def view_of(module: Any) -> ModuleView:
    if isinstance(module, ModuleView):
        return module
    view = _VIEWS.get(module.__name__)
    if view is None:
        view = _VIEWS[module.__name__] = ModuleView(module)
    return view


def candidate_builtins(refuse: Refuse) -> dict[str, Any]:
    """The builtins of the candidate's module."""
    real_import, real_build_class = builtins.__import__, builtins.__build_class__
    out: dict[str, Any] = {n: getattr(builtins, n) for n in SAFE_BUILTINS}
    out.update(
        (n, v)
        for n, v in vars(builtins).items()
        if isinstance(v, type) and issubclass(v, BaseException)
    )

    def guarded_import(
        name: str,
        globals: Any = None,
        locals: Any = None,
        fromlist: Any = (),
        level: int = 0,
    ) -> Any:
        if level:
            refuse("a relative import")
        if fromlist:
            for item in fromlist:
                problem = from_import_problem(name, item)
                if problem:
                    refuse(f"an import: {problem}")
        elif not module_allowed(name) or name.startswith("autotts"):
            refuse(f"importing '{name}'")
        return view_of(real_import(name, globals, locals, fromlist, level))

    def build_class(func: Any, name: str, *bases: Any, **kwds: Any) -> type:
        if "metaclass" in kwds:
            refuse(f"a metaclass on class {name}")
        cls: type = real_build_class(func, name, *bases, **kwds)
        problem = class_problem(cls)
        if problem:
            refuse(f"class {name} {problem}")
        return cls

    def owner_check(obj: Any) -> None:
        owner = obj if isinstance(obj, type) else type(obj)
        if getattr(owner, "__module__", None) != CANDIDATE_MODULE:
            refuse(
                f"a controller method called with a {owner.__name__} object as self/cls "
                "(only the controller's own objects may be)"
            )

    out.update(__import__=guarded_import, __build_class__=build_class)
    out[OWNER_CHECK] = owner_check
    return out


def class_problem(cls: type) -> str | None:
    """What is wrong with a class the candidate just defined ("deriving from ..."), or None."""
    if type(cls) not in SAFE_METACLASSES:
        return f"with metaclass {type(cls).__name__}"
    for base in cls.__mro__[1:]:
        if not _safe_base(base):
            return f"deriving from {base.__module__}.{base.__qualname__}"
    return None


def _safe_base(base: type) -> bool:
    module = base.__module__
    if module == CANDIDATE_MODULE or base in SAFE_BASES or module in SAFE_BASE_MODULES:
        return True
    if issubclass(base, BaseException):
        return module in ("builtins", "autotts.controllers.base", "autotts.env.session")
    return issubclass(base, Controller) and module.startswith("autotts.controllers.")


def _add_owner_checks(tree: ast.Module) -> ast.Module:
    """Start every method whose first parameter is self/cls with ``OWNER_CHECK(self)``."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        for item in node.body:
            if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            params = item.args.posonlyargs + item.args.args
            if not params or params[0].arg not in SELF_NAMES:
                continue
            check = ast.Expr(
                ast.Call(
                    ast.Name(OWNER_CHECK, ast.Load()), [ast.Name(params[0].arg, ast.Load())], []
                )
            )
            body = item.body
            at = 1 if _is_docstring(body[0]) else 0
            ast.copy_location(check, body[min(at, len(body) - 1)])
            body.insert(at, check)
    return ast.fix_missing_locations(tree)


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )
