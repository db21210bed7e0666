"""The sandbox child process: ``python -I -B -c <bootstrap> --memory-mb M --cpu-s S``.

In order: set its own rlimits (address space, CPU, file size, no core dumps); read the request
(JSON on stdin); move stdout aside as the private result channel and point fd 1 and
``sys.stdout`` at stderr, so nothing the controller prints can corrupt the result; re-run the
static policy; import the job (a function in the ``autotts`` package) and call it with
``guard`` (preload modules, install :mod:`.guard`) and ``load_controller`` (execute the checked
candidate, :mod:`.loader`). Exactly one JSON line ``{"status", "reason", "data", "details"}``
goes to the result channel, then the process ends with ``os._exit`` (no interpreter shutdown,
where the candidate's finalizers could still run).
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import json
import os
import resource
import sys
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

from ..controllers import ControllerError
from ..procs import die_with_parent
from .allowlist import module_allowed
from .loader import CANDIDATE_MODULE, describe, load_candidate, policy_reason
from .outcome import Rejection, one_line
from .policy import check_source

FSIZE_BYTES = 1 << 20
JOB_PREFIX = "autotts."
_dumps = json.dumps  # bound now: the candidate cannot reach this module's globals later

_result_fd = 1
_reserve: bytearray | None = None  # freed on MemoryError, to have room to report it


def report(
    status: str, reason: str = "", data: Any = None, details: tuple[str, ...] = ()
) -> NoReturn:
    """Write the one result line and end the process."""
    global _reserve
    _reserve = None
    try:
        text = _dumps(
            {"status": status, "reason": one_line(reason), "data": data, "details": list(details)}
        )
    except (TypeError, ValueError) as e:
        text = _dumps({"status": "error", "reason": one_line(f"the job's result is not JSON: {e}")})
    payload = (text + "\n").encode()
    while payload:
        payload = payload[os.write(_result_fd, payload) :]
    sys.stderr.flush()
    os._exit(0)


def set_limits(memory_mb: int, cpu_s: float) -> None:
    """Address space, CPU seconds (SIGXCPU, then SIGKILL a second later), file size, no core
    dumps; never above a hard limit the process already has."""
    cpu = max(1, int(-(-cpu_s // 1)))  # whole seconds, rounded up
    for which, soft, hard in (
        (resource.RLIMIT_AS, memory_mb << 20, memory_mb << 20),
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_FSIZE, FSIZE_BYTES, FSIZE_BYTES),
        (resource.RLIMIT_CORE, 0, 0),
    ):
        current = resource.getrlimit(which)[1]
        if current != resource.RLIM_INFINITY:
            soft, hard = min(soft, current), min(hard, current)
        resource.setrlimit(which, (soft, hard))


def job_function(path: str) -> Callable[..., Any]:
    """The trusted job ``autotts.module:function``."""
    module, _, name = path.partition(":")
    if not (module.startswith(JOB_PREFIX) and name.isidentifier()):
        raise Rejection("error", f"job {path!r} is not a function of the autotts package")
    fn = getattr(importlib.import_module(module), name, None)
    if not callable(fn):
        raise Rejection("error", f"job {path!r} does not exist")
    return fn


def imported_modules(source: str) -> list[str]:
    """The allowed modules the candidate imports (to load them before the guard)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names if module_allowed(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.append(node.module)
            out += [f"{node.module}.{a.name}" for a in node.names]
    return [m for m in out if module_allowed(m)]


def serve(request: dict[str, Any]) -> Any:
    """Run the request's job; returns its data or raises :class:`Rejection`."""
    from . import guard as guard_module

    source, filename = request["source"], request["filename"]
    class_name, check = request["class_name"], request["check_policy"]
    if check:
        violations = check_source(source, filename)
        if violations:
            raise Rejection("policy", policy_reason(violations), tuple(map(str, violations)))
    job = job_function(request["job"])
    state: dict[str, Any] = {"guarded": False, "cls": None}

    def refuse(what: str) -> NoReturn:
        reason = f"the sandbox refused {what}"
        sys.stderr.write(f"autotts sandbox: {reason}\n")
        report("policy", reason)

    def guard() -> None:
        if not state["guarded"]:
            try:
                wanted = imported_modules(source)
            except (SyntaxError, ValueError):
                wanted = []
            guard_module.preload([*guard_module.PRELOAD, *wanted])
            guard_module.install(filename, CANDIDATE_MODULE, refuse)
            state["guarded"] = True

    def load_controller() -> type:
        if not state["guarded"]:
            raise RuntimeError(f"job {request['job']} called load_controller() before guard()")
        if state["cls"] is None:
            state["cls"] = load_candidate(source, filename, class_name, refuse)
        return state["cls"]

    return job(request["payload"], guard, load_controller)


def main(argv: list[str]) -> NoReturn:
    global _result_fd, _reserve
    opts = dict(zip(argv[::2], argv[1::2], strict=True))
    if "--parent" in opts:
        die_with_parent(int(opts["--parent"]))
    set_limits(int(opts["--memory-mb"]), float(opts["--cpu-s"]))
    raw = sys.stdin.buffer.read()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    _result_fd = os.dup(1)  # the result channel (not inheritable)
    os.dup2(2, 1)  # whatever else writes to fd 1 lands in the log
    sys.stdout = sys.stderr
    sys.dont_write_bytecode = True
    _reserve = bytearray(4 << 20)
    try:
        data = serve(json.loads(raw))
    except Rejection as r:
        if r.__cause__ is not None:  # the candidate's exception behind it, for the log
            with contextlib.suppress(Exception):
                traceback.print_exception(r.__cause__, file=sys.stderr)
        report(r.status, r.reason, details=r.details)
    except MemoryError:
        _reserve = None
        report("memory", f"ran out of memory (limit {opts['--memory-mb']} MB)")
    except ControllerError as e:
        report("error", str(e))
    except BaseException as e:  # the candidate's failure is a result, not a crash
        _reserve = None
        with contextlib.suppress(Exception):
            traceback.print_exception(e, file=sys.stderr)
        report("error", describe(e))
    report("ok", data=data)


if __name__ == "__main__":
    main(sys.argv[1:])
