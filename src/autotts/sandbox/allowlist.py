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

# What a candidate may take from each allowed module: an allowlist of names (None: every public
# name, for modules of pure functions and annotation helpers). Submodules are allowed by
# module_allowed; anything else (functools.update_wrapper, dataclasses.asdict, numpy's file
# and memory functions, ...) is refused, by the policy and again by the module views.
_NUMPY = (
    # constants and types
    "inf", "nan", "pi", "e", "newaxis", "ndarray", "dtype", "generic", "number", "integer",
    "floating", "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
    "uint64", "float16", "float32", "float64", "intp", "iinfo", "finfo", "errstate",
    # making arrays
    "array", "asarray", "asanyarray", "copy", "zeros", "ones", "full", "empty", "zeros_like",
    "ones_like", "full_like", "empty_like", "arange", "linspace", "logspace", "geomspace", "eye",
    "identity", "diag", "tri", "triu", "tril", "meshgrid", "indices", "fromiter",
    # shapes
    "reshape", "ravel", "transpose", "swapaxes", "moveaxis", "squeeze", "expand_dims", "flip",
    "roll", "repeat", "tile", "concatenate", "stack", "vstack", "hstack", "column_stack",
    "append", "insert", "delete", "split", "array_split", "atleast_1d", "atleast_2d",
    "broadcast_to", "broadcast_arrays", "pad", "resize",
    # element-wise
    "abs", "absolute", "sign", "sqrt", "square", "power", "exp", "exp2", "expm1", "log", "log2",
    "log10", "log1p", "logaddexp", "logaddexp2", "floor", "ceil", "round", "around", "rint",
    "trunc", "clip", "minimum", "maximum", "fmin", "fmax", "mod", "fmod", "remainder",
    "floor_divide", "true_divide", "divide", "add", "subtract", "multiply", "negative",
    "reciprocal", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh",
    "tanh", "hypot", "isfinite", "isnan", "isinf", "nan_to_num", "logical_and", "logical_or",
    "logical_not", "logical_xor", "isclose", "allclose", "array_equal", "equal", "not_equal",
    "less", "less_equal", "greater", "greater_equal", "heaviside", "interp",
    # reductions and statistics
    "sum", "prod", "mean", "median", "std", "var", "min", "max", "amin", "amax", "argmin",
    "argmax", "ptp", "average", "percentile", "quantile", "nanmean", "nansum", "nanmax",
    "nanmin", "nanmedian", "nanstd", "nanvar", "nanargmax", "nanargmin", "cumsum", "cumprod",
    "count_nonzero", "any", "all", "corrcoef", "cov", "histogram", "bincount", "digitize",
    "diff", "gradient", "convolve", "correlate", "dot", "vdot", "matmul", "inner", "outer",
    "einsum", "trace", "cross", "polyfit", "polyval",
    # sorting, searching, sets
    "sort", "argsort", "lexsort", "partition", "argpartition", "searchsorted", "unique",
    "where", "nonzero", "flatnonzero", "argwhere", "extract", "take", "take_along_axis",
    "put_along_axis", "choose", "select", "isin", "intersect1d", "union1d", "setdiff1d",
    "setxor1d",
    # submodules (their own names are listed below)
    "random", "linalg", "fft", "polynomial",
)  # fmt: skip
MODULE_API: dict[str, frozenset[str] | None] = {
    "__future__": None,
    "math": None,
    "statistics": None,
    "itertools": None,
    "heapq": None,
    "bisect": None,
    "collections.abc": None,
    "typing": None,
    "collections": frozenset(
        ("Counter", "defaultdict", "deque", "OrderedDict", "namedtuple", "ChainMap", "UserDict",
         "UserList", "abc")
    ),
    "functools": frozenset(
        ("reduce", "partial", "lru_cache", "cache", "cached_property", "cmp_to_key",
         "total_ordering")
    ),
    "dataclasses": frozenset(
        ("dataclass", "field", "fields", "replace", "is_dataclass", "FrozenInstanceError",
         "InitVar", "KW_ONLY", "MISSING")
    ),
    "numpy": frozenset(_NUMPY),
    "numpy.random": frozenset(
        ("default_rng", "Generator", "RandomState", "SeedSequence", "PCG64", "random", "rand",
         "randn", "randint", "choice", "permutation", "shuffle", "normal", "uniform", "beta",
         "binomial", "dirichlet", "gamma", "poisson", "exponential", "seed")
    ),
    "numpy.linalg": frozenset(
        ("norm", "solve", "inv", "pinv", "det", "eig", "eigh", "eigvals", "eigvalsh", "svd",
         "lstsq", "matrix_rank", "qr", "cholesky", "LinAlgError")
    ),
    "numpy.fft": frozenset(("fft", "ifft", "rfft", "irfft", "fftfreq", "rfftfreq")),
    "numpy.polynomial": frozenset(
        ("Polynomial", "Chebyshev", "Legendre", "polynomial", "chebyshev", "legendre")
    ),
    "scipy.stats": frozenset(
        ("norm", "beta", "binom", "betabinom", "t", "chi2", "gamma", "expon", "uniform",
         "lognorm", "poisson", "bernoulli", "geom", "hypergeom", "multinomial", "dirichlet",
         "entropy", "mode", "rankdata", "kendalltau", "spearmanr", "pearsonr",
         "percentileofscore", "scoreatpercentile", "zscore", "gmean", "hmean", "describe",
         "binomtest", "trim_mean", "iqr", "sem", "skew", "kurtosis", "wilcoxon",
         "mannwhitneyu", "ttest_ind", "ttest_rel", "ks_2samp", "fisher_exact",
         "chi2_contingency", "median_abs_deviation")
    ),
    "scipy.special": frozenset(
        ("expit", "logit", "softmax", "log_softmax", "logsumexp", "gammaln", "betaln", "comb",
         "binom", "beta", "gamma", "digamma", "erf", "erfc", "erfinv", "xlogy", "entr",
         "rel_entr", "kl_div", "betainc", "gammainc", "perm", "factorial")
    ),
}  # fmt: skip
# Dunder methods a candidate class may define: construction, printing, comparison, hashing,
# containers and arithmetic. Never attribute hooks (__getattr__, __getattribute__, ...),
# descriptors, copying/pickling hooks (__deepcopy__, __reduce__), numpy's __array_*__
# protocols, finalizers or class-creation hooks: trusted code calls those on its own terms.
DUNDER_METHODS = frozenset(
    f"__{n}__"
    for n in (
        "init", "post_init", "repr", "str", "eq", "ne", "lt", "le", "gt", "ge", "hash", "bool",
        "len", "iter", "next", "reversed", "contains", "getitem", "setitem", "delitem",
        "missing", "call", "enter", "exit", "add", "radd", "iadd", "sub", "rsub", "isub", "mul",
        "rmul", "imul", "truediv", "rtruediv", "floordiv", "rfloordiv", "mod", "rmod", "pow",
        "rpow", "neg", "pos", "abs", "int", "float", "round", "and", "or", "xor", "invert",
        "lshift", "rshift", "matmul",
    )
)  # fmt: skip


def attribute_allowed(module: str, name: str) -> bool:
    """Whether a candidate may take ``name`` from allowed module ``module``."""
    if name.startswith("_") or name in BLOCKED_ATTRIBUTES:
        return False
    if module_allowed(f"{module}.{name}"):
        return True
    if module in PUBLIC_NAMES:
        return name in PUBLIC_NAMES[module]
    api = MODULE_API.get(module, frozenset())
    if module.startswith("numpy.polynomial."):
        api = None
    return api is None or name in api


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
SESSION_ATTRIBUTES = frozenset(
    ("budget", "interval", "kappa_probe", "n_available", "n_probes", "truncated")
)
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
    if not attribute_allowed(module, name):
        return f"'{module}.{name}' is not among what the sandbox allows from '{module}'"
    return None
