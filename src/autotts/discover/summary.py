"""``summary.json``: what a discovery run found, deterministic for a given seed.

It holds the selected candidate (id, code path, score), every candidate's status, the per-env
sweeps on the search and held-out splits for the selection and the baselines, whether the
selection beats the baselines on the search split (a paired bootstrap interval of its advantage
over their joint frontier; the best baseline named; :mod:`.selection`), the held-out
matched-token advantage and matched-accuracy token ratio of the selection against each
baseline, the baselines it is below there, and the proposer's spending.
Timings are left out on purpose: an interrupted and resumed run gives the same file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..evaluate import matched_accuracy, matched_advantage
from .config import DiscoverConfig
from .digest import Sweep, points
from .history import CandidateRow
from .selection import heldout_below, search_verdict

_FIELDS = ("accuracy", "accuracy_ci95", "avg_total_tokens", "avg_sequential_tokens", "errors")


def _table(sweep: Sweep) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for env, records in sorted(sweep.items()):
        rows = []
        for r in records:
            row: dict[str, Any] = {"point": r.get("label") or f"b={r['beta']:g}", "beta": r["beta"]}
            row.update({k: r["result"][k] for k in _FIELDS})
            rows.append(row)
        out[env] = rows
    return out


def advantages(selected: Sweep, baselines: Mapping[str, Sweep]) -> dict[str, dict[str, Any]]:
    """Per baseline: env → matched-token advantage of the selection over the baseline's points
    (accuracy points; :func:`autotts.evaluate.matched_advantage`), and the mean over the
    environments where it is defined."""
    out: dict[str, dict[str, Any]] = {}
    for name, base in sorted(baselines.items()):
        per_env: dict[str, Any] = {}
        for env, records in sorted(selected.items()):
            adv = matched_advantage(points(records), points(base.get(env, ())))
            per_env[env] = None if adv is None else round(adv, 3)
        defined = [v for v in per_env.values() if v is not None]
        per_env["mean"] = round(sum(defined) / len(defined), 3) if defined else None
        out[name] = per_env
    return out


def token_ratios(selected: Sweep, baselines: Mapping[str, Sweep]) -> dict[str, dict[str, Any]]:
    """Per baseline: env → matched-accuracy token ratio of the selection to the baseline
    (:func:`autotts.evaluate.matched_accuracy`; below 1 the selection is cheaper), and the
    geometric mean over the environments where it is defined."""
    out: dict[str, dict[str, Any]] = {}
    for name, base in sorted(baselines.items()):
        per_env: dict[str, Any] = {}
        for env, records in sorted(selected.items()):
            ratio = matched_accuracy(points(records), points(base.get(env, ())))
            per_env[env] = None if ratio is None else round(ratio, 4)
        defined = [math.log(v) for v in per_env.values() if v is not None and v > 0]
        per_env["mean"] = round(math.exp(sum(defined) / len(defined)), 4) if defined else None
        out[name] = per_env
    return out


def build_summary(
    cfg: DiscoverConfig,
    candidates: Sequence[CandidateRow],
    selected: CandidateRow | None,
    search_baselines: Mapping[str, Sweep],
    search_selected: Sweep | None,
    heldout_baselines: Mapping[str, Sweep],
    heldout_selected: Sweep | None,
    stopped: str | None,
) -> dict[str, Any]:
    search = {name: _table(s) for name, s in sorted(search_baselines.items())}
    heldout = {name: _table(s) for name, s in sorted(heldout_baselines.items())}
    sel = None
    if selected is not None and search_selected is not None:
        sel = {
            "id": selected.id,
            "class_name": selected.class_name,
            "code_path": f"candidates/{selected.id}/controller.py",
            "code_hash": selected.code_hash,
            "score": selected.score,
            "spec": f"candidates/{selected.id}/controller.py:{selected.class_name}",
        }
        search["selected"] = _table(search_selected)
        if heldout_selected is not None:
            heldout["selected"] = _table(heldout_selected)
    held_adv = advantages(heldout_selected, heldout_baselines) if heldout_selected else None
    verdict = search_verdict(
        selected.code if selected is not None else None,
        search_selected,
        search_baselines,
        seed=cfg.seed,
    )
    return {
        "config": cfg.to_json(),
        "selected": sel,
        "stopped": stopped,
        "candidates": [
            {
                "id": c.id,
                "round": c.round,
                "slot": c.slot,
                "proposer": c.proposer,
                "parents": c.parents,
                "class_name": c.class_name,
                "code_hash": c.code_hash,
                "status": c.status,
                "reason": c.reason,
                "score": c.score,
            }
            for c in candidates
        ],
        "spent_usd": round(sum(c.cost_usd for c in candidates), 6),
        "tokens_in": sum(c.tokens_in for c in candidates),
        "tokens_out": sum(c.tokens_out for c in candidates),
        "search": search,
        "heldout": heldout,
        **verdict,
        "heldout_advantage": held_adv,
        "heldout_token_ratio": (
            token_ratios(heldout_selected, heldout_baselines) if heldout_selected else None
        ),
        "heldout_below": heldout_below(held_adv) if held_adv is not None else None,
    }


def _search_score(summary: dict[str, Any]) -> str:
    """``search score +1.20, 95 % CI +0.30 to +2.10`` (the interval when there is one)."""
    sel = summary["selected"]
    adv = summary.get("search_advantage") or {}
    value = adv.get("value", sel["score"])
    text = "search score " + ("n/a" if value is None else f"{value:+.2f}")
    ci = adv.get("ci95")
    return text + (f", 95 % CI {ci[0]:+.2f} to {ci[1]:+.2f}" if ci else "")


def render_text(summary: dict[str, Any]) -> str:
    """A readable account of the summary for the terminal."""
    lines = []
    cands = summary["candidates"]
    lines.append(f"{len(cands)} candidate(s):")
    for c in cands:
        what = (
            f"score {c['score']:+.2f}"
            if c["status"] == "ok" and c["score"] is not None
            else f"{c['status']}" + (f": {c['reason']}" if c["reason"] else "")
        )
        lines.append(f"  {c['id']:<6} {c['proposer']:<7} {what}"[:160])
    if summary["stopped"]:
        lines.append(f"stopped early: {summary['stopped']}")
    sel = summary["selected"]
    if sel is None:
        lines.append("no candidate passed every check: nothing selected")
        return "\n".join(lines)
    adv_text = _search_score(summary)
    if summary.get("beats_baselines"):
        lines.append(f"selected {sel['id']} ({adv_text}): {sel['spec']}")
    else:
        seed = summary.get("selection_is_seed")
        lines.append(
            f"best candidate {sel['id']} ({adv_text}"
            + (f"; the {seed} seed genome, unchanged" if seed else "")
            + f"): {sel['spec']}"
        )
        best = summary.get("best_baseline")
        lines.append(
            "nothing beat the baselines on the search split" + (f": best is {best}" if best else "")
        )
    if summary.get("heldout_error"):
        lines.append(f"held-out evaluation of the selection failed: {summary['heldout_error']}")
    adv = summary.get("heldout_advantage") or {}
    if adv:
        lines.append(
            "held-out matched-token advantage of the selection (accuracy points), and the "
            "tokens it needs for the baseline's accuracies (x below 1: cheaper):"
        )
        for name, per_env in adv.items():
            mean = per_env.get("mean")
            ratio = (summary.get("heldout_token_ratio") or {}).get(name, {}).get("mean")
            tokens = "" if ratio is None else f"   tokens at its accuracy x{ratio:.2f}"
            lines.append(f"  vs {name:<15} " + ("n/a" if mean is None else f"{mean:+.2f}") + tokens)
    for b in summary.get("heldout_below") or []:
        lines.append(f"  below {b['baseline']} on held-out by {b['by']:.2f} points")
    held = summary["heldout"].get("selected", {})
    for env, rows in held.items():
        top = rows[-1]
        seq = top.get("avg_sequential_tokens")
        where = top["point"] if seq is None else f"{seq:.0f} sequential; {top['point']}"
        lines.append(
            f"  {env}: {top['accuracy']:.1f}% at {top['avg_total_tokens']:.0f} tokens ({where})"
        )
    if summary["spent_usd"]:
        lines.append(f"proposer spending: ${summary['spent_usd']:.4f}")
    return "\n".join(lines)
