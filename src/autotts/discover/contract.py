"""The beta contract, checked on a candidate's search-split sweep.

1. One knob: the class subclasses ``Controller``, ``uses_beta`` is true, it exposes no other
   parameters, and ``schedule(beta)`` returns its settings (checked in the sandbox, see
   :func:`autotts.sandbox.episodes.knob_problems`).
2. Monotone budget: on every search environment, average tokens are non-decreasing in beta,
   up to a noise tolerance: a step down of at most ``MONOTONE_TOLERANCE`` (2 %) of the larger
   of the two values, or ``MONOTONE_SLACK_TOKENS`` (50) tokens, whichever is larger, is
   accepted. Replicates only reshuffle chains, so a real controller's sweep wobbles a little.
3. A meaningful range: averaged over the search environments, the token count at the highest
   beta is at least ``MIN_SPAN`` (1.5) times the count at the lowest beta. A knob that barely
   moves spending traces no curve.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

MONOTONE_TOLERANCE = 0.02
MONOTONE_SLACK_TOKENS = 50.0
MIN_SPAN = 1.5
MAX_STEP = 2.0  # TEMP

CONTRACT_TEXT = (
    f"average tokens non-decreasing in beta on every search environment (a dip of up to "
    f"{MONOTONE_TOLERANCE:.0%} or {MONOTONE_SLACK_TOKENS:.0f} tokens is tolerated) and "
    f"tokens at the highest beta at least {MIN_SPAN:g}x those at the lowest (search average)"
)


def contract_problems(sweeps: Mapping[str, Sequence[tuple[float, float]]]) -> list[str]:
    """Problems with sweeps given as env name → [(beta, avg tokens), ...]; empty if none."""
    problems = []
    falls = []
    lows, highs = [], []
    for env, points in sweeps.items():
        pts = sorted(points)
        if len(pts) < 2:
            continue
        for (b0, t0), (b1, t1) in itertools.pairwise(pts):
            allowed = max(MONOTONE_TOLERANCE * max(t0, t1), MONOTONE_SLACK_TOKENS)
            if t1 < t0 - allowed:
                falls.append(
                    f"{env}: tokens fall from {t0:.0f} at beta {b0:g} to {t1:.0f} at beta "
                    f"{b1:g} (budget must not decrease as beta grows)"
                )
                break
        lows.append(pts[0][1])
        highs.append(pts[-1][1])
    if falls:
        more = len(falls) - 1
        problems.append(falls[0] + (f"; also on {more} more environment(s)" if more else ""))
    if lows:
        lo, hi = sum(lows) / len(lows), sum(highs) / len(highs)
        if hi < MIN_SPAN * lo:
            problems.append(
                f"the beta sweep spans too little budget: {lo:.0f} → {hi:.0f} tokens on average "
                f"(need at least {MIN_SPAN:g}x between the lowest and highest beta)"
            )
    return problems
