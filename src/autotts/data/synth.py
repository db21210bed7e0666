"""Synthetic replay environments calibrated on the released Qwen3 AIME data.

They let tests, examples and benchmarks run without the real data, on environments whose
difficulty is known. The generative model (constant names below, values in brackets, calibrated
on the eight released files):

Question ``q``
    * pass rate ``p_q = sigmoid(SKILL + SPREAD * z_q)``, ``z_q ~ N(0, 1)`` [0.3, 4]: the rates
      pile up near 0 and near 1, as on AIME, where most questions are nearly always or nearly
      never solved;
    * a gold answer and ``K_q ~ U{K_MIN..K_MAX}`` [2..7] distractors, distinct integers 0..999;
      distractor ``k = 0, 1, ...`` has Zipf weight ``(k + 1) ** -ZIPF_S`` [1.3], so wrong answers
      cluster and a majority vote is wrong on hard questions;
    * log median length ``log(LEN_EASY) + LEN_HARD * (1 - p_q) + LEN_Q_SD * N(0, 1)``
      [7500, 0.8, 0.3]: harder questions are longer.

Chain (independent given its question)
    * correct with probability ``p_q``; length lognormal around the question's median with sigma
      ``CHAIN_SD`` [0.35], ``exp(WRONG_LONGER)`` [0.35, i.e. x1.42] longer when wrong, at least
      ``MIN_LEN`` [1200];
    * a chain reaching ``CAP`` [41000] tokens is cut: its length becomes ``CAP + U{0..509}`` (the
      released files' ~41.5k maximum) and it stays correct with probability ``CAPPED_KEEP`` [0.2];
    * a wrong final answer is ``ERR`` with probability ``FINAL_ERR`` [0.004] (``CAPPED_FINAL_ERR``
      [0.1] when cut), else a Zipf distractor with probability ``P_WRONG_DISTRACTOR`` [0.65], else
      a uniform integer other than the gold;
    * ``total // interval + j`` probes (at least 1), ``j`` drawn from ``JITTER``, the released
      distribution of ``len(probes) - total // 500`` (0: 47%, -1: 22%, +1: 16%, -2..-8: 15%);
    * it locks in at probe ``floor(tau * n_probes)``, ``tau = U ** (1 / LOCK_SHAPE)`` [3.2]:
      from there on a probe reports the final answer, except ``POST_ERR`` [0.02] ERR and
      ``POST_SLIP`` [0.05] repeats of the last answer before lock-in;
    * before lock-in it wanders: a probe is ``ERR`` with the chain's propensity
      ``ERR_MAX * U ** 2`` [0.3]; otherwise it repeats the previous answer with probability
      ``STICK`` [0.55], else draws afresh: the chain's own final answer with probability ``P_OWN``
      [0.02], the gold ``P_GOLD * p_q`` [0.06], a Zipf distractor ``P_DIST`` [0.35], else a
      uniform integer 0..999.

With the defaults (30 questions x 128 chains), over seeds 0-19: pass@1 39-66%, chain length
median 11-15k tokens (p90 25-37k, 1.5-8% of chains cut at the cap), median 21-28 probes per
chain, ~8% ERR probes (more early than late), a probe agreeing with its chain's final answer ~9%
of the time in the first tenth of the chain and ~86% in the last, and the commonest wrong final
answer of a question taking 31-40% of its wrong finals (median over questions).

Everything is drawn from ``numpy.random.default_rng(seed)``, vectorised over all chains: the same
seed (with the same numpy version) gives a byte-identical environment. ``meta.content_hash`` is
filled in.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .io import content_hash
from .model import ERR, Environment, EnvMeta, Question

if TYPE_CHECKING:
    import numpy as np

SKILL, SPREAD = 0.3, 4.0
K_MIN, K_MAX, ZIPF_S = 2, 7, 1.3
LEN_EASY, LEN_HARD, LEN_Q_SD = 7_500.0, 0.8, 0.3
CHAIN_SD, WRONG_LONGER, MIN_LEN = 0.35, 0.35, 1_200
CAP, CAP_SPREAD, CAPPED_KEEP = 41_000, 510, 0.2
FINAL_ERR, CAPPED_FINAL_ERR, P_WRONG_DISTRACTOR = 0.004, 0.1, 0.65
JITTER: dict[int, float] = {
    1: 0.16, 0: 0.47, -1: 0.22, -2: 0.09, -3: 0.03,
    -4: 0.015, -5: 0.006, -6: 0.004, -7: 0.003, -8: 0.002,
}  # fmt: skip
LOCK_SHAPE, POST_ERR, POST_SLIP = 3.2, 0.02, 0.05
ERR_MAX, STICK, P_OWN, P_GOLD, P_DIST = 0.3, 0.55, 0.02, 0.06, 0.35

_ERR_ID = 1000  # answer ids 0..999 are the integers themselves
_ANSWERS = (*(str(k) for k in range(1000)), ERR)  # one string object per id: interned answers


def synthesize(
    *,
    n_questions: int = 30,
    n_chains: int = 128,
    interval: int = 500,
    seed: int = 0,
    model: str = "synthetic",
    dataset: str = "synth",
) -> Environment:
    """A realistic synthetic replay environment (generative model: see the module docstring)."""
    import numpy as np  # here, not at module level: loading files must not pay numpy's import

    if n_questions < 1 or n_chains < 1 or interval < 1:
        raise ValueError("n_questions, n_chains and interval must be at least 1")
    rng = np.random.default_rng(seed)
    nq, n = n_questions, n_questions * n_chains

    p_q = 1.0 / (1.0 + np.exp(-(SKILL + SPREAD * rng.standard_normal(nq))))
    picks = np.stack([rng.permutation(1000)[: 1 + K_MAX] for _ in range(nq)])
    gold_q, dist_q = picks[:, 0], picks[:, 1:]
    k_q = rng.integers(K_MIN, K_MAX + 1, nq)
    slot = np.arange(K_MAX)[None, :]
    weights = np.where(slot < k_q[:, None], (slot + 1.0) ** -ZIPF_S, 0.0)
    cum_q = np.cumsum(weights, axis=1) / weights.sum(axis=1, keepdims=True)
    cum_q[slot >= k_q[:, None] - 1] = 1.0  # so float rounding can never pick a padding slot
    mlog_q = np.log(LEN_EASY) + LEN_HARD * (1 - p_q) + LEN_Q_SD * rng.standard_normal(nq)

    # chains, flattened question-major
    q = np.repeat(np.arange(nq), n_chains)
    p, gold, dist, cum = p_q[q], gold_q[q], dist_q[q], cum_q[q]
    correct = rng.random(n) < p
    length = np.exp(mlog_q[q] + WRONG_LONGER * ~correct + CHAIN_SD * rng.standard_normal(n))
    capped = length >= CAP
    cut_length = CAP + rng.integers(0, CAP_SPREAD, n)
    total = np.where(capped, cut_length, np.maximum(length, MIN_LEN).astype(np.int64))
    correct &= ~capped | (rng.random(n) < CAPPED_KEEP)
    u_src, u_val = rng.random(n), rng.random(n)
    wrong = np.where(u_src < P_WRONG_DISTRACTOR, _pick(u_val, cum, dist), _other_than(gold, u_val))
    final_err = rng.random(n) < np.where(capped, CAPPED_FINAL_ERR, FINAL_ERR)
    final = np.where(correct, gold, np.where(final_err, _ERR_ID, wrong))

    jitter_values = np.array(list(JITTER))
    jitter_bin = np.searchsorted(np.cumsum(list(JITTER.values())), rng.random(n))
    jitter = jitter_values[np.minimum(jitter_bin, len(JITTER) - 1)]
    n_probes = np.maximum(total // interval + jitter, 1)
    lock = np.floor(rng.random(n) ** (1 / LOCK_SHAPE) * n_probes).astype(np.int64)
    err_rate = ERR_MAX * rng.random(n) ** 2
    ids = _probe_ids(rng, n_probes, lock, err_rate, final, gold, p, dist, cum)

    answers = np.array(_ANSWERS, dtype=object)
    names = answers[ids]
    questions = []
    for i in range(nq):
        rows = slice(i * n_chains, (i + 1) * n_chains)
        questions.append(
            Question(
                i,
                f"Synthetic question {i}",
                answers[gold_q[i]],
                [row[:k].tolist() for row, k in zip(names[rows], n_probes[rows], strict=True)],
                total[rows].tolist(),
                answers[final[rows]].tolist(),
            )
        )
    meta = EnvMeta(
        model=model,
        dataset=dataset,
        interval_tokens=interval,
        temperature=None,
        probe_prompt=None,
        source=f"autotts synth seed={seed}",
    )
    env = Environment(meta=meta, questions=tuple(questions))
    return replace(env, meta=replace(meta, content_hash=content_hash(env)))


def _pick(u: np.ndarray, cum: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Row-wise categorical draw: ``ids[r, k]`` with ``k`` the bin of ``u[r]`` in ``cum[r]``."""
    import numpy as np

    k = (u[:, None] >= cum).sum(axis=1)
    return ids[np.arange(len(u)), np.minimum(k, ids.shape[1] - 1)]


def _other_than(gold: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A uniform integer in 0..999 other than ``gold`` (one per row)."""
    import numpy as np

    x = np.floor(u * 999).astype(np.int64)
    return x + (x >= gold)


def _probe_ids(
    rng: np.random.Generator,
    n_probes: np.ndarray,
    lock: np.ndarray,
    err_rate: np.ndarray,
    final: np.ndarray,
    gold: np.ndarray,
    p: np.ndarray,
    dist: np.ndarray,
    cum: np.ndarray,
) -> np.ndarray:
    """(chains, max probes) answer ids; entries past a chain's probe count are meaningless."""
    import numpy as np

    n, width = len(n_probes), int(n_probes.max())
    # one step per probe index, vectorised over chains: the wandering state is sequential in depth
    u_err, u_stick, u_src, u_val = rng.random((4, width, n))
    ids = np.empty((n, width), dtype=np.int64)
    prev = np.full(n, -1)  # last non-ERR answer before lock-in; -1 before the first
    gold_cut = P_OWN + P_GOLD * p
    for i in range(width):
        src = u_src[i]
        fresh = np.select(
            [src < P_OWN, src < gold_cut, src < gold_cut + P_DIST],
            [final, gold, _pick(u_val[i], cum, dist)],
            np.floor(u_val[i] * 1000).astype(np.int64),
        )
        stick = (u_stick[i] < STICK) & (prev >= 0)
        wander = np.where(u_err[i] < err_rate, _ERR_ID, np.where(stick, prev, fresh))
        slip = np.where(prev >= 0, prev, final)
        locked = np.select(
            [u_err[i] < POST_ERR, u_err[i] < POST_ERR + POST_SLIP], [_ERR_ID, slip], final
        )
        col = np.where(i >= lock, locked, wander)
        ids[:, i] = col
        prev = np.where((col != _ERR_ID) & (i < lock), col, prev)
    return ids
