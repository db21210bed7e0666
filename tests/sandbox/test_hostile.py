"""Hostile candidates, each contained with a structured outcome: introspection towards gold
answers and unrevealed probes, forbidden imports, runaway loops, memory and CPU, processes,
files, crashes, invalid schedules. Several run with the static policy switched off (a test-only
flag) to show that the run-time wall holds on its own."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from autotts.sandbox import Limits, SandboxOutcome, check_source

from .conftest import LIMITS, OS_GLOBALS, candidate, line_of, run

SYS = f"{OS_GLOBALS}['sys']"


def unchecked(source: str, payload: dict[str, Any], limits: Limits = LIMITS) -> SandboxOutcome:
    """Run with the static policy off: only the run-time wall stands."""
    return run(source, payload, limits, _unsafe_skip_policy=True)


def first_result(out: SandboxOutcome) -> dict[str, Any]:
    assert out.ok and out.data is not None, (out.status, out.reason, out.log)
    result: dict[str, Any] = out.data["results"][0]
    return result


# ------------------------------------------------------------------------- the first wall
GOLD_HUNTS = {
    "session __dict__": "return str(session.__dict__)",
    "getattr private": "return getattr(session, '_finals')[0]",
    "private attribute": "return session._finals[0]",
    "mro walk": "return str(type(session).__mro__[1].__subclasses__())",
    "gc": "import gc\nreturn str(gc.get_objects()[0])",
    "sys.modules": "import sys\nreturn str(sys.modules['autotts.evaluate.runner'])",
    "inspect frames": "import inspect\nreturn str(inspect.stack()[2].frame.f_locals)",
    "traceback frames": (
        "try:\n    session.probe(99)\nexcept Exception as e:\n"
        "    return str(e.__traceback__.tb_frame.f_back.f_locals)"
    ),
    "format field": "return '{0._finals}'.format(session)",
}
# code the static policy accepts, refused when it runs
PEEK = """
class Peek:
    def finals(self):
        return self._finals[0]
"""
SESSION_LIKE = """
from autotts.env import Session

class SessionLike(Session):
    @classmethod
    def peek(cls, session):
        return cls._chain(session, 0)
"""


@pytest.mark.parametrize("name", sorted(GOLD_HUNTS))
def test_gold_and_unrevealed_probes_are_out_of_reach(name: str, payload: dict[str, Any]) -> None:
    source = candidate(GOLD_HUNTS[name])
    out = run(source, payload)
    assert out.status == "policy" and out.seconds < 5, (out.status, out.reason)
    assert out.reason == str(check_source(source)[0]) + (
        f" (and {len(out.details) - 1} more)" if len(out.details) > 1 else ""
    )


def test_calling_a_method_with_the_session_as_self_is_refused(payload: dict[str, Any]) -> None:
    out = run(candidate("return Peek.finals(session)", header=PEEK), payload)
    assert (out.status, out.reason) == (
        "policy",
        "the sandbox refused a controller method called with a Session object as self/cls "
        "(only the controller's own objects may be)",
    )


def test_subclassing_the_session_is_refused(payload: dict[str, Any]) -> None:
    out = run(candidate("return SessionLike.peek(session)", header=SESSION_LIKE), payload)
    assert (out.status, out.reason) == (
        "policy",
        "the sandbox refused class SessionLike deriving from autotts.env.session.Session",
    )


def test_cost_tampering_is_out_of_reach(payload: dict[str, Any]) -> None:
    for body in (
        "session.interval = 1\nreturn None",
        "S = type(session)\nS.tokens = 0\nreturn None",
        "from autotts.env import Session\nS = Session\nreturn None",
    ):
        assert run(candidate(body), payload).status == "policy", body


def test_an_answer_equal_to_everything_counts_as_wrong(payload: dict[str, Any]) -> None:
    body = """
    class Anything:
        def __eq__(self, other):
            return True
        def __hash__(self):
            return 0
    session.answer(Anything())
    return None
    """
    result = first_result(run(candidate(body), payload))
    assert result["accuracy"] == 0.0 and result["errors"] == result["episodes"]
    assert "the answer must be a str, not Anything" in result["error_examples"][0]


# ------------------------------------------------------------------------- the second wall
def test_runtime_wall_refuses_imports_outside_the_allowlist(payload: dict[str, Any]) -> None:
    out = unchecked(candidate("return None", header="import os"), payload)
    assert (out.status, out.reason) == ("policy", "the sandbox refused importing 'os'")
    out = unchecked(candidate(f"{SYS}.modules['importlib'].import_module('socket')"), payload)
    assert out.status == "policy" and "importing '_socket'" in out.reason


def test_module_views_hide_other_modules(payload: dict[str, Any]) -> None:
    body = "import dataclasses\nreturn dataclasses.re.enum.bltns.eval('1')"
    result = first_result(unchecked(candidate(body), payload))
    assert result["errors"] == result["episodes"]
    assert "the sandbox does not allow dataclasses.re" in result["error_examples"][0]
    body = "import numpy as np\nnp.percentile = None\nreturn None"
    result = first_result(unchecked(candidate(body), payload))
    assert "modules are read-only in the sandbox" in result["error_examples"][0]


@pytest.mark.parametrize(
    ("body", "refused"),
    [
        (f"{SYS}._getframe(1)", "sys._getframe"),
        (f"{SYS}._getframe(0).f_back.f_locals", "sys._getframe"),
        ("def g():\n    yield 1\ng().gi_frame", "reading .gi_frame"),
        (
            "try:\n    session.probe(99)\nexcept Exception as e:\n    e.__traceback__.tb_frame",
            "reading .tb_frame",
        ),
        (f"{SYS}.modules['gc'].get_objects()", "gc.get_objects"),
        (f"{SYS}._current_frames()", "sys._current_frames"),
        (f"{SYS}.settrace(print)", "sys.settrace"),
        (f"{SYS}.modules['numpy'].percentile = print", "changing the attribute 'percentile'"),
        (f"{OS_GLOBALS}['kill']({OS_GLOBALS}['getppid'](), 0)", "os.kill"),
        (f"{OS_GLOBALS}['fork']()", "os.fork"),
        (f"{OS_GLOBALS}['listdir']('/')", "listing '/'"),
        (f"{SYS}.modules['ctypes'].CDLL(None)", "ctypes.dlopen"),
    ],
)
def test_runtime_wall_refuses_introspection_and_processes(
    body: str, refused: str, payload: dict[str, Any]
) -> None:
    out = unchecked(candidate(body + "\nreturn None"), payload)
    assert out.status == "policy", (out.status, out.reason, out.log)
    assert out.reason.startswith(f"the sandbox refused {refused}")


def test_runtime_wall_refuses_reading_the_environment_file(
    env_file: Path, payload: dict[str, Any]
) -> None:
    body = f"return {OS_GLOBALS}['__builtins__']['open']({str(env_file)!r}).read(10)"
    out = unchecked(candidate(body), payload)
    assert out.status == "policy" and "(outside the Python installation)" in out.reason


def test_nothing_is_written_or_run_outside(tmp_path: Path, payload: dict[str, Any]) -> None:
    targets = {n: tmp_path / f"pwned-{n}" for n in range(5)}
    bodies = [
        f"{OS_GLOBALS}['system']('touch {targets[0]}')",
        f"{OS_GLOBALS}['__builtins__']['open']({str(targets[1])!r}, 'w').write('x')",
        f"o = {OS_GLOBALS}\no['open']({str(targets[2])!r}, o['O_WRONLY'] | o['O_CREAT'])",
        f"{SYS}.modules['subprocess'].run(['touch', {str(targets[3])!r}])",
        f"{SYS}.modules['ctypes'].CDLL(None).system(b'touch {targets[4]}')",
    ]
    for body in bodies:
        out = unchecked(candidate(body + "\nreturn None"), payload)
        assert out.status == "policy", (body, out.status, out.reason)
        assert out.reason.startswith("the sandbox refused ")
    assert not any(p.exists() for p in targets.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ------------------------------------------------------------------------- limits and crashes
def test_infinite_loop_times_out(payload: dict[str, Any]) -> None:
    out = run(candidate("while True:\n    pass"), payload, Limits(timeout_s=1.5))
    assert out.status == "timeout" and out.reason.startswith("timed out after 1.5 s")
    assert out.seconds < 15


def test_memory_bomb(payload: dict[str, Any]) -> None:
    body = "hoard = []\nwhile True:\n    hoard.append(bytearray(10**7))"
    out = run(candidate(body), payload, Limits(timeout_s=30, memory_mb=300))
    assert (out.status, out.reason) == ("memory", "ran out of memory in solve()")
    out = run(candidate("return None", header="hoard = [bytearray(10**9)]"), payload)
    assert out.status == "memory" and out.reason == "ran out of memory (limit 768 MB)"


def test_cpu_limit(payload: dict[str, Any]) -> None:
    out = run(candidate("while True:\n    pass"), payload, Limits(timeout_s=60, cpu_s=1))
    assert (out.status, out.reason) == ("cpu", "exceeded the CPU time limit of 1 s")


def test_crash_in_c_reports_the_signal(payload: dict[str, Any]) -> None:
    # allowed code that overflows the C stack: nested map objects
    body = "m = iter([1])\nfor _ in range(300_000):\n    m = map(abs, m)\nreturn str(next(m))"
    out = run(candidate(body), payload)
    assert (out.status, out.reason) == (
        "crash",
        "the process died of SIGSEGV (Segmentation fault)",
    )
    out = unchecked(candidate(f"{OS_GLOBALS}['abort']()"), payload)
    assert (out.status, out.reason) == ("crash", "the process died of SIGABRT (Aborted)")


# ------------------------------------------------------------------------- errors and output
def test_invalid_schedules(payload: dict[str, Any]) -> None:
    cases = {
        "{'a': float('nan')}": "schedule(0.5) returned nan for 'a' (settings must be finite)",
        "{'w': float('inf')}": "schedule(0.5) returned inf for 'w' (settings must be finite)",
        "[1, 2]": "schedule(0.5) returned list, not a mapping",
        "{'w': [1]}": "schedule(0.5) returned list for 'w' (expected numbers, bools, strings)",
        "{1: 2}": "schedule(0.5) returned the non-string key 1",
    }
    for schedule, reason in cases.items():
        out = run(candidate("return None", schedule=schedule), payload)
        assert (out.status, out.reason) == ("invalid", reason), schedule


def test_errors_in_load_and_schedule_name_their_line(payload: dict[str, Any]) -> None:
    source = candidate("return None", schedule="{'w': 1 // 0}")
    out = run(source, payload)
    line = line_of(source, "1 // 0")
    assert (out.status, out.reason) == (
        "error",
        f"controller.py:{line}: schedule(0.5) raised ZeroDivisionError: "
        "integer division or modulo by zero",
    )
    source = candidate("return None", header="table = {}['missing']")
    out = run(source, payload)
    assert (out.status, out.reason) == (
        "error",
        "controller.py:2: loading the controller raised KeyError: 'missing'",
    )
    assert "Traceback" in out.log and "table = {}['missing']" in out.log


def test_episode_errors_are_results_not_failures(payload: dict[str, Any]) -> None:
    result = first_result(run(candidate("return session.probe(99)"), payload))
    assert result["errors"] == result["episodes"] == 18
    assert "InvalidAction" in result["error_examples"][0]


def test_prints_do_not_corrupt_the_result(payload: dict[str, Any]) -> None:
    body = 'print(\'{"status": "ok", "data": {}}\')\nreturn vote([session.probe(session.branch())])'
    out = run(candidate(body), payload)
    assert first_result(out)["errors"] == 0
    assert '{"status": "ok", "data": {}}' in out.log
    body = f"{OS_GLOBALS}['write'](1, b'raw bytes on fd 1')\nreturn None"
    out = unchecked(candidate(body), payload)
    assert out.ok and "raw bytes on fd 1" in out.log


# ------------------------------------------------------------------------- the run goes on
def test_a_batch_with_hostile_candidates_yields_a_result_for_each(
    payload: dict[str, Any],
) -> None:
    batch = {
        "benign": candidate("return vote([session.probe(session.branch())])"),
        "policy": candidate("return session._finals[0]"),
        "timeout": candidate("while True:\n    pass"),
        "invalid": candidate("return None", schedule="{'w': float('nan')}"),
        "crash": candidate("m = iter([1])\nfor _ in range(300_000):\n    m = map(abs, m)\nnext(m)"),
        "also benign": candidate("return vote(session.read(3))"),
    }
    limits = Limits(timeout_s=2, memory_mb=768)
    with ThreadPoolExecutor(3) as pool:
        outcomes = list(pool.map(lambda s: run(s, payload, limits), batch.values()))
    outs = dict(zip(batch, outcomes, strict=True))
    assert {k: o.status for k, o in outs.items()} == {
        "benign": "ok",
        "policy": "policy",
        "timeout": "timeout",
        "invalid": "invalid",
        "crash": "crash",
        "also benign": "ok",
    }
    assert all(o.reason and "\n" not in o.reason for k, o in outs.items() if "benign" not in k)
    assert first_result(outs["also benign"])["avg_total_tokens"] > 0


# ------------------------------------------------------------ the gadgets of issue 11
# Each read unrevealed chain data with policy-clean code before. Now the policy refuses each;
# with the policy off the module views do; and with everything off the parent's replay
# (fast mode) or the proxy (strict mode) keeps the figures honest.
UPDATE_WRAPPER = """
import functools

class Box:
    def get(self):
        return self._finals

def peek(session):
    box = Box()
    functools.update_wrapper(box, session, assigned=("_finals",), updated=())
    return box.get()
"""
ARRAY_INTERFACE = """
import numpy as np

class Raw:
    @property
    def __array_interface__(self):
        return {"shape": (8,), "typestr": "|u1", "data": (0, False), "version": 3}
"""
DEEPCOPY = """
import dataclasses

@dataclasses.dataclass
class Holder:
    s: object

    def __deepcopy__(self, memo):
        return memo
"""
GADGETS = {
    "functools.update_wrapper": (UPDATE_WRAPPER, "'functools.update_wrapper' is not among"),
    "__array_interface__": (ARRAY_INTERFACE, "defining '__array_interface__' is not allowed"),
    "__deepcopy__": (DEEPCOPY, "defining '__deepcopy__' is not allowed"),
    "__getattr__": (
        "class G:\n    def __getattr__(self, name):\n        return name\n",
        "defining '__getattr__' is not allowed",
    ),
    "property __dict__": (
        "class D:\n    @property\n    def __dict__(self):\n        return {}\n",
        "defining '__dict__' is not allowed",
    ),
    "dataclasses.asdict": (
        "import dataclasses\nx = dataclasses.asdict\n",
        "'dataclasses.asdict' is not among",
    ),
}


@pytest.mark.parametrize("name", list(GADGETS))
def test_the_gadgets_are_refused_by_the_policy(name: str) -> None:
    header, fragment = GADGETS[name]
    problems = [str(v) for v in check_source(candidate("return None", header=header))]
    assert any(fragment in p for p in problems), problems


def test_update_wrapper_is_refused_at_run_time_too(payload: dict[str, Any]) -> None:
    source = candidate("return peek(session)[0]", header=UPDATE_WRAPPER)
    result = first_result(unchecked(source, payload))
    assert result["errors"] == result["episodes"] and result["accuracy"] == 0
    assert "the sandbox does not allow functools.update_wrapper" in result["error_examples"][0]


def test_update_wrapper_past_every_python_wall_is_caught(payload: dict[str, Any]) -> None:
    """The whole gadget, with the policy and the guard off: returning an unrevealed final is
    forged (fast mode); reading until the majority of all finals shows up passes the replay
    but not strict mode, which holds no finals to read."""
    from collections import Counter

    from autotts.sandbox import strict_mismatch, sweep_candidate
    from autotts.sandbox.jobs import Candidate

    from .conftest import LIMITS

    forged = candidate("session.branch()\nreturn peek(session)[5]", header=UPDATE_WRAPPER)
    out = run(forged, payload, _unsafe_bypass=True)
    assert out.status == "forged" and "which no action revealed" in out.reason
    oracle = candidate(
        "finals = peek(session)\n"
        "best = Counter(finals).most_common(1)[0][0] if finals else None\n"
        "while True:\n"
        "    [a] = session.read(1)\n"
        "    if a == best or session.n_open == session.n_available:\n"
        "        return a",
        header="from collections import Counter\n" + UPDATE_WRAPPER,
    )
    del Counter
    sweeps = [
        sweep_candidate(
            Candidate(oracle, "C"),
            payload["envs"],
            payload["betas"],
            strict=strict,
            limits=LIMITS,
            _unsafe_bypass=True,
        )
        for strict in (False, True)
    ]
    assert all(s.outcome.ok for s in sweeps), [s.outcome.reason for s in sweeps]
    mismatch = strict_mismatch(sweeps[0].results, sweeps[1].results)
    assert mismatch is not None and "depend on chain data it had not revealed" in mismatch
