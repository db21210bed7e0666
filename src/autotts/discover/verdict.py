"""The plain-language result of a discovery run, read from its ``summary.json``: what was
found, how it compares with the baselines on the held-out split, and where to look next.

Said as it is: a selection that is not ahead of every baseline it can be compared with is
reported as not beating the baselines, and the best baseline is named.
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


def best_baseline(heldout: dict[str, Any]) -> tuple[str, str, float, float] | None:
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


def _point(name: str, point: str) -> str:
    return name if point == "default" else f"{name} ({point})"


def plain_result(summary: dict[str, Any], run_dir: str = "") -> list[str]:
    """Sentences (one per line) saying what the run found and how it compares; paths are
    given under ``run_dir``."""
    lines: list[str] = []
    best = best_baseline(summary.get("heldout", {}))
    best_text = (
        f"the best baseline on the held-out split is {_point(best[0], best[1])}: "
        f"{best[2]:.1f} % accuracy at {_tokens(best[3])} tokens per question"
        if best
        else "no baseline was measured on the held-out split"
    )
    sel = summary.get("selected")
    if sel is None:
        lines.append(f"Nothing was found: no candidate passed every check; {best_text}.")
        return lines
    code = os.path.join(run_dir, sel["code_path"])
    no_better = " — no better than the baselines there" if sel["score"] < LEVEL else ""
    lines.append(
        f"Found {sel['id']}, search score {sel['score']:+.2f} points (its matched-token "
        f"advantage over the baselines' frontier on the search split{no_better}); code: {code}."
    )
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
        "These are point estimates without an interval; for a paired bootstrap interval run: "
        + shlex.join(cmd)
    )
    return lines
