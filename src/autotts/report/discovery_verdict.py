"""The discovery report's plain statements about the selection, read from ``summary.json``:
that nothing beat the baselines on the search split, and which baselines it is below on the
held-out split."""

from __future__ import annotations

from typing import Any

from .html import esc


def _score(score: float | None) -> str:
    return "–" if score is None else f"{score:+.2f}"


def ci_text(summary: dict[str, Any]) -> str:
    ci = (summary.get("search_advantage") or {}).get("ci95")
    return f", 95 % CI {ci[0]:+.2f} to {ci[1]:+.2f}" if ci else ""


def no_win_html(summary: dict[str, Any], chosen: str, score: float | None) -> str:
    """The plain statement of a finished run whose selection does not beat the baselines."""
    best = summary.get("best_baseline")
    seed = summary.get("selection_is_seed")
    why = (
        f"it is the evolve proposer's {esc(seed)} seed genome, unchanged"
        if seed
        else "its interval does not lie above the baselines' joint frontier"
    )
    return (
        "<b>Nothing beat the baselines on the search split</b>"
        + (f": best is <b>{esc(best)}</b>" if best else "")
        + f". The best candidate, {esc(chosen)} (search score {_score(score)}"
        + f"{ci_text(summary)}), is kept as the selection, but {why}."
    )


def below_html(summary: dict[str, Any]) -> str:
    """The flag of a selection below a baseline on the held-out split, or nothing."""
    below = summary.get("heldout_below") or []
    if not below:
        return ""
    return (
        "<p><b>"
        + "; ".join(
            f"Below {esc(b['baseline'])} on held-out by {b['by']:.2f} points" for b in below
        )
        + "</b> (the selection's mean matched-token advantage over that baseline on the "
        "held-out split is negative: the baseline's curve lies above it).</p>"
    )
