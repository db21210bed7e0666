"""The strict re-run a candidate must pass before discovery may select it.

Both sandbox modes play the same episodes — every search environment, question and beta, at
:data:`STRICT_REPLICATES` replicates — and must give identical numbers: an honest controller
does; one that uses chain data it never revealed cannot, since strict mode holds none. The
held-out judgement runs strict at the full protocol (:meth:`Discovery.execute`).
"""

from __future__ import annotations

from typing import Any

from .history import CandidateRow

STRICT_REPLICATES = 4
STRICT_SLOWDOWN = 20  # strict mode is ~12x slower per episode: its wall clock scales with it


def strict_problem(loop: Any, cand: CandidateRow) -> tuple[str, str] | None:
    """(status, reason) if ``cand`` fails its strict re-run on the search split, else None.
    Both modes play the same episodes (the protocol at :data:`STRICT_REPLICATES`
    replicates, every question and beta): an honest controller gives identical numbers; one
    that uses chain data it never revealed cannot, since strict mode holds none."""
    from dataclasses import replace

    from ..evaluate import Protocol
    from ..sandbox import strict_mismatch

    p = loop.settings.protocol
    settings = replace(
        loop.settings, protocol=Protocol(p.name, min(p.replicates, STRICT_REPLICATES), p.seed)
    )
    paths = loop.search.paths
    loop.rep.phase(f"re-running {cand.id} in strict mode", len(paths))
    units = [loop.sandbox_unit(cand, path, strict, settings) for path in paths
             for strict in (False, True)]  # fmt: skip
    outs: dict[int, Any] = {}

    def done(n: int, out: Any) -> None:
        outs[n] = out
        if (n % 2 and n - 1 in outs) or (not n % 2 and n + 1 in outs):
            loop.rep.advance()

    try:
        loop.run_sandboxed(units, done)
    finally:
        loop.rep.done()
    for ei, label in enumerate(loop.search.labels):  # environment order, not completion order
        fast, strict = outs[2 * ei], outs[2 * ei + 1]
        for mode, out in (("fast", fast), ("strict", strict)):
            if out.status != "ok":
                return out.status, f"{mode} re-run on {label}: {out.reason}"
        mismatch = strict_mismatch(
            [replace(r, env=label) for r in fast.results],
            [replace(r, env=label) for r in strict.results],
        )
        if mismatch:
            return "cheat", mismatch
    return None
