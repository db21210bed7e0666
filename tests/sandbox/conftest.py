"""Fixtures for sandbox tests: a small synthetic environment file and candidate sources."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from autotts.data import write_env
from autotts.evaluate import Protocol
from autotts.sandbox import Candidate, Limits, SandboxOutcome, sweep_candidate
from tests.controllers.synthetic import synthetic_env

ROOT = Path(__file__).resolve().parents[2]
# generous: the suite runs in parallel on shared machines
LIMITS = Limits(timeout_s=30.0, memory_mb=768)
# From any object to the os module's globals, without imports: what code that got past the
# static policy could do. Tests use it to show the run-time wall holds on its own.
OS_GLOBALS = (
    "[c for c in object.__subclasses__() if c.__name__ == '_wrap_close'][0].__init__.__globals__"
)


def candidate(body: str, *, schedule: str = "{'width': 2}", header: str = "") -> str:
    """A beta controller whose solve() runs ``body``; ``header`` goes before the class."""
    head = textwrap.dedent(header).strip("\n")
    lines = [
        "from autotts.controllers import Controller, vote",
        head,
        "class C(Controller):",
        "    name, uses_beta = 'c', True",
        "",
        "    @classmethod",
        "    def schedule(cls, beta):",
        f"        return {schedule}",
        "    def solve(self, session):",
    ]
    source = "\n".join(lines) + "\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), " " * 8)
    return source + "\n"


@pytest.fixture(scope="session")
def env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six questions of sixteen chains."""
    path = tmp_path_factory.mktemp("sandbox") / "env.json"
    write_env(synthetic_env(seed=5, n_questions=6, n_chains=16), path)
    return path


@pytest.fixture
def payload(env_file: Path) -> dict[str, Any]:
    """An evaluate_job payload: one beta, three replicates."""
    return {
        "envs": [str(env_file)],
        "betas": [0.5],
        "protocol": {"name": "official", "replicates": 3, "seed": 0},
        "match": "exact",
        "kappa_probe": 0.0,
        "budget": None,
        "params": {},
    }


def run(
    source: str,
    payload: dict[str, Any],
    limits: Limits = LIMITS,
    *,
    strict: bool = False,
    class_name: str = "C",
    **kw: Any,
) -> SandboxOutcome:
    """Sweep candidate ``source`` over the payload's grid in the sandbox (fast or strict)."""
    return sweep_candidate(
        Candidate(source, class_name),
        payload["envs"],
        payload["betas"],
        protocol=Protocol(**payload["protocol"]),
        match=payload["match"],
        kappa_probe=payload["kappa_probe"],
        budget=payload["budget"],
        params=payload["params"],
        strict=strict,
        limits=limits,
        **kw,
    ).outcome


def line_of(source: str, text: str) -> int:
    """The (1-based) number of the first line of ``source`` containing ``text``."""
    return next(n for n, line in enumerate(source.splitlines(), 1) if text in line)
