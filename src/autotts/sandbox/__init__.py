"""The sandbox for untrusted controller code (anything a proposer wrote).

Two walls. The static policy (:func:`check_source`) reads the code without running it: allowed
imports only, no code evaluation, files, introspection or private attributes of other objects,
every violation with its line. Then the code runs only in a child process
(:func:`run_sandboxed`): a fresh interpreter with wall-clock, memory, CPU and file-size limits,
its own process group (killed at the end), pipes only, a scratch directory; inside it the policy
is checked again, and an audit hook plus frozen modules refuse file writes, processes, network,
native code and new imports once trusted setup is done. Every rejection or kill comes back as a
:class:`SandboxOutcome` with a one-line reason; the caller's run goes on.
"""

from .allowlist import ALLOWED_MODULES
from .jobs import (
    DESCRIBE_JOB,
    EVALUATE_JOB,
    checked_controller,
    describe_job,
    evaluate_job,
    evaluate_sandboxed,
    validate_schedule,
)
from .outcome import STATUSES, Limits, Rejection, SandboxOutcome
from .policy import Violation, check_source
from .runner import run_sandboxed

__all__ = [
    "ALLOWED_MODULES",
    "DESCRIBE_JOB",
    "EVALUATE_JOB",
    "STATUSES",
    "Limits",
    "Rejection",
    "SandboxOutcome",
    "Violation",
    "check_source",
    "checked_controller",
    "describe_job",
    "evaluate_job",
    "evaluate_sandboxed",
    "run_sandboxed",
    "validate_schedule",
]
