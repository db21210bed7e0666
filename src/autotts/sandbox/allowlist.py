"""What the static policy allows: modules, the controller API, and the names and attributes it
refuses (used by :mod:`.policy` before the code runs and by :mod:`.loader` while it runs)."""

from __future__ import annotations

MAX_SOURCE_BYTES = 1_000_000

ALLOWED_MODULES: tuple[str, ...] = (
    "math",
    "statistics",
    "collections",
    "collections.abc",
    "itertools",
    "functools",
    "heapq",
    "bisect",
    "dataclasses",
    "typing",
    "numpy",
    "scipy.stats",
    "scipy.special",
    "autotts.controllers",
    "autotts.env",
)
# numpy submodules without file, process or native-code access (numpy.polynomial.* too)
NUMPY_SUBMODULES = frozenset(
    ("numpy.random", "numpy.linalg", "numpy.fft", "numpy.polynomial", "numpy.typing",
     "numpy.exceptions")
)  # fmt: skip
# autotts is imported by name only (``from autotts.controllers import vote``): its modules also
# hold file loading and the evaluator, which candidates must not reach.
PUBLIC_NAMES: dict[str, frozenset[str]] = {
    "autotts.controllers": frozenset(
        ("Controller", "ControllerError", "beta_confidence", "leader", "vote", "get_controller",
         "register", "registered")
    ),
    "autotts.env": frozenset(
        ("Session", "Action", "ACTION_NAMES", "SessionError", "InvalidAction", "NoChainsLeft",
         "BudgetExceeded", "EpisodeOver")
    ),
}  # fmt: skip

BLOCKED_NAMES = frozenset(
    ("eval", "exec", "compile", "open", "globals", "locals", "vars", "getattr", "setattr",
     "delattr", "input", "breakpoint", "dir", "help", "memoryview", "exit", "quit", "copyright",
     "credits", "license")
)  # fmt: skip

# Attribute names refused on any object, by what they reach. Modules are blocked by the name
# allowed modules re-export them under (``typing.sys``, ``dataclasses.inspect``, ...).
_FILES = (
    "load", "loads", "save", "savez", "savez_compressed", "savetxt", "loadtxt", "genfromtxt",
    "fromfile", "tofile", "fromregex", "memmap", "open_memmap", "DataSource", "dump", "dumps",
    "open",
)  # fmt: skip
_MODULES = (
    "os", "sys", "gc", "builtins", "importlib", "inspect", "types", "operator", "copyreg",
    "pickle", "marshal", "io", "subprocess", "socket", "signal", "resource", "mmap",
    "threading", "weakref", "traceback", "linecache", "warnings", "shutil", "tempfile",
    "pathlib", "glob", "platform", "sysconfig", "runpy", "pkgutil", "ctypes", "ctypeslib",
    "lib", "f2py", "distutils", "testing", "core", "loading", "environ", "system",
)  # fmt: skip
_INTROSPECTION = (
    "f_back", "f_globals", "f_locals", "f_code", "f_builtins", "f_trace", "tb_frame", "tb_next",
    "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await", "cr_origin",
    "ag_frame", "ag_code", "ag_await", "co_code", "co_consts", "co_names", "cell_contents",
    "mro", "attrgetter", "methodcaller", "get_type_hints", "ForwardRef", "evaluate_forward_ref",
    "singledispatch", "singledispatchmethod", "make_dataclass", "deepcopy", "info",
    "show_config", "show_runtime",
)  # fmt: skip
_BUILTINS = (
    "eval", "exec", "compile", "globals", "locals", "vars", "getattr", "setattr", "delattr",
    "input", "breakpoint",
)  # fmt: skip
BLOCKED_ATTRIBUTES: dict[str, str] = {
    **dict.fromkeys(_FILES, "file access"),
    **dict.fromkeys(_MODULES, "modules outside the allowlist"),
    **dict.fromkeys(_INTROSPECTION, "introspection"),
    **dict.fromkeys(_BUILTINS, "code evaluation and introspection"),
}

# Dunder attributes that are plain operators or names: harmless on any object.
SAFE_DUNDER_ATTRIBUTES = frozenset(
    f"__{n}__"
    for n in (
        "name", "qualname", "doc", "len", "getitem", "contains", "iter", "next", "reversed",
        "eq", "ne", "lt", "le", "gt", "ge", "hash", "bool", "add", "radd", "sub", "rsub", "mul",
        "rmul", "truediv", "floordiv", "mod", "pow", "neg", "pos", "abs", "int", "float",
        "index", "round", "and", "or", "xor", "invert", "lshift", "rshift", "matmul",
    )
)  # fmt: skip
# ... and those a method may reach through its own ``super()``.
SUPER_DUNDER_ATTRIBUTES = SAFE_DUNDER_ATTRIBUTES | frozenset(
    f"__{n}__"
    for n in (
        "init", "init_subclass", "post_init", "new", "repr", "str", "format", "call", "setitem",
        "delitem", "enter", "exit", "set_name",
    )
)  # fmt: skip
# Dunder names a class body may define besides methods.
CLASS_BODY_DUNDERS = frozenset(("__slots__", "__hash__"))
NAMEDTUPLE_API = frozenset(("_replace", "_asdict", "_fields", "_make", "_field_defaults"))
# Classes of the controller API: usable directly (calls, isinstance, except, bases), never as
# values (``S = Session; S.tokens = ...`` would rewrite how the session charges).
API_CLASSES = frozenset(
    ("Controller", "ControllerError", "Session", "Action", "SessionError", "InvalidAction",
     "NoChainsLeft", "BudgetExceeded", "EpisodeOver")
)  # fmt: skip
# The session's public attributes: readable, never writable by a controller.
SESSION_ATTRIBUTES = frozenset(("budget", "interval", "kappa_probe", "n_available", "n_probes"))
SELF_NAMES = ("self", "cls")


def allowed_list() -> str:
    return ", ".join(ALLOWED_MODULES)


def module_allowed(name: str) -> bool:
    """Whether the candidate may import or reach module ``name`` (checked again at run time:
    the loader hands the candidate read-only views of allowed modules only)."""
    if name in ALLOWED_MODULES or name in NUMPY_SUBMODULES or name == "__future__":
        return True
    if "._" in name:
        return False
    return name.startswith(("numpy.polynomial.", "scipy.stats.", "scipy.special."))


def from_import_problem(module: str, name: str) -> str | None:
    """Why ``from module import name`` is refused, or None."""
    if name == "*":
        return f"'from {module} import *' is not allowed: import names one by one"
    if module in PUBLIC_NAMES:
        if name not in PUBLIC_NAMES[module]:
            allowed = ", ".join(sorted(PUBLIC_NAMES[module]))
            return f"{module}.{name} is not part of the controller API (allowed: {allowed})"
        return None
    if module == "__future__":
        return None
    if not module_allowed(module):
        if module_allowed(f"{module}.{name}"):  # from scipy import stats
            return None
        return f"import from '{module}' is not allowed (allowed: {allowed_list()})"
    if name.startswith("_"):
        return f"importing private name '{name}' from '{module}' is not allowed"
    if name in BLOCKED_ATTRIBUTES:
        return f"importing '{name}' from '{module}' is not allowed ({BLOCKED_ATTRIBUTES[name]})"
    return None
