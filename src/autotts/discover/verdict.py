"""The plain-language result of a discovery run, read from its ``summary.json``: what was
found, how it compares with the baselines on the held-out split, and where to look next.

Said as it is: a selection whose search-split interval does not lie above the baselines'
frontier (or that is a seed baseline unchanged) is reported as "Nothing beat the baselines on
the search split", with the best baseline named (:mod:`.selection` defines it); a selection
below a baseline on the held-out split is reported as below it, by how much; one not ahead of
every baseline it can be compared with there is reported as not beating the baselines.
"""

from __future__ import annotations

import os
import shlex
from typing import Any

LEVEL = 0.005  # advantages smaller than this print as ±0.00: level, not ahead or behind


def _tokens(n: float) -> str:
    if n >= 1e6:
        return f"{n / 1e6:.2f}M"
    if n >= 1e3:
        return f"{n / 1e3:.0f}k"
    return f"{n:.0f}"


def _mean_points(per_env: dict[str, list[dict[str, Any]]]) -> list[tuple[str, float, float]]:
    """(point, accuracy, tokens) per point of a sweep, averaged over environments."""
    envs = list(per_env.values())
    if not envs:
        return []
    out = []
    for i, row in enumerate(envs[0]):
        acc = sum(e[i]["accuracy"] for e in envs) / len(envs)
        tok = sum(e[i]["avg_total_tokens"] for e in envs) / len(envs)
        out.append((str(row["point"]), acc, tok))
    return out


def most_accurate_baseline(heldout: dict[str, Any]) -> tuple[str, str, float, float] | None:
    """(baseline, point, accuracy, tokens) of the most accurate baseline point on the held-out
    split (mean over its environments; ties go to fewer tokens)."""
    best: tuple[str, str, float, float] | None = None
    for name, per_env in sorted(heldout.items()):
        if name == "selected":
            continue
        for point, acc, tok in _mean_points(per_env):
            if best is None or (acc, -tok) > (best[2], -best[3]):
                best = (name, point, acc, tok)
    return best


def _pts(v: float) -> str:
    """A positive number of accuracy points: two decimals, three when it is that small."""
    return f"{v:.3f}" if v < LEVEL else f"{v:.2f}"


def _ci(ci: list[float] | None) -> str:
    if not ci:
        return "no interval: no per-question accuracies, or no point in the frontier's range"
    return f"95 % CI {ci[0]:+.2f} to {ci[1]:+.2f}, paired bootstrap over questions"


def search_sentence(summary: dict[str, Any], run_dir: str = "") -> str:
    """What the search split says about the selection, in one sentence: found (its interval
    lies above 0) or, plainly, that nothing beat the baselines and which baseline is best."""
    sel = summary["selected"]
    code = os.path.join(run_dir, sel["code_path"])
    adv = summary.get("search_advantage") or {}
    value = adv.get("value", sel.get("score"))
    measured = (
        "no point within the baselines' token range on the search split (not comparable)"
        if value is None
        else f"{value:+.2f} points at matched tokens over the baselines' joint frontier on the "
        f"search split ({_ci(adv.get('ci95'))})"
    )
    if summary.get("beats_baselines"):
        return f"Found {sel['id']}: ahead by {measured}; code: {code}."
    best = summary.get("best_baseline")
    best_text = "no baseline could be compared with the others"
    if best is not None:
        gap = summary.get("best_baseline_advantage")
        best_text = f"best is {best}" + (
            " (the most accurate for the fewest tokens; the baselines' curves cannot be "
            "compared at matched tokens)"
            if gap is None
            else f" ({gap:+.2f} points over the other baselines' frontier)"
        )
    seed = summary.get("selection_is_seed")
    what = (
        f"is the evolve proposer's {seed} seed genome, unchanged ({seed} re-expressed):"
        if seed
        else "is not clearly ahead:"
    )
    return (
        f"Nothing beat the baselines on the search split: {best_text}. The best candidate, "
        f"{sel['id']}, {what} {measured}; code: {code}."
    )


def below_sentence(summary: dict[str, Any]) -> str | None:
    """``Below cmc on held-out by 5.80 points, below sc by 1.20 points (at matched
    tokens).``, or None when the selection is below no baseline there."""
    below = summary.get("heldout_below") or []
    if not below:
        return None
    parts = [f"below {b['baseline']} on held-out by {_pts(b['by'])} points" for b in below[:1]]
    parts += [f"below {b['baseline']} by {_pts(b['by'])} points" for b in below[1:]]
    text = ", ".join(parts)
    return text[0].upper() + text[1:] + " (at matched tokens)."


def _point(name: str, point: str) -> str:
    return name if point == "default" else f"{name} ({point})"


def plain_result(summary: dict[str, Any], run_dir: str = "") -> list[str]:
    """Sentences (one per line) saying what the run found and how it compares; paths are
    given under ``run_dir``."""
    lines: list[str] = []
    best = most_accurate_baseline(summary.get("heldout", {}))
    best_text = (
        f"the most accurate baseline point on the held-out split is {_point(best[0], best[1])}: "
        f"{best[2]:.1f} % accuracy at {_tokens(best[3])} tokens per question"
        if best
        else "no baseline was measured on the held-out split"
    )
    sel = summary.get("selected")
    if sel is None:
        on = summary.get("best_baseline")
        on_search = f"the best baseline on the search split is {on}; " if on else ""
        lines.append(f"Nothing was found: no candidate passed every check; {on_search}{best_text}.")
        return lines
    lines.append(search_sentence(summary, run_dir))
    if summary.get("heldout_error"):
        lines.append(
            f"Its held-out evaluation failed ({summary['heldout_error']}), so it cannot be "
            f"compared there; {best_text}."
        )
        return lines
    top = _mean_points(summary["heldout"].get("selected", {}))
    if top:
        point, acc, tok = top[-1]
        lines.append(
            f"On the held-out split, at its highest beta ({point}): {acc:.1f} % accuracy at "
            f"{_tokens(tok)} tokens per question."
        )
    adv = {
        name: per_env.get("mean")
        for name, per_env in (summary.get("heldout_advantage") or {}).items()
    }
    ahead = sorted(((v, n) for n, v in adv.items() if v is not None and v >= LEVEL), reverse=True)
    level = sorted((v, n) for n, v in adv.items() if v is not None and abs(v) < LEVEL)
    behind = sorted((v, n) for n, v in adv.items() if v is not None and v <= -LEVEL)
    apart = sorted(n for n, v in adv.items() if v is None)
    fmt = ", ".join
    below = below_sentence(summary)
    if below:
        lines.append(below)
    if ahead and not behind and not level:
        lines.append(
            "At matched tokens on the held-out split it is ahead of every baseline it can be "
            "compared with: " + fmt(f"{n} by {v:+.2f}" for v, n in ahead) + " points."
        )
    elif not (ahead or level or behind):
        lines.append(
            "It cannot be compared with any baseline at matched tokens (their token ranges do "
            f"not overlap); {best_text}."
        )
    else:
        parts = [
            f"{what} " + fmt(f"{n} ({v:+.2f})" for v, n in group)
            for what, group in (("behind", behind), ("level with", level), ("ahead of", ahead))
            if group
        ]
        lines.append(
            "It does not beat the baselines: at matched tokens on the held-out split it is "
            + "; ".join(parts)
            + f" points; {best_text}."
        )
    if apart:
        lines.append(f"Not comparable at matched tokens (no token overlap): {fmt(apart)}.")
    envs = summary.get("config", {}).get("heldout_envs", [])
    cmd = ["autotts", "compare", "--env", *envs, "--a", "cmc"]
    cmd += ["--b", os.path.join(run_dir, sel["spec"]), "--sandbox"]
    lines.append(
        "The held-out figures are point estimates; for a paired bootstrap interval run: "
        + shlex.join(cmd)
    )
    return lines
