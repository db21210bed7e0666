"""Running a genome over an encoded environment, and the evaluator's records from the runs."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ....controllers import ControllerSpec
from ....evaluate import ChunkResult, EpisodeError, EvalResult, EvalSettings, Protocol
from ....evaluate import merge_chunks as _merge_chunks
from ..genome import Genome
from .encode import FastEnv, choice_vector, prepare, settings_rows
from .kernel import run_batch
from .layout import SETTING_NAMES

INVALID_ACTION = "InvalidAction: the fast path met an action the session refuses"


@dataclass(frozen=True, eq=False)
class Runs:
    """Every episode of a genome on one environment: arrays of shape (betas, questions,
    replicates); ``answer`` is the per-question answer code (-1: None; see
    :meth:`FastEnv.answer_text`)."""

    betas: tuple[float, ...]
    questions: tuple[int, ...]
    correct: np.ndarray  # bool
    cost: np.ndarray  # float64: tokens + kappa_probe * probes
    tokens: np.ndarray  # int64
    sequential: np.ndarray  # int64: the longest chain's tokens
    truncated: np.ndarray  # bool: the budget refused an action
    error: np.ndarray  # bool: the rendered code would have raised
    answer: np.ndarray  # int32
    seconds: float = 0.0
    genome_key: str = ""  # what was played, how (eval_results checks these)
    protocol: Protocol | None = None
    kappa_probe: float = 0.0
    budget: float | None = None
    match: str = "exact"

    @property
    def episodes(self) -> int:
        return int(self.correct.size)


def run_genome(
    genome: Genome,
    fenv: FastEnv,
    betas: Sequence[float],
    protocol: Protocol,
    kappa_probe: float = 0.0,
    budget: float | None = None,
    questions: Sequence[int] | None = None,
) -> Runs:
    """Play ``genome``'s controller on ``fenv`` at every beta, every question (or
    ``questions``) and every replicate of ``protocol``: the same episodes, answers and costs
    as its rendered code through the evaluator."""
    start = time.perf_counter()
    qs = tuple(range(len(fenv))) if questions is None else tuple(int(q) for q in questions)
    for q in qs:
        if not 0 <= q < len(fenv):
            raise ValueError(f"question {q} is out of range (the environment has {len(fenv)})")
    reps = protocol.replicates
    shape = (len(betas), len(qs), reps)
    out_answer = np.zeros(shape, np.int32)
    out_correct = np.zeros(shape, np.bool_)
    out_tokens = np.zeros(shape, np.int64)
    out_seq = np.zeros(shape, np.int64)
    out_cost = np.zeros(shape, np.float64)
    out_trunc = np.zeros(shape, np.bool_)
    out_err = np.zeros(shape, np.bool_)
    if len(betas) and qs:
        orders, order0 = fenv.orders(protocol, qs)
        rows = settings_rows(genome, betas)
        run_batch(
            choice_vector(genome),
            rows,
            np.asarray(qs, np.int64),
            fenv.q_c0,
            fenv.q_nc,
            fenv.q_nk,
            fenv.probe0,
            fenv.probes,
            fenv.tokens,
            fenv.finals,
            fenv.gold,
            orders,
            order0,
            reps,
            int(fenv.interval),
            float(kappa_probe),
            budget is not None,
            float(budget) if budget is not None else 0.0,
            fenv.conf_table,
            out_answer,
            out_correct,
            out_tokens,
            out_seq,
            out_cost,
            out_trunc,
            out_err,
            *workspace(fenv, rows),
        )
    return Runs(
        tuple(float(b) for b in betas),
        qs,
        out_correct,
        out_cost,
        out_tokens,
        out_seq,
        out_trunc,
        out_err,
        out_answer,
        time.perf_counter() - start,
        genome.key(),
        protocol,
        float(kappa_probe),
        budget,
        fenv.match,
    )


def workspace(fenv: FastEnv, rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """Zeroed work arrays for :func:`.kernel.run_batch`: per-chain state sized for the
    environment's largest question, tallies for its most answers, the EMA trail."""
    n = max(1, int(fenv.q_nc.max(initial=1)))
    k = max(1, int(fenv.q_nk.max(initial=1)))
    window = rows[:, SETTING_NAMES.index("window")]
    longest = int(np.nanmax(window)) if np.isfinite(window).any() else 0
    chains = [np.zeros(n, np.int64) for _ in range(4)]  # live, work, keyv, chosen_b
    answers = [np.zeros(k, np.int64) for _ in range(4)]  # pool_keys, pool_cnt, cnt, keys
    return (
        np.zeros((4, n), np.int64),
        np.zeros((7, n), np.int64),
        *chains,
        *answers,
        np.zeros(k, np.float64),
        np.zeros(8, np.int64),
        np.zeros(longest + 2, np.float64),
    )


def eval_results(
    genome: Genome,
    fenv: FastEnv,
    betas: Sequence[float],
    runs: Runs,
    settings: EvalSettings,
    label: str,
    per_task: int | None = None,
) -> list[EvalResult]:
    """The evaluator's records of ``runs`` (one per beta), as ``evaluate`` gives them for the
    rendered controller registered as ``label`` (all but ``seconds``). Sums are built per
    chunk of ``per_task`` questions like ``run_chunk`` (default: what ``evaluate`` uses for
    one environment and one worker), so float sums add in the same order."""
    if tuple(float(b) for b in betas) != runs.betas:
        raise ValueError(f"betas {list(betas)} are not the runs' {list(runs.betas)}")
    played = EvalSettings(runs.protocol or settings.protocol, runs.match, runs.kappa_probe,
                          runs.budget)  # fmt: skip
    if played != settings or runs.genome_key != genome.key():
        raise ValueError(
            f"the runs are of genome {runs.genome_key} under {played}, not of {genome.key()} "
            f"under {settings}"
        )
    n = len(runs.questions)
    step = per_task or max(1, n // 8)
    out = []
    for b, beta in enumerate(betas):
        chunks = []
        for lo in range(0, n, step):
            chunk = ChunkResult(list(runs.questions[lo : lo + step]), [], [], [])
            for k in range(lo, min(n, lo + step)):
                cost = 0.0
                for r in range(runs.correct.shape[2]):
                    cost += float(runs.cost[b, k, r])
                    if runs.error[b, k, r]:
                        chunk.errors.append(EpisodeError(runs.questions[k], r, INVALID_ACTION))
                chunk.correct.append(int(runs.correct[b, k].sum()))
                chunk.cost.append(cost)
                chunk.sequential.append(int(runs.sequential[b, k].sum()))
                chunk.truncated += int(runs.truncated[b, k].sum())
            chunk.seconds = runs.seconds / max(1, len(betas) * ((n + step - 1) // step))
            chunks.append(chunk)
        out.append(_merge_chunks(fenv.env, ControllerSpec(label, {}, beta), settings, chunks))
    return out


def warm_up() -> None:
    """Compile the kernel now (a tiny episode), e.g. in a parent before forking workers; with
    numba's cache this loads the compiled code from disk after the first time."""
    from ....data import Environment as Env
    from ....data import EnvMeta, Question
    from ..genome import seed_genomes

    q = Question(0, "q", "1", [["1", "ERR"], []], [1000, 300], ["1", "2"])
    fenv = prepare(Env(EnvMeta(interval_tokens=500), (q,)))
    run_genome(seed_genomes()[0], fenv, [0.5], Protocol(replicates=1), 0.5, 1e9)
