"""The beta contract, checked on a candidate's search-split sweep.

1. One knob: the class subclasses ``Controller``, ``uses_beta`` is true, it exposes no other
   parameters, and ``schedule(beta)`` returns its settings (checked in the sandbox, see
   :func:`autotts.sandbox.episodes.knob_problems`).
2. The knob is measured: every search environment has at least 2 distinct betas, and the sweep
   spends something (not every token count is 0).
3. Strictly rising budget: on every search environment, average tokens rise strictly from each
   beta to the next. No dip is tolerated: a knob whose neighbouring betas cost the same, or
   less, does not set the budget. (Replicates only reshuffle chains, and every beta sees the
   same chain orders, so a controller whose budget grows with beta shows it in the averages.)
4. Even steps: from each beta to the next, tokens grow by at most ``MAX_STEP`` (2x). A knob
   that jumps leaves a hole in the curve where nothing was measured.
5. A meaningful range: averaged over the search environments, the token count at the highest
   beta is at least ``MIN_SPAN`` (1.5) times the count at the lowest beta. A knob that barely
   moves spending traces no curve.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

MAX_STEP = 2.0
MIN_SPAN = 1.5

CONTRACT_TEXT = (
    "at least 2 distinct betas with tokens spent; average tokens rising strictly from each "
    f"beta to the next on every search environment (no dip, no flat step), by at most "
    f"{MAX_STEP:g}x per step; and tokens at the highest beta at least {MIN_SPAN:g}x those at "
    "the lowest (search average)"
)


def _by_beta(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Distinct betas in order, each with its mean tokens (a beta measured twice counts once)."""
    tokens: dict[float, list[float]] = {}
    for b, t in points:
        tokens.setdefault(b, []).append(t)
    return [(b, sum(ts) / len(ts)) for b, ts in sorted(tokens.items())]


def _first_with_more(problems: list[str]) -> list[str]:
    if not problems:
        return []
    more = len(problems) - 1
    return [problems[0] + (f"; also on {more} more environment(s)" if more else "")]


def contract_problems(sweeps: Mapping[str, Sequence[tuple[float, float]]]) -> list[str]:
    """Problems with sweeps given as env name → [(beta, avg tokens), ...]; empty if none.
    Each kind of problem is reported once, on its first environment, with how many more have
    it."""
    if not sweeps:
        return ["no sweep to check: the candidate was measured on no search environment"]
    few, flat, jumps = [], [], []
    lows, highs, spent = [], [], 0.0
    for env, points in sweeps.items():
        pts = _by_beta(points)
        spent += sum(abs(t) for _, t in pts)
        if len(pts) < 2:
            few.append(f"{env}: {len(pts)} distinct beta(s) measured (the contract needs 2)")
            continue
        for (b0, t0), (b1, t1) in itertools.pairwise(pts):
            if t1 <= t0:
                verb = "stay at" if t1 == t0 else "fall to"
                flat.append(
                    f"{env}: tokens {verb} {t1:.0f} at beta {b1:g} from {t0:.0f} at beta "
                    f"{b0:g} (the budget must rise strictly with beta)"
                )
                break
        for (b0, t0), (b1, t1) in itertools.pairwise(pts):
            if t1 > MAX_STEP * t0:
                step = f"{t1 / t0:.3f}x" if t0 > 0 else "from nothing"
                jumps.append(
                    f"{env}: tokens jump {step} from {t0:.0f} at beta {b0:g} to {t1:.0f} at "
                    f"beta {b1:g} (at most {MAX_STEP:g}x between neighbouring betas)"
                )
                break
        lows.append(pts[0][1])
        highs.append(pts[-1][1])
    problems = _first_with_more(few)
    if spent == 0:
        return [*problems, "the sweep spends no tokens at any beta"]
    problems += _first_with_more(flat) + _first_with_more(jumps)
    if lows:
        lo, hi = sum(lows) / len(lows), sum(highs) / len(highs)
        if hi < MIN_SPAN * lo:
            problems.append(
                f"the beta sweep spans too little budget: {lo:.0f} → {hi:.0f} tokens on average "
                f"(need at least {MIN_SPAN:g}x between the lowest and highest beta)"
            )
    return problems
