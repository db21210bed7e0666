"""Digests for the proposer: what a candidate's sweep and episodes looked like, in bounded,
deterministic text built from search-split measurements only.

A measured controller is a :data:`Sweep`: environment label → records ``{"beta", "result",
"trace"}`` (see :mod:`autotts.discover.measure`). The digest of one candidate shows its scaling
curve next to the baselines', its matched-token advantage, where its tokens went, why its
episodes stopped, the pruning of chains that would have been right, the questions it lost that a
baseline won, and a few episodes as short action strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..evaluate import Point, joint_frontier, matched_advantage
from .history import CandidateRow, ranked

Sweep = Mapping[str, Sequence[Mapping[str, Any]]]

MAX_ENVS = 8
MAX_LOST = 6
MAX_EPISODES = 3
MAX_CANDIDATE_DIGEST = 3500


def points(records: Sequence[Mapping[str, Any]]) -> list[Point]:
    return [(r["result"]["avg_total_tokens"], r["result"]["accuracy"]) for r in records]


def baseline_frontier(baselines: Mapping[str, Sweep], env: str) -> list[Point]:
    """The joint frontier (:func:`autotts.evaluate.joint_frontier`, average total tokens) of
    every baseline on one environment: sc over k, asc over its threshold, esc over its window,
    parallel_probe and cmc over the betas (see :mod:`autotts.discover.baselines`)."""
    return joint_frontier(points(sweep.get(env, ())) for sweep in baselines.values())


def score(sweep: Sweep, baselines: Mapping[str, Sweep]) -> float | None:
    """Selection score on the search split: the mean over environments of the matched-token
    advantage (accuracy points, :func:`autotts.evaluate.matched_advantage`) of the sweep over
    the baselines' joint frontier (:func:`baseline_frontier`, in total tokens): on each
    environment, the mean over the frontier's points within the sweep's token range of (the
    sweep's accuracy there − the frontier point's). None when, on every environment, no
    frontier point lies within the sweep's token range."""
    per_env = []
    for env, records in sorted(sweep.items()):
        adv = matched_advantage(points(records), baseline_frontier(baselines, env))
        if adv is not None:
            per_env.append(adv)
    return round(sum(per_env) / len(per_env), 4) if per_env else None


def _k(tokens: float) -> str:
    return f"{tokens / 1000:.1f}k" if tokens >= 1000 else f"{tokens:.0f}"


def _curve(records: Sequence[Mapping[str, Any]], label: str) -> str:
    cells = []
    for r in records:
        res = r["result"]
        label = r.get("label") or (f"b={r['beta']:g}" if r.get("beta") is not None else "")
        tag = f"{label} " if label else ""
        seq = res.get("avg_sequential_tokens")
        at = _k(res["avg_total_tokens"]) + (f"/{_k(seq)}" if seq is not None else "")
        cells.append(f"{tag}{res['accuracy']:.1f}%@{at}")
    return f"  {label}: " + ", ".join(cells)


def _pick(records: Sequence[Mapping[str, Any]], beta: float) -> Mapping[str, Any]:
    return min(records, key=lambda r: (abs((r.get("beta") or 0.0) - beta), r.get("beta") or 0))


def _trace_line(rec: Mapping[str, Any]) -> str:
    t = rec["trace"]
    res = rec["result"]
    pr = f"{t['pruned_right']} of {t['pruned']} pruned chains would have been right"
    return (
        f"width {t['mean_width']:g} chains × {t['mean_tokens_per_chain']:.0f} tokens/chain, "
        f"{t['mean_probes']:g} probes, {t['mean_pruned']:g} pruned ({pr}); "
        f"stopped early with live chains in {100 * t['early_stop_rate']:.0f}% of episodes "
        f"(avg {t['mean_live_at_stop']:g} live); sequential {_k(res['avg_sequential_tokens'])}"
        + (f"; {t['errors']} episodes raised" if t["errors"] else "")
        + (f"; {t['truncated']} hit the budget" if t["truncated"] else "")
    )


def _lost_questions(
    sweep: Sweep, baselines: Mapping[str, Sweep]
) -> list[tuple[float, str, int, str, Mapping[str, Any]]]:
    """Questions where the candidate at its highest beta is mostly wrong and a baseline (at its
    most expensive point) mostly right: (margin, env, question, baseline, record)."""
    lost = []
    for env, records in sorted(sweep.items()):
        top = max(records, key=lambda r: r.get("beta") or 0.0)
        mine = top["result"].get("per_question_accuracy") or []
        for name, bsweep in sorted(baselines.items()):
            brecs = bsweep.get(env)
            if not brecs:
                continue
            best = max(brecs, key=lambda r: r["result"]["avg_total_tokens"])
            theirs = best["result"].get("per_question_accuracy") or []
            for qi, (a, b) in enumerate(zip(mine, theirs, strict=False)):
                if a < 0.5 <= b:
                    lost.append((round(b - a, 4), env, qi, name, top))
    lost.sort(key=lambda x: (-x[0], x[1], x[2], x[3]))
    seen: set[tuple[str, int]] = set()
    out = []
    for item in lost:
        if (item[1], item[2]) not in seen:
            seen.add((item[1], item[2]))
            out.append(item)
    return out


def candidate_digest(
    cid: str,
    sweep: Sweep,
    baselines: Mapping[str, Sweep],
    *,
    header: str = "",
    limit: int = MAX_CANDIDATE_DIGEST,
) -> str:
    """One candidate's digest, at most ``limit`` characters."""
    s = score(sweep, baselines)
    lines = [
        f"### {cid}{header}",
        f"score (mean matched-token advantage vs the baseline "
        f"frontier): {'n/a (no frontier point in its token range)' if s is None else f'{s:+.2f}'}",
    ]
    lines.append("curve on the search split (accuracy @ avg total/sequential tokens):")
    envs = sorted(sweep)[:MAX_ENVS]
    for env in envs:
        recs = sweep[env]
        adv = matched_advantage(points(recs), baseline_frontier(baselines, env))
        lines.append(_curve(recs, env) + (f"  [advantage {adv:+.2f}]" if adv is not None else ""))
    if len(sweep) > MAX_ENVS:
        lines.append(f"  … {len(sweep) - MAX_ENVS} more environments")
    lines.append("episodes (first replicates), at beta 0.5 and at the highest beta:")
    for env in envs[:2]:
        for beta in (0.5, 1.0):
            rec = _pick(sweep[env], beta)
            lines.append(f"  {env} b={rec['beta']:g}: {_trace_line(rec)}")
    lost = _lost_questions(sweep, baselines)
    if lost:
        lines.append("questions lost at the highest beta that a baseline won:")
        for margin, env, qi, name, _ in lost[:MAX_LOST]:
            lines.append(f"  {env} q{qi}: {name} right {margin:+.0%} more often")
        lines.append("representative episodes (replicate 0, highest beta):")
        for _, env, qi, _, rec in lost[:MAX_EPISODES]:
            q = rec["trace"]["questions"][qi]
            lines.append(f"  {env} q{qi} gold={q['gold']}: {q['example']}")
    else:
        if envs:
            top = _pick(sweep[envs[0]], 1.0)
            lines.append("representative episodes (replicate 0, highest beta):")
            for qi, q in list(enumerate(top["trace"]["questions"]))[:MAX_EPISODES]:
                lines.append(f"  {envs[0]} q{qi} gold={q['gold']}: {q['example']}")
    text = "\n".join(lines)
    return text if len(text) <= limit else text[: limit - 2] + " …"


def baselines_digest(baselines: Mapping[str, Sweep]) -> str:
    lines = ["## Baselines on the search split (accuracy @ avg total/sequential tokens)"]
    for name, sweep in sorted(baselines.items()):
        lines.append(f"{name}:")
        for env in sorted(sweep)[:MAX_ENVS]:
            lines.append(_curve(sweep[env], env))
    return "\n".join(lines)


MAX_HISTORY_DIGEST = 16_000
MAX_LISTED = 40
DETAILED = 3


def history_digest(
    candidates: Sequence[CandidateRow],
    sweeps: Mapping[str, Sweep],
    baselines: Mapping[str, Sweep],
    *,
    limit: int = MAX_HISTORY_DIGEST,
) -> str:
    """The proposer's view of the run so far: the baselines' curves, every earlier candidate's
    status (score or rejection reason), and detailed digests of the best candidates and of the
    latest round's. ``sweeps`` maps candidate id to its search-split sweep."""
    parts = [baselines_digest(baselines)]
    if not candidates:
        parts.append("## Candidates so far\nnone yet: this is the first round.")
        return "\n\n".join(parts)[:limit]
    lines = ["## Candidates so far (id, parent, status: score or reason)"]
    for c in list(candidates)[-MAX_LISTED:]:
        parent = ",".join(c.parents) or "-"
        if c.status == "ok":
            what = f"ok, score {c.score:+.2f}" if c.score is not None else "ok, no point in range"
        else:
            what = f"{c.status}: {c.reason}"
        lines.append(f"- {c.id} (parent {parent}, {c.proposer}): {what}"[:400])
    parts.append("\n".join(lines))
    best = [c.id for c in ranked(candidates) if c.id in sweeps]
    last_round = max(c.round for c in candidates)
    chosen = best[:DETAILED]
    chosen += [
        c.id for c in candidates if c.round == last_round and c.id in sweeps and c.id not in chosen
    ][:DETAILED]
    budget = max(500, (limit - sum(map(len, parts))) // max(1, len(chosen)) - 10)
    for cid in chosen:
        rank = f" (rank {best.index(cid) + 1} of {len(best)})" if cid in best else ""
        parts.append(candidate_digest(cid, sweeps[cid], baselines, header=rank, limit=budget))
    text = "\n\n".join(parts)
    return text if len(text) <= limit else text[: limit - 2] + " …"
