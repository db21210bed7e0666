"""The sandbox for untrusted controller code (anything a proposer wrote).

Layers, each assuming the ones before it have fallen:

1. the static policy (:func:`check_source`): allowed imports and callables only, no code
   evaluation, files, introspection, private attributes or risky dunder methods, every
   violation with its line;
2. the Python guard inside the child (:mod:`.guard`, :mod:`.loader`): an audit hook, frozen
   modules, restricted builtins and module views;
3. OS layers inside the child (:mod:`.seccomp`): an unprivileged user, a seccomp filter, no
   new processes, rlimits;
4. the jail around the child (:mod:`.jail`): bubblewrap namespaces — a read-only view of the
   Python installation only, no network, its own pids;
5. the trusted parent (:mod:`.verify`): gold answers never enter the child, every episode's
   action log is replayed in a trusted session and every figure re-derived from it (fast
   mode), or the sessions live in the parent and the child gets a proxy (strict mode).

Every rejection or kill comes back as a :class:`SandboxOutcome` with a one-line reason.
"""

from .allowlist import ALLOWED_MODULES
from .episodes import validate_schedule
from .jail import JailStatus, jail_status
from .jobs import (
    Candidate,
    SweepOutcome,
    describe_candidate,
    evaluate_sandboxed,
    matched_env,
    strict_mismatch,
    sweep_candidate,
)
from .loader import policy_reason
from .outcome import STATUSES, Limits, Rejection, SandboxOutcome
from .policy import Violation, check_source
from .runner import kill_all

__all__ = [
    "ALLOWED_MODULES",
    "STATUSES",
    "Candidate",
    "JailStatus",
    "Limits",
    "Rejection",
    "SandboxOutcome",
    "SweepOutcome",
    "Violation",
    "check_source",
    "describe_candidate",
    "evaluate_sandboxed",
    "jail_status",
    "kill_all",
    "matched_env",
    "policy_reason",
    "strict_mismatch",
    "sweep_candidate",
    "validate_schedule",
]
