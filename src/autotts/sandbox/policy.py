"""The static policy for untrusted controller code: what a candidate may import and touch.

:func:`check_source` parses the code (never runs it) and returns every violation with its line:

* imports only from :data:`ALLOWED_MODULES` (plus ``numpy`` submodules that do no I/O); from
  ``autotts`` only the controller API (:data:`PUBLIC_NAMES`), imported by name;
* no builtins that evaluate code, open files or introspect (:data:`BLOCKED_NAMES`);
* no dunder names except a few harmless ones; underscore attributes only on ``self``/``cls`` (or
  ``super()``), and ``self``/``cls`` only ever name the first parameter of a method (the
  sandbox's loader checks at run time that they are the controller's own objects);
* no attributes that reach files, native code, other modules or frames
  (:data:`BLOCKED_ATTRIBUTES`), no ``str.format`` with attribute fields, no writes to the
  session's public attributes or to imported modules, no metaclasses, no ``type(name, bases,
  ns)``.

The session hands a controller nothing but answers and counts; everything else it holds sits
in underscore attributes, which these rules put out of reach. The sandbox re-runs this check in
the child process and adds run-time walls (:mod:`autotts.sandbox.guard`).
"""

from __future__ import annotations

import ast
import string
import threading
from dataclasses import dataclass

from .allowlist import (
    API_CLASSES,
    BLOCKED_ATTRIBUTES,
    BLOCKED_NAMES,
    CLASS_BODY_DUNDERS,
    DUNDER_METHODS,
    MAX_SOURCE_BYTES,
    NAMEDTUPLE_API,
    PUBLIC_NAMES,
    SAFE_DUNDER_ATTRIBUTES,
    SELF_NAMES,
    SESSION_ATTRIBUTES,
    SUPER_DUNDER_ATTRIBUTES,
    allowed_list,
    attribute_allowed,
    from_import_problem,
    module_allowed,
)

# CPython 3.11's AST constructor keeps recursion state that threads parsing at once can
# corrupt ("AST constructor recursion depth mismatch"); parsing is short, so one at a time.
_PARSE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Violation:
    """One thing the policy refuses; ``str(v)`` is ``controller.py:12: message``."""

    line: int
    col: int
    message: str
    filename: str = "controller.py"

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}: {self.message}"


def check_source(source: str, filename: str = "controller.py") -> list[Violation]:
    """Every policy violation in ``source``, ordered by line (empty when the code is allowed)."""
    if len(source.encode("utf-8", "replace")) > MAX_SOURCE_BYTES:
        return [Violation(1, 0, f"the code is larger than {MAX_SOURCE_BYTES:,} bytes", filename)]
    try:
        with _PARSE_LOCK:
            tree = ast.parse(source, filename)
    except SyntaxError as e:
        return [Violation(e.lineno or 1, e.offset or 0, f"syntax error: {e.msg}", filename)]
    except (ValueError, MemoryError, RecursionError) as e:
        return [Violation(1, 0, f"cannot be parsed: {type(e).__name__}: {e}", filename)]
    return check_tree(tree, filename)


def check_tree(tree: ast.Module, filename: str = "controller.py") -> list[Violation]:
    """:func:`check_source` on a parsed module."""
    checker = _Checker(filename, tree)
    try:
        checker.visit(tree)
    except RecursionError:
        checker.add(tree, "the code is nested too deeply to be checked")
    found = {(v.line, v.col, v.message): v for v in checker.violations}
    return sorted(found.values(), key=lambda v: (v.line, v.col, v.message))


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _is_own_super(node: ast.expr) -> bool:
    """``super()`` or ``super(C, self)``: lookups on the method's own object."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        return False
    if node.func.id != "super" or node.keywords:
        return False
    if not node.args:
        return True
    obj = node.args[-1]
    return len(node.args) == 2 and isinstance(obj, ast.Name) and obj.id in SELF_NAMES


def _called_name(call: ast.Call) -> str | None:
    return call.func.id if isinstance(call.func, ast.Name) else None


def _format_fields(template: str) -> list[str]:
    """Field names of a format template, nested ones included (raises ValueError if invalid)."""
    out = []
    for _, field_name, spec, _ in string.Formatter().parse(template):
        if field_name is not None:
            out.append(field_name)
        if spec and "{" in spec:
            out += _format_fields(spec)
    return out


class _Checker(ast.NodeVisitor):
    def __init__(self, filename: str, tree: ast.Module) -> None:
        self.filename = filename
        self.violations: list[Violation] = []
        self.parents: dict[int, ast.AST] = {}
        self.annotations: set[int] = set()
        self.modules: set[str] = set()  # names bound to module objects by imports
        self.imported: set[str] = set()  # every name bound by an import
        self.module_of: dict[str, str] = {}  # bound name -> the allowed module it names
        self.api_classes: set[str] = set()  # names bound to API_CLASSES by imports
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[id(child)] = parent
            for ann in _annotations_of(parent):
                self.annotations.update(id(n) for n in ast.walk(ann))
            if isinstance(parent, ast.Import):
                for alias in parent.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    self.modules.add(bound)
                    self.imported.add(bound)
                    self.module_of[bound] = alias.name if alias.asname else bound
            elif isinstance(parent, ast.ImportFrom):
                for alias in parent.names:
                    bound = alias.asname or alias.name
                    self.imported.add(bound)
                    if module_allowed(f"{parent.module}.{alias.name}"):
                        self.modules.add(bound)
                        self.module_of[bound] = f"{parent.module}.{alias.name}"
                    if parent.module in PUBLIC_NAMES and alias.name in API_CLASSES:
                        self.api_classes.add(bound)

    def add(self, node: ast.AST, message: str) -> None:
        line, col = getattr(node, "lineno", 1), getattr(node, "col_offset", 0)
        self.violations.append(Violation(line, col, message, self.filename))

    # ------------------------------------------------------------------ imports
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            name, top = alias.name, alias.name.split(".")[0]
            if name.startswith("autotts"):
                self.add(node, f"import names from {name} instead: 'from {name} import ...'")
            elif not module_allowed(name):
                self.add(node, f"import of '{name}' is not allowed (allowed: {allowed_list()})")
            elif alias.asname is None and "." in name and not module_allowed(top):
                self.add(node, f"'import {name}' binds '{top}': use 'import {name} as ...'")
            self._bind(node, alias.asname or top)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level:
            self.add(node, "relative imports are not allowed")
            return
        for alias in node.names:
            problem = from_import_problem(module, alias.name)
            if problem:
                self.add(node, problem)
            self._bind(node, alias.asname or alias.name)

    # ------------------------------------------------------------------ names and bindings
    def _bind(self, node: ast.AST, name: str) -> None:
        """A name being bound (assigned, imported, defined, captured)."""
        if name in SELF_NAMES:
            self.add(node, f"'{name}' may only name the first parameter of a method")
        elif _is_dunder(name):
            self.add(node, f"binding the dunder name '{name}' is not allowed")
        elif name in BLOCKED_NAMES:
            self.add(node, f"use of '{name}' is not allowed")

    def visit_Name(self, node: ast.Name) -> None:
        name = node.id
        if name in BLOCKED_NAMES:
            self.add(node, f"use of '{name}' is not allowed")
        elif isinstance(node.ctx, ast.Load):
            if _is_dunder(name) and name != "__name__":
                self.add(node, f"use of the dunder name '{name}' is not allowed")
            elif name in self.modules and not self._is_attribute_base(node):
                self.add(node, f"module '{name}' may only be used as '{name}.<name>'")
            elif name in self.api_classes and not self._class_use_ok(node):
                self.add(
                    node,
                    f"the class '{name}' may only be used directly (calls, isinstance, except, "
                    "base classes), not as a value",
                )
            elif name == "type" and not self._type_use_ok(node):
                self.add(node, "'type' may only be called with one argument, as type(x)")
        elif _is_dunder(name):
            parent = self.parents.get(id(node))
            in_class = isinstance(self.parents.get(id(parent)), ast.ClassDef)
            if not (in_class and isinstance(node.ctx, ast.Store) and name in CLASS_BODY_DUNDERS):
                self.add(node, f"binding the dunder name '{name}' is not allowed")
        elif name in SELF_NAMES:
            self._bind(node, name)

    def _is_attribute_base(self, node: ast.expr) -> bool:
        parent = self.parents.get(id(node))
        return isinstance(parent, ast.Attribute) and parent.value is node

    def _type_use_ok(self, node: ast.Name) -> bool:
        """``type`` as ``type(x)`` (one argument; the class of anything but self/cls only to
        compare or name it), or as a class in isinstance or an annotation."""
        if id(node) in self.annotations or self._is_class_check_arg(node):
            return True
        call = self.parents.get(id(node))
        if not (isinstance(call, ast.Call) and call.func is node):
            return False
        if len(call.args) != 1 or call.keywords:
            return False
        arg = call.args[0]
        if isinstance(arg, ast.Name) and arg.id in SELF_NAMES:
            return True
        use = self.parents.get(id(call))
        if isinstance(use, (ast.Compare, ast.FormattedValue)) or self._is_class_check_arg(call):
            return True
        if isinstance(use, ast.Attribute) and use.attr in ("__name__", "__qualname__"):
            return True
        return isinstance(use, ast.Call) and _called_name(use) in ("str", "repr", "print")

    def _class_use_ok(self, node: ast.Name) -> bool:
        """An API class used directly: called, read from, checked, compared, caught, raised,
        derived from, or named in an annotation."""
        if id(node) in self.annotations or self._is_class_check_arg(node):
            return True
        parent = self.parents.get(id(node))
        if isinstance(parent, ast.Tuple):  # except (A, B), isinstance(x, (A, B))
            grand = self.parents.get(id(parent))
            if isinstance(grand, ast.ExceptHandler):
                return True
        if isinstance(parent, ast.Call):
            return parent.func is node
        if isinstance(parent, ast.Attribute):
            return isinstance(parent.ctx, ast.Load)
        if isinstance(parent, ast.ClassDef):
            return node in parent.bases
        return isinstance(parent, (ast.ExceptHandler, ast.Raise, ast.Compare)) or (
            isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and node in parent.decorator_list
        )

    def _is_class_check_arg(self, node: ast.expr) -> bool:
        """``node`` is (in a tuple that is) the second argument of isinstance/issubclass."""
        parent = self.parents.get(id(node))
        if isinstance(parent, ast.Tuple):
            node, parent = parent, self.parents.get(id(parent))
        return (
            isinstance(parent, ast.Call)
            and _called_name(parent) in ("isinstance", "issubclass")
            and node in parent.args[1:]
        )

    def visit_Global(self, node: ast.Global) -> None:
        for name in node.names:
            self._bind(node, name)

    visit_Nonlocal = visit_Global  # type: ignore[assignment]

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._bind(node, node.name)
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self._bind(node, node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self._bind(node, node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self._bind(node, node.rest)
        self.generic_visit(node)

    def visit_MatchClass(self, node: ast.MatchClass) -> None:
        for attr in node.kwd_attrs:
            if attr.startswith("_"):
                self.add(node, f"matching on the attribute '{attr}' is not allowed")
        self.generic_visit(node)

    # ------------------------------------------------------------------ definitions
    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._bind(node, node.name)
        for kw in node.keywords:
            if kw.arg == "metaclass":
                self.add(node, "metaclasses are not allowed")
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        in_class = isinstance(self.parents.get(id(node)), ast.ClassDef)
        if not (in_class and _is_dunder(node.name)):
            self._bind(node, node.name)
        elif node.name not in DUNDER_METHODS:
            self.add(
                node,
                f"defining '{node.name}' is not allowed (trusted code would call it: only "
                "construction, printing, comparison, hashing, container and arithmetic "
                "methods may be defined)",
            )
        self._check_params(node.args, method=in_class)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._check_params(node.args, method=False)
        self.generic_visit(node)

    def _check_params(self, args: ast.arguments, method: bool) -> None:
        positional = args.posonlyargs + args.args
        params = positional + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]
        for i, a in enumerate(params):
            if not (method and i == 0 and positional and a.arg in SELF_NAMES):
                self._bind(a, a.arg)

    # ------------------------------------------------------------------ attributes
    def visit_Attribute(self, node: ast.Attribute) -> None:
        attr, base = node.attr, node.value
        on_self = isinstance(base, ast.Name) and base.id in SELF_NAMES
        on_super = _is_own_super(base)
        module = self._module_path(base)
        if on_self and not _is_dunder(attr):
            pass  # the controller's own object (checked at run time): its own names
        elif attr in BLOCKED_ATTRIBUTES:
            self.add(node, f"access to '.{attr}' is not allowed ({BLOCKED_ATTRIBUTES[attr]})")
        elif attr in ("format", "format_map"):
            self._check_format(node)
        elif _is_dunder(attr):
            allowed = SUPER_DUNDER_ATTRIBUTES if on_super else SAFE_DUNDER_ATTRIBUTES
            if attr not in allowed:
                self.add(node, f"access to '.{attr}' is not allowed (introspection)")
        elif attr.startswith("_") and not (on_super or attr in NAMEDTUPLE_API):
            self.add(node, f"access to '.{attr}' is not allowed: private to its object")
        elif module is not None and not attribute_allowed(module, attr):
            self.add(node, f"'{module}.{attr}' is not among what the sandbox allows from it")
        if not isinstance(node.ctx, ast.Load):
            root = base
            while isinstance(root, ast.Attribute):
                root = root.value
            if attr in SESSION_ATTRIBUTES and not on_self:
                self.add(node, f"assigning '.{attr}' is not allowed (the session's is read-only)")
            elif isinstance(root, ast.Name) and root.id in self.imported:
                self.add(node, f"modifying the imported '{root.id}' is not allowed")
        self.generic_visit(node)

    def _module_path(self, node: ast.expr) -> str | None:
        """The allowed module ``node`` names (``np``, ``np.random``), if it names one."""
        if isinstance(node, ast.Name):
            return self.module_of.get(node.id)
        if isinstance(node, ast.Attribute):
            parent = self._module_path(node.value)
            if parent is not None and module_allowed(f"{parent}.{node.attr}"):
                return f"{parent}.{node.attr}"
        return None

    def _check_format(self, node: ast.Attribute) -> None:
        call = self.parents.get(id(node))
        template = node.value
        if not (
            isinstance(template, ast.Constant)
            and isinstance(template.value, str)
            and isinstance(call, ast.Call)
            and call.func is node
        ):
            self.add(node, f"'.{node.attr}' is only allowed as \"literal\".{node.attr}(...)")
            return
        try:
            fields = _format_fields(template.value)
        except ValueError as e:
            self.add(node, f"invalid format string: {e}")
            return
        for field in fields:
            if "." in field:
                self.add(node, f"format field '{{{field}}}' reads an attribute: not allowed")

    # ------------------------------------------------------------------ calls
    def visit_Call(self, node: ast.Call) -> None:
        f = node.func
        if isinstance(f, ast.Name) and f.id == "hasattr":
            name = node.args[1] if len(node.args) == 2 else None
            if not (
                isinstance(name, ast.Constant)
                and isinstance(name.value, str)
                and not name.value.startswith("_")
            ):
                self.add(node, "hasattr() needs a literal public attribute name")
        self.generic_visit(node)


def _annotations_of(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.arg) and node.annotation is not None:
        return [node.annotation]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
        return [node.returns]
    if isinstance(node, ast.AnnAssign):
        return [node.annotation]
    return []
