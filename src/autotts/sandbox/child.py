"""The sandbox child process: ``python -I -B -c <bootstrap> --memory-mb M --cpu-s S``.

In order: set its own rlimits (address space, CPU, file size, no core dumps); read the request
frame (stdin, kept as the control channel for strict mode); move stdout aside as the private
result channel and point fd 1 and ``sys.stdout`` at stderr, so nothing the controller prints
lands in the frames; re-run the static policy; load the gold-free environments (fast mode
only); import what the candidate needs; lock itself down (:mod:`.seccomp`: unprivileged user,
seccomp filter, no new processes); install the Python guard (:mod:`.guard`); execute the
candidate (:mod:`.loader`); run the request (:mod:`.episodes`). The last frame is one status
``{"status", "reason", "data", "details", "missing_layers"}``, then ``os._exit`` (no interpreter
shutdown, where the candidate's finalizers could still run).

Nothing here is believed by the parent: it re-derives every figure from the action logs.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import resource
import sys
import traceback
from typing import Any, NoReturn

from ..controllers import ControllerError
from ..procs import die_with_parent
from .allowlist import module_allowed
from .loader import CANDIDATE_MODULE, describe, load_candidate, policy_reason
from .outcome import Rejection, one_line
from .policy import check_source
from .wire import REQUEST, STATUS, DescribeRequest, frame, read_frame, request_from_json

FSIZE_BYTES = 1 << 20
_dumps = json.dumps  # bound now: the candidate cannot reach this module's globals later

_result_fd = 1
_reserve: bytearray | None = None  # freed on MemoryError, to have room to report it
_missing: list[str] = []


def report(
    status: str, reason: str = "", data: Any = None, details: tuple[str, ...] = ()
) -> NoReturn:
    """Write the status frame and end the process."""
    global _reserve
    _reserve = None
    record = {
        "status": status,
        "reason": one_line(reason),
        "data": data,
        "details": list(details),
        "missing_layers": _missing,
    }
    try:
        text = _dumps(record)
    except (TypeError, ValueError) as e:
        text = _dumps({"status": "error", "reason": one_line(f"the result is not JSON: {e}")})
    payload = frame(STATUS, text.encode())
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


def serve(envelope: dict[str, Any], control: int) -> Any:
    """Run the request; returns its data or raises :class:`Rejection`."""
    from ..data import load_env
    from . import episodes
    from . import guard as guard_module
    from .seccomp import lock_down

    source, filename = envelope["source"], envelope["filename"]
    class_name, check = envelope["class_name"], envelope["check_policy"]
    if check:
        violations = check_source(source, filename)
        if violations:
            raise Rejection("policy", policy_reason(violations), tuple(map(str, violations)))
    req = request_from_json(envelope["request"])
    fast = not isinstance(req, DescribeRequest) and not req.strict
    envs = [load_env(p) for p in req.envs] if fast else []  # type: ignore[union-attr]

    def refuse(what: str) -> NoReturn:
        reason = f"the sandbox refused {what}"
        sys.stderr.write(f"autotts sandbox: {reason}\n")
        report("policy", reason)

    try:
        wanted = imported_modules(source)
    except (SyntaxError, ValueError):
        wanted = []
    strict = not fast and not isinstance(req, DescribeRequest)
    guard_module.preload([*guard_module.PRELOAD, *wanted, *(["greenlet"] if strict else [])])
    guard_module.prepare()  # everything the guard reads from disk, while it still can
    _missing.extend(lock_down(seccomp=envelope.get("seccomp", True)))
    if _missing and envelope.get("require_layers"):
        raise Rejection("error", f"sandbox layer missing: {_missing[0]} (--require-jail)")
    if envelope.get("unsafe_no_guard"):  # tests only: as if the candidate defeated the guard
        cls = _load_unguarded(source, filename, class_name)
    else:
        guard_module.install(filename, CANDIDATE_MODULE, refuse)
        cls = load_candidate(source, filename, class_name, refuse)
    if isinstance(req, DescribeRequest):
        return episodes.describe_class(cls, req)
    return episodes.run(cls, req, envs, _result_fd, control)


def _load_unguarded(source: str, filename: str, class_name: str) -> type:
    """Execute the candidate with the real builtins and no audit hook: what a candidate that
    got past the policy and the guard would have. Only tests ask for it, to show that the OS
    layers and the parent's verification hold on their own."""
    namespace: dict[str, Any] = {"__name__": CANDIDATE_MODULE}
    exec(compile(source, filename, "exec"), namespace)
    cls: type = namespace[class_name]
    return cls


def main(argv: list[str]) -> NoReturn:
    global _result_fd, _reserve
    opts = dict(zip(argv[::2], argv[1::2], strict=True))
    if "--parent" in opts:
        die_with_parent(int(opts["--parent"]))
    set_limits(int(opts["--memory-mb"]), float(opts["--cpu-s"]))
    control = os.dup(0)  # the request, and strict mode's replies
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    _result_fd = os.dup(1)  # the frames (not inheritable)
    os.dup2(2, 1)  # whatever else writes to fd 1 lands in the log
    sys.stdout = sys.stderr
    sys.dont_write_bytecode = True
    _reserve = bytearray(4 << 20)
    try:
        kind, payload = read_frame(control)
        if kind != REQUEST:
            raise Rejection("error", "the first frame is not a request")
        data = serve(json.loads(payload), control)
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
