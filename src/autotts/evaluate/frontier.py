"""Accuracy–cost frontiers and the two ways this project compares sweeps.

A sweep is a list of (tokens, accuracy) points, one per beta (or k). Along the token axis
everything is linear in log tokens, because doubling the budget is the natural unit of spending
in test-time scaling. Two comparisons, each with one implementation here:

- :func:`matched_advantage`: how many accuracy points the candidate gains at the reference's
  token counts (same tokens, compare accuracy).
- :func:`matched_accuracy`: how many tokens the candidate needs to reach the reference's
  accuracies, as a ratio (same accuracy, compare tokens).

Both read the candidate as measured (:func:`measured_curve`: a dip stays a dip) and average over
the reference's points; to compare against a frontier, pass ``envelope(points)`` as the
reference. Points with no tokens are ignored (they have no log).
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


def measured_curve(points: Iterable[Point]) -> list[Point]:
    """A sweep as measured, sorted by tokens (not its envelope: a dip stays a dip); points at
    the same token count are merged into their mean accuracy."""
    by_tokens: dict[float, list[float]] = {}
    for t, a in points:
        by_tokens.setdefault(t, []).append(a)
    return [(t, sum(acc) / len(acc)) for t, acc in sorted(by_tokens.items())]


def _positive_curve(points: Iterable[Point]) -> list[Point]:
    return [p for p in measured_curve(points) if p[0] > 0]


def _advantage_terms(candidate: Iterable[Point], reference: Iterable[Point]) -> list[float]:
    curve = _positive_curve(candidate)
    measured = dict(curve)
    terms = []
    for t, a in reference:
        c = measured[t] if t in measured else interpolate(curve, t)
        if c is not None:
            terms.append(c - a)
    return terms


def joint_frontier(sweeps: Iterable[Iterable[Point]]) -> list[Point]:
    """The joint frontier of several sweeps, at every token count any of them measured: the
    best accuracy reachable there — by a point with no more tokens (the :func:`envelope`'s
    staircase) or on a sweep's own curve (its :func:`measured_curve`, interpolated linearly in
    log tokens, as :func:`matched_advantage` reads a candidate). Compared this way, a copy of
    one of the sweeps is never ahead of the frontier: at every frontier point its own curve
    is one of the curves maximised over. Sorted by tokens; the points no other point beats."""
    curves = [c for c in (_positive_curve(s) for s in sweeps) if c]
    tokens = sorted({t for c in curves for t, _ in c})
    best = -math.inf
    out: list[Point] = []
    for t in tokens:
        here = [a for c in curves for ct, a in c if ct <= t]
        here += [v for c in curves if (v := interpolate(c, t)) is not None]
        best = max(best, max(here))
        if not out or best > out[-1][1]:
            out.append((t, best))
    return out


def matched_advantage(candidate: Iterable[Point], reference: Iterable[Point]) -> float | None:
    """Matched-token advantage, in points of accuracy: the mean over the reference's points
    whose token count lies within the candidate's token range (ends included) of (the
    candidate's accuracy at that token count − the reference point's accuracy).

    The candidate is its :func:`measured_curve`, interpolated linearly in log tokens; at a token
    count the candidate measured, its measured accuracy is used as is, so a sweep compared with
    itself gives exactly 0. A single-point candidate is compared only with reference points at
    its own token count. Positive: the candidate is more accurate for the same tokens. None
    when no reference point lies within the candidate's range. Against a frontier, pass
    ``envelope(points)`` as the reference."""
    terms = _advantage_terms(candidate, reference)
    return sum(terms) / len(terms) if terms else None


def matched_count(candidate: Iterable[Point], reference: Iterable[Point]) -> int:
    """How many reference points :func:`matched_advantage` averages (0 when it is None)."""
    return len(_advantage_terms(candidate, reference))


def tokens_to_reach(curve: Sequence[Point], accuracy: float) -> float | None:
    """Tokens a measured curve (sorted by tokens, as :func:`measured_curve` gives) needs to
    reach ``accuracy``: on the first segment whose end reaches it, the token count where the
    segment crosses it, linear in log tokens; the first point's tokens when that point already
    reaches it (an upper bound: the curve says nothing about fewer tokens); None when no point
    reaches it."""
    for i, (t1, a1) in enumerate(curve):
        if a1 < accuracy:
            continue
        if i == 0 or a1 == accuracy:
            return t1
        t0, a0 = curve[i - 1]
        w = (accuracy - a0) / (a1 - a0)  # a0 < accuracy < a1
        return math.exp(math.log(t0) + w * (math.log(t1) - math.log(t0)))
    return None


def _accuracy_terms(candidate: Iterable[Point], reference: Iterable[Point]) -> list[float]:
    curve = _positive_curve(candidate)
    terms = []
    for t, a in reference:
        needed = tokens_to_reach(curve, a) if t > 0 else None
        if needed is not None:
            terms.append(math.log(needed / t))
    return terms


def matched_accuracy(candidate: Iterable[Point], reference: Iterable[Point]) -> float | None:
    """Matched-accuracy token ratio: the geometric mean over the reference's points that the
    candidate reaches of (tokens the candidate needs to reach that point's accuracy / the
    point's tokens). Below 1 the candidate is cheaper: 0.6 means it reaches the reference's
    accuracies with 40 % fewer tokens ("tokens saved at X's accuracy" = 1 − the ratio against
    X's single point).

    "Tokens needed" is :func:`tokens_to_reach` on the candidate's :func:`measured_curve`: where
    its first segment reaching the accuracy crosses it, linear in log tokens. When the
    candidate's cheapest point already reaches it, that point's tokens are used, an upper bound
    (the true ratio may be lower still). A sweep compared with itself gives exactly 1 when its
    accuracy rises strictly with tokens; a plateau or dip gives less, since an earlier point
    already reaches a later point's accuracy. None when the candidate reaches none of the
    reference's accuracies. Against a frontier, pass ``envelope(points)`` as the reference."""
    terms = _accuracy_terms(candidate, reference)
    return math.exp(sum(terms) / len(terms)) if terms else None


def reached_count(candidate: Iterable[Point], reference: Iterable[Point]) -> int:
    """How many reference points :func:`matched_accuracy` averages (0 when it is None)."""
    return len(_accuracy_terms(candidate, reference))
