"""What an environment holds: size, chain lengths, probes, ERR rate, pass@1 and majority@k.

Majority@k is the accuracy of self-consistency over the first ``k`` chains of each official
replicate order (first-seen tie-break, as the controllers vote), so majority@64 with 100
replicates is SC@64 of ``replay/reference.csv``; it lives here, next to the protocol, rather than
in ``data``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..controllers import leader, vote
from ..data import ERR, Environment, content_hash
from .protocol import Protocol

MAJORITY_KS: tuple[int, ...] = (1, 4, 16, 64)
QUANTILES: tuple[tuple[str, float], ...] = (
    ("p10", 10),
    ("p25", 25),
    ("p50", 50),
    ("p75", 75),
    ("p90", 90),
)


@dataclass(frozen=True)
class EnvStats:
    """Summary statistics of one environment, with its provenance (percentages are 0-100)."""

    model: str
    dataset: str
    questions: int
    chains_min: int  # per question
    chains_max: int
    length_quantiles: dict[str, float]  # chain total_tokens over all chains: p10..p90, max
    probes_per_chain_median: float
    err_rate: float  # fraction of probe answers that are ERR
    pass_at_1: float  # percent: mean over questions of the fraction of correct chains
    majority_at_k: dict[str, float]  # "1", "4", "16", "64" (official orders), "all" (released)
    replicates: int  # official replicate orders majority@k averages over
    interval_tokens: int
    temperature: float | None
    probe_prompt: str | None
    source: str | None
    content_hash: str
    path: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def env_stats(env: Environment, replicates: int = 100) -> EnvStats:
    """Statistics of ``env``; majority@k for ``k`` in 1, 4, 16, 64 (skipping any ``k`` above the
    smallest question's chain count) averaged over ``replicates`` official replicate orders, and
    majority over all chains in released order ("all")."""
    import numpy as np  # lazily: the CLI imports this module on every start

    if not env.questions:
        raise ValueError("the environment has no questions")
    qs = env.questions
    n_chains = [q.n_chains for q in qs]
    tokens = np.fromiter((t for q in qs for t in q.tokens), dtype=np.int64)
    n_probes = np.fromiter((len(c) for q in qs for c in q.probes), dtype=np.int64)
    n_err = sum(c.count(ERR) for q in qs for c in q.probes)
    quantiles = np.percentile(tokens, [level for _, level in QUANTILES])
    # rounded: interpolating integer lengths leaves float noise (5200.000000000001) in reports
    lengths = {name: round(float(v), 2) for (name, _), v in zip(QUANTILES, quantiles, strict=True)}
    lengths["max"] = float(tokens.max())
    pass_at_1 = sum(q.finals.count(q.gold) / q.n_chains for q in qs) / len(qs)

    ks = tuple(k for k in MAJORITY_KS if k <= min(n_chains))
    majority = {str(k): acc for k, acc in zip(ks, _majority_at(env, ks, replicates), strict=True)}
    majority["all"] = _percent(sum(vote(q.finals) == q.gold for q in qs) / len(qs))

    meta = env.meta
    return EnvStats(
        model=meta.model,
        dataset=meta.dataset,
        questions=len(qs),
        chains_min=min(n_chains),
        chains_max=max(n_chains),
        length_quantiles=lengths,
        probes_per_chain_median=float(np.median(n_probes)),
        err_rate=round(n_err / max(int(n_probes.sum()), 1), 6),
        pass_at_1=_percent(pass_at_1),
        majority_at_k=majority,
        replicates=replicates,
        interval_tokens=meta.interval_tokens,
        temperature=meta.temperature,
        probe_prompt=meta.probe_prompt,
        source=meta.source,
        content_hash=meta.content_hash or content_hash(env),  # released files carry none
        path=env.path,
    )


def _majority_at(env: Environment, ks: tuple[int, ...], replicates: int) -> list[float]:
    """Percent accuracy of the majority of the first ``k`` chains, for each ``k`` (ascending)."""
    protocol = Protocol("official", replicates)
    per_question = [0.0] * len(ks)
    for qi, q in enumerate(env.questions):
        finals, gold = q.finals, q.gold
        hits = [0] * len(ks)
        for order in protocol.orders(qi, q.n_chains):
            # one pass per order: the votes over the first k chains are a prefix of those over
            # the first k' > k, and insertion order keeps the first-seen tie-break of ``vote``
            counts: dict[str, int] = {}
            seen = 0
            for slot, k in enumerate(ks):
                for j in order[seen:k]:
                    a = finals[j]
                    counts[a] = counts.get(a, 0) + 1
                seen = k
                if leader(counts)[0] == gold:
                    hits[slot] += 1
        for slot, h in enumerate(hits):
            per_question[slot] += h / replicates
    return [_percent(total / len(env.questions)) for total in per_question]


def _percent(fraction: float) -> float:
    return round(100 * fraction, 6)
