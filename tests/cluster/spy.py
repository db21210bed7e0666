"""A work unit for the sandbox-on-workers test: imported by the Ray workers (the test cluster's
nodes have the repository on their PYTHONPATH)."""

from __future__ import annotations

from typing import Any


def spy(files: Any, task: tuple[str, str, bool]) -> tuple[str, str]:
    """Run candidate ``code`` with the Python policy and guard off in the sandbox of whichever
    worker runs this, under every OS layer or (``seccomp`` False) the jail alone; return
    (node id, the first episode error: the code's findings, or why the sandbox stopped it)."""
    import os

    import ray

    from autotts.evaluate import EvalSettings, Protocol
    from autotts.sandbox import Candidate, Limits, sweep_candidate

    env_path, code, seccomp = task
    os.environ["AUTOTTS_SANDBOX_SECCOMP"] = "on" if seccomp else "off"
    out = sweep_candidate(Candidate(code, "Spy"), [files.local(env_path)], [None],
                          settings=EvalSettings(Protocol("official", 1, 0)),
                          limits=Limits(require_jail=seccomp), _unsafe_bypass=True)  # fmt: skip
    node = ray.get_runtime_context().get_node_id()
    if not out.outcome.ok:
        return node, f"sandbox: {out.outcome.status}: {out.outcome.reason}"
    return node, out.results[0].error_examples[0]
