"""The run-time wall inside the sandbox child, installed after trusted setup and before the
candidate's code runs. It holds even if the static policy were bypassed:

* an audit hook (``sys.addaudithook``, which cannot be removed) that refuses process creation
  (``os.system``/``exec``/``spawn``/``posix_spawn``/``fork``, ``subprocess.Popen``), signals to
  other processes, sockets and network clients, ``ctypes``, ``mmap``, ``fcntl``, rlimit changes,
  every file-system change, ``open`` for writing anywhere and for reading outside the Python
  installation, imports of new modules outside :data:`IMPORT_PREFIXES` (numpy/scipy load
  submodules lazily; those stay allowed), every way to a frame that raises an event
  (``sys._getframe`` — except typing/collections looking up the candidate's own frame —,
  ``tb_frame``/``gi_frame``/``cr_frame``/``ag_frame`` read by the candidate's code,
  ``sys._current_frames``, ``settrace``/``setprofile``), ``gc.get_objects``/
  ``get_referrers``/``get_referents``, code/function construction, ``input``/``breakpoint``,
  and changes to the special attributes (``__bases__``, ``__name__``, ...) of classes the
  candidate did not define (CPython audits no other class attribute writes: the static
  policy keeps trusted classes from being reached as values);
* frozen modules: every module already imported refuses attribute assignment (other than the
  import system binding a submodule), so trusted code that runs after the candidate cannot be
  monkeypatched through a module.

A refusal is final: ``on_refuse`` reports it (status ``policy``) and ends the process.
"""

from __future__ import annotations

import contextlib
import os
import sys
import sysconfig
import types
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

from .allowlist import ALLOWED_MODULES, NUMPY_SUBMODULES

# Derived from the one allowlist (.allowlist), never kept in step by hand. Modules that may
# still be imported once the guard is up (already-imported ones need no event): the allowed
# ones and their packages' lazily loaded internals (numpy and scipy load submodules on use).
IMPORT_PREFIXES = tuple(
    dict.fromkeys(
        [*(m.split(".")[0] if m.startswith(("numpy", "scipy")) else m for m in ALLOWED_MODULES),
         "encodings", "__future__"]
    )
)  # fmt: skip
# Imported before the guard: what candidates and the evaluator use, including numpy's lazily
# loaded submodules (numpy.random alone pulls in secrets, hashlib and threading; np.unique,
# inside np.percentile, imports numpy.ma on first use).
PRELOAD = tuple(
    dict.fromkeys(
        [*(m for m in ALLOWED_MODULES if not m.startswith("scipy")), *sorted(NUMPY_SUBMODULES),
         "numpy.ma", "autotts.evaluate"]
    )
)  # fmt: skip

REFUSED_EVENTS = frozenset(
    (
        # processes and signals
        "os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.fork", "os.forkpty",
        "os.startfile", "os.kill", "os.killpg", "signal.pthread_kill", "subprocess.Popen",
        "pty.spawn",
        # the file system and the environment
        "os.chdir", "os.chmod", "os.chown", "os.chflags", "os.link", "os.symlink", "os.mkdir",
        "os.remove", "os.rename", "os.rmdir", "os.truncate", "os.utime", "os.setxattr",
        "os.removexattr", "os.getxattr", "os.listxattr", "os.lockf", "os.putenv",
        "os.unsetenv", "os.add_dll_directory", "glob.glob", "glob.glob/2", "mmap.__new__",
        "sqlite3.connect", "sqlite3.connect/handle", "webbrowser.open",
        # introspection and code construction
        "sys._current_frames", "sys._current_exceptions", "sys.settrace", "sys.setprofile",
        "sys.addaudithook", "sys.set_asyncgen_hooks_firstiter",
        "sys.set_asyncgen_hooks_finalizer", "gc.get_objects", "gc.get_referrers",
        "gc.get_referents", "code.__new__", "function.__new__", "pickle.find_class",
        "marshal.load", "setopencode", "builtins.input", "builtins.breakpoint", "pdb.Pdb",
    )
)  # fmt: skip
REFUSED_PREFIXES = (
    "socket.",
    "ctypes.",
    "fcntl.",
    "resource.",
    "shutil.",
    "tempfile.",
    "urllib.",
    "http.",
    "ftplib.",
    "imaplib.",
    "nntplib.",
    "poplib.",
    "smtplib.",
    "telnetlib.",
    "syslog.",
    "winreg.",
    "msvcrt.",
    "_winapi.",
)
# Frequent, harmless events: return at once.
_PASS = frozenset(("exec", "compile", "builtins.id", "marshal.loads", "time.sleep"))
# Attributes that hand out frames (audited as object.__getattr__), and the library modules
# that may look up their caller's frame (TypeVar, NamedTuple and namedtuple record the
# module they are defined in).
FRAME_ATTRIBUTES = frozenset(("tb_frame", "gi_frame", "cr_frame", "ag_frame"))
FRAME_LOOKUP_MODULES = ("typing", "collections")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _frozen_module_class(refuse: Callable[[str], NoReturn]) -> type:
    """A module type whose attributes can no longer be changed (the import system may still
    bind a newly imported submodule on its parent). ``refuse`` lives in the closure, not in a
    module global that code reaching this module's ``__dict__`` could replace."""

    class FrozenModule(types.ModuleType):
        def __setattr__(self, name: str, value: Any) -> None:
            if isinstance(value, types.ModuleType) and value.__name__ == f"{self.__name__}.{name}":
                types.ModuleType.__setattr__(self, name, value)
            else:
                refuse(f"changing the attribute '{name}' of module '{self.__name__}'")

        def __delattr__(self, name: str) -> None:
            refuse(f"deleting the attribute '{name}' of module '{self.__name__}'")

    return FrozenModule


def preload(modules: Iterable[str]) -> None:
    """Import ``modules`` now, while imports are unrestricted (missing ones are skipped: the
    candidate's own import will then fail with a clear error)."""
    import importlib

    for name in modules:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def freeze_modules(refuse: Callable[[str], NoReturn]) -> None:
    """Make every imported plain module refuse attribute changes — except ``sys``, whose type
    the import system uses to create new modules."""
    frozen = _frozen_module_class(refuse)
    for module in list(sys.modules.values()):
        if type(module) is types.ModuleType and module is not sys:
            module.__class__ = frozen


def prepare() -> None:
    """Read now what :func:`install` needs from disk (sysconfig's data module), before the
    process loses the right to read the Python installation's private directories."""
    read_roots()


def read_roots() -> tuple[str, ...]:
    """Directories the candidate's process may still read from: the Python installation (for
    lazy imports and source lines in tracebacks), nothing else."""
    dirs = {sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib")}
    dirs.update(p for p in sys.path if p and os.path.isdir(p))
    return tuple(sorted(os.path.join(os.path.realpath(d), "") for d in dirs if d))


def install(
    candidate_filename: str, candidate_module: str, on_refuse: Callable[[str], object]
) -> None:
    """Install the audit hook and freeze the imported modules. ``on_refuse(what)`` is called on
    a refusal ("os.system", "importing 'socket'") and must end the process (a
    ``PermissionError`` is raised if it returns)."""

    def _refuse(what: str) -> NoReturn:  # a closure: no module global to swap out
        on_refuse(what)
        raise PermissionError(f"the sandbox refused {what}")

    roots = read_roots()
    realpath, fspath, fsdecode, getframe = os.path.realpath, os.fspath, os.fsdecode, sys._getframe
    frame_lookups = {sys.modules[m].__file__ for m in FRAME_LOOKUP_MODULES}
    busy = [False]

    def readable(path: Any) -> bool:
        if isinstance(path, int) or path is None:
            return False
        full = realpath(fsdecode(fspath(path)))
        return any(full.startswith(r) or full + os.sep == r for r in roots)

    def caller_file() -> str:
        """The file of the Python code that raised the event being audited."""
        busy[0] = True  # our own sys._getframe call is audited too
        try:
            return getframe(2).f_code.co_filename
        finally:
            busy[0] = False

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in _PASS or busy[0]:
            return
        if event == "object.__getattr__":
            if args[1] in FRAME_ATTRIBUTES and caller_file() == candidate_filename:
                _refuse(f"reading .{args[1]}")
        elif event == "import":
            name = args[0]
            if not any(name == p or name.startswith(p + ".") for p in IMPORT_PREFIXES):
                _refuse(f"importing '{name}'")
        elif event == "open":
            path, mode, flags = args
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            if writing:
                _refuse(f"opening {path!r} for writing")
            if not readable(path):
                _refuse(f"opening {path!r} (outside the Python installation)")
        elif event in ("os.listdir", "os.scandir"):
            if not readable(args[0]):
                _refuse(f"listing {args[0]!r}")
        elif event == "sys._getframe":
            # only typing/collections, asking for the candidate's own frame, get one
            if (
                caller_file() not in frame_lookups
                or not args
                or args[0].f_code.co_filename != candidate_filename
            ):
                _refuse("sys._getframe")
        elif event in ("object.__setattr__", "object.__delattr__"):
            obj = args[0]
            if isinstance(obj, type) and obj.__module__ != candidate_module:
                # a trusted factory (namedtuple) stamping a fresh class as the candidate's
                stamping = len(args) > 2 and args[1] == "__module__" and args[2] == candidate_module
                if not stamping:
                    _refuse(f"changing the class {obj.__module__}.{obj.__qualname__}")
        elif event in REFUSED_EVENTS or event.startswith(REFUSED_PREFIXES):
            _refuse(event)

    freeze_modules(_refuse)
    sys.addaudithook(hook)
