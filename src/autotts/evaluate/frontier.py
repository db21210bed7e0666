"""Accuracy–cost frontiers: comparing sweeps at matched token counts.

A sweep is a list of (tokens, accuracy) points, one per beta (or k). Two sweeps are compared
where both have points: accuracy is interpolated linearly in log tokens, because doubling the
budget is the natural unit of spending in test-time scaling.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence

Point = tuple[float, float]  # (average tokens, accuracy in percent)


def envelope(points: Iterable[Point]) -> list[Point]:
    """The upper-left frontier: the points no other point beats on both tokens and accuracy
    (fewer or equal tokens and higher accuracy), sorted by tokens."""
    best = -math.inf
    out: list[Point] = []
    for t, a in sorted(points, key=lambda p: (p[0], -p[1])):
        if a > best:
            out.append((t, a))
            best = a
    return out


def interpolate(curve: Sequence[Point], tokens: float) -> float | None:
    """Accuracy of a sorted curve at ``tokens``, linear in log tokens; None outside its range."""
    if not curve or tokens <= 0:
        return None
    if len(curve) == 1:
        return curve[0][1] if math.isclose(tokens, curve[0][0], rel_tol=1e-9) else None
    if tokens < curve[0][0] * (1 - 1e-9) or tokens > curve[-1][0] * (1 + 1e-9):
        return None
    x = math.log(tokens)
    for (t0, a0), (t1, a1) in itertools.pairwise(curve):
        if tokens <= t1 * (1 + 1e-9):
            x0, x1 = math.log(t0), math.log(t1)
            if x1 - x0 < 1e-12:
                return max(a0, a1)
            w = min(max((x - x0) / (x1 - x0), 0.0), 1.0)
            return a0 + w * (a1 - a0)
    return curve[-1][1]


def matched_advantage(candidate: Iterable[Point], reference: Iterable[Point]) -> float | None:
    """Mean over the candidate's points that lie within the reference's token range of
    (candidate accuracy − reference accuracy interpolated at that token count), in points of
    accuracy. The reference is taken as its envelope (its best accuracy for the tokens).
    None when no candidate point lies within the range."""
    ref = envelope(reference)
    diffs = []
    for t, a in candidate:
        r = interpolate(ref, t)
        if r is not None:
            diffs.append(a - r)
    return sum(diffs) / len(diffs) if diffs else None


def frontier_gap(candidate: Iterable[Point], reference: Iterable[Point]) -> float | None:
    """:func:`matched_advantage`, and where no candidate point lies within the reference's
    range (a reference with a single point, say), the mirror image: the mean over the
    reference's points within the candidate's range of (candidate accuracy interpolated there −
    reference accuracy). None when the two do not overlap at all."""
    cand, ref = list(candidate), list(reference)
    adv = matched_advantage(cand, ref)
    if adv is not None:
        return adv
    curve = envelope(cand)
    diffs = []
    for t, a in ref:
        c = interpolate(curve, t)
        if c is not None:
            diffs.append(c - a)
    return sum(diffs) / len(diffs) if diffs else None


def measured_curve(points: Iterable[Point]) -> list[Point]:
    """A sweep as measured, sorted by tokens (not its envelope: a dip stays a dip); points at
    the same token count are merged into their mean accuracy."""
    by_tokens: dict[float, list[float]] = {}
    for t, a in points:
        by_tokens.setdefault(t, []).append(a)
    return [(t, sum(acc) / len(acc)) for t, acc in sorted(by_tokens.items())]


def matched_advantage_over(
    a_points: Iterable[Point], b_points: Iterable[Point]
) -> tuple[float | None, int]:
    """How much better sweep B is than sweep A at A's token counts: the mean over A's points
    whose token count lies within B's token range of (B's accuracy interpolated linearly in log
    tokens at that count − A's accuracy), in points of accuracy, with the number of A's points
    averaged; ``(None, 0)`` when none lies within B's range.

    B's curve is :func:`measured_curve` (its points as swept, sorted by tokens). At a token
    count B measured, B's measured accuracy is used as is, not re-interpolated, so a sweep
    compared with itself gives exactly 0. Mind the orientation: :func:`matched_advantage`
    (candidate, reference) is candidate − reference and takes the reference's envelope."""
    curve = measured_curve(b_points)
    measured = dict(curve)
    diffs = []
    for t, a in a_points:
        b = measured[t] if t in measured else interpolate(curve, t)
        if b is not None:
            diffs.append(b - a)
    if not diffs:
        return None, 0
    return sum(diffs) / len(diffs), len(diffs)


def matched_accuracy(candidate, reference):  # TEMP stub until helper B lands
    import math as _m

    curve = measured_curve(candidate)
    terms = []
    for t, a in reference:
        need = None
        for i, (t1, a1) in enumerate(curve):
            if a1 >= a:
                if i == 0 or a1 == a:
                    need = t1
                else:
                    t0, a0 = curve[i - 1]
                    w = (a - a0) / (a1 - a0)
                    need = _m.exp(_m.log(t0) + w * (_m.log(t1) - _m.log(t0)))
                break
        if need is not None and t > 0:
            terms.append(_m.log(need / t))
    return _m.exp(sum(terms) / len(terms)) if terms else None
