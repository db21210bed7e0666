"""The trusted parent's side of a sandboxed sweep: every figure is re-derived here.

Fast mode (:class:`FastVerifier`): for each question the child claims answers, costs and action
logs; each log is replayed in a trusted session over the real chains and the same chain order
(:func:`autotts.env.replay`). A log that does not replay, an answer no action of the episode
revealed, or a claimed cost or sequential count that differs from the replay's makes the run
``forged``. Accuracy is graded here against gold answers the child never had.

Strict mode (:class:`StrictServer`): the sessions live here; the child's proxy sends actions
and gets back only what each action reveals. Figures come from these sessions directly.

Both build the evaluator's :class:`~autotts.evaluate.runner.ChunkResult` sums per question and
keep the first ``keep`` replicates' verified episodes (for trace digests).
"""

from __future__ import annotations

import marshal
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..data import Environment
from ..env import ReplayError, Session, full_read_records, replay, unpack_codes
from ..evaluate import ChunkResult, Episode, EpisodeError, EvalSettings, new_session
from .outcome import Rejection
from .proxy import serve_action
from .runner import Watch
from .wire import (
    ACTION,
    DONE,
    EPISODE,
    HEARTBEAT,
    HEARTBEAT_KIND,
    REPLY,
    RESULTS,
    WireError,
    frame,
    json_frame,
    parse_json,
)

MAX_ERROR_TEXT = 300


def forged(reason: str) -> Rejection:
    return Rejection("forged", reason)


class _Tally:
    """Chunk sums per (env, beta) and the kept episodes, filled question by question."""

    def __init__(
        self,
        envs: Sequence[Environment],
        n_betas: int,
        rs: EvalSettings,
        keep: int,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.envs, self.n_betas, self.rs, self.keep = envs, n_betas, rs, keep
        self.progress = progress
        self.chunks: dict[tuple[int, int], list[ChunkResult]] = {}
        self.kept: dict[tuple[int, int], list[Episode]] = {}
        self.last = time.perf_counter()
        self.plan = [
            (ei, bj, qi)
            for ei, env in enumerate(envs)
            for bj in range(n_betas)
            for qi in range(len(env))
        ]
        self.next = 0  # index into plan

    def where(self, ei: int, bj: int, qi: int, r: int | None = None) -> str:
        env = self.envs[ei]
        rep = f", replicate {r}" if r is not None else ""
        return f"{env.path or env.name} beta #{bj}: question {qi}{rep}"

    def add(self, ei: int, bj: int, qi: int, played: list[Episode]) -> None:
        gold = self.envs[ei].questions[qi].gold
        out = ChunkResult([qi], [0], [0.0], [0])
        for p in played:
            if p.error is not None:
                out.errors.append(EpisodeError(qi, p.replicate, p.error))
            elif p.answer == gold:
                out.correct[0] += 1
            out.cost[0] += p.session.cost
            out.sequential[0] += p.session.sequential_tokens
            out.truncated += p.truncated
        now = time.perf_counter()
        out.seconds, self.last = now - self.last, now
        self.chunks.setdefault((ei, bj), []).append(out)
        if self.keep:
            self.kept.setdefault((ei, bj), []).extend(played[: self.keep])
        if self.progress:
            self.progress(len(played))

    @property
    def complete(self) -> bool:
        return self.next == len(self.plan)


def _text(x: Any, what: str) -> str | None:
    if x is None or isinstance(x, str):
        return x if x is None else x[:MAX_ERROR_TEXT]
    raise forged(f"{what} is {type(x).__name__}, not a string")


class FastVerifier(_Tally):
    """Checks the fast child's stream; see the module docstring."""

    def on_frame(self, kind: bytes, payload: bytes, watch: Watch) -> bytes | None:
        if kind == HEARTBEAT_KIND:
            if len(payload) != HEARTBEAT.size:
                raise WireError("a heartbeat of the wrong size")
            ei, bj, qi, r = HEARTBEAT.unpack(payload)
            if self.complete or (ei, bj, qi) != self.plan[self.next]:
                raise forged(f"the sandbox ran episodes out of order ({ei}, {bj}, {qi})")
            watch.episode_started(self.where(ei, bj, qi, r))
            return None
        if kind != RESULTS:
            raise WireError(f"an unexpected frame {kind!r}")
        if self.complete:
            raise forged("the sandbox sent more results than episodes")
        ei, bj, qi = self.plan[self.next]
        self.add(ei, bj, qi, self._verify(ei, bj, qi, payload))
        self.next += 1
        watch.idle()
        return None

    def _verify(self, ei: int, bj: int, qi: int, payload: bytes) -> list[Episode]:
        n = int.from_bytes(payload[:4], "big")
        head = parse_json(payload[4 : 4 + n], "a results frame")
        body = payload[4 + n :]
        reps = self.rs.protocol.replicates
        try:
            if (head["env"], head["beta"], head["question"]) != (ei, bj, qi):
                raise forged(f"results for the wrong episode (expected {self.where(ei, bj, qi)})")
            cols = [head[k] for k in ("answers", "errors", "truncated", "cost", "sequential")]
            lengths = head["lengths"]
            codes = unpack_codes(body, head["width"])
        except (KeyError, TypeError, ValueError) as e:
            raise WireError(f"a results frame: {type(e).__name__}: {e}") from None
        if not all(isinstance(c, list) and len(c) == reps for c in [*cols, lengths]):
            raise forged(f"{self.where(ei, bj, qi)}: results for other than {reps} replicates")
        if any(type(k) is not int or k < 0 for k in lengths) or sum(lengths) != len(codes):
            raise forged(f"{self.where(ei, bj, qi)}: action logs of inconsistent lengths")
        env = self.envs[ei]
        q = env.questions[qi]
        reads = full_read_records(q.probes, q.tokens, q.finals)
        orders = self.rs.protocol.orders(qi, q.n_chains)
        out = []
        at = 0
        for r, (answer, error, truncated, cost, sequential) in enumerate(zip(*cols, strict=True)):
            where = self.where(ei, bj, qi, r)
            answer = _text(answer, f"{where}: the answer")
            error = _text(error, f"{where}: the error")
            s = new_session(env, qi, orders[r], self.rs, reads)
            try:
                revealed = replay(s, codes[at : at + lengths[r]], answer)
            except ReplayError as e:
                raise forged(f"{where}: its action log does not replay ({e})") from None
            at += lengths[r]
            if answer and answer not in revealed:
                raise forged(f"{where}: answered {answer!r:.40}, which no action revealed")
            if cost != s.cost or sequential != s.sequential_tokens:
                raise forged(
                    f"{where}: reported {cost!r:.20} tokens of cost and {sequential!r:.20} "
                    f"sequential; its actions cost {s.cost:g} and {s.sequential_tokens}"
                )
            if truncated and self.rs.budget is None:
                raise forged(f"{where}: reported a budget truncation without a budget")
            # (a refused action leaves no trace in the log: this count is the child's own)
            out.append(Episode(qi, r, answer, q.gold, error, bool(truncated), s))
        return out


class StrictServer(_Tally):
    """Plays every episode on trusted sessions for the strict child, one question's replicates
    at a time (the child batches their actions); see the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions: list[Session] = []
        self.revealed: list[set[str]] = []

    def first(self) -> bytes:
        return self._start()

    def _start(self) -> bytes:
        if self.complete:
            self.sessions = []
            return frame(DONE, b"")
        ei, bj, qi = self.plan[self.next]
        env = self.envs[ei]
        q = env.questions[qi]
        orders = self.rs.protocol.orders(qi, q.n_chains)
        self.sessions = [new_session(env, qi, order, self.rs) for order in orders]
        self.revealed = [set() for _ in orders]
        return json_frame(
            EPISODE,
            {
                "beta": bj,
                "question": qi,
                "replicates": len(orders),
                "n_chains": q.n_chains,
                "interval": env.interval,
                "kappa_probe": self.rs.kappa_probe,
                "budget": self.rs.budget,
            },
        )

    def on_frame(self, kind: bytes, payload: bytes, watch: Watch) -> bytes | None:
        if not self.sessions:
            raise forged("the sandbox acted after its last episode")
        ei, bj, qi = self.plan[self.next]
        reps = len(self.sessions)
        if kind == HEARTBEAT_KIND:
            label = self.where(ei, bj, qi) + f" (its {reps} replicates, played together)"
            watch.episode_started(label, reps)
            return None
        if kind == ACTION:
            batch = parse_json(payload, "a batch of actions")
            if not isinstance(batch, list) or not batch:
                raise WireError("a batch of actions is not a list")
            replies = []
            for item in batch:
                if not (isinstance(item, list) and len(item) == 2 and type(item[0]) is int):
                    raise WireError("a batch item is not [episode, action]")
                i, action = item
                if not 0 <= i < reps:
                    raise forged(f"an action for replicate {i} of {reps}")
                reply, name, value = serve_action(self.sessions[i], action)
                if name == "probe" and isinstance(value, str):
                    self.revealed[i].add(value)
                elif name == "step" and isinstance(value, tuple):
                    self.revealed[i].add(value[0])
                elif name == "read" and isinstance(value, tuple):
                    self.revealed[i].update(value)
                replies.append(reply)
            return frame(REPLY, marshal.dumps(replies))
        if kind != RESULTS:
            raise WireError(f"an unexpected frame {kind!r}")
        end = parse_json(payload, "a block's end")
        try:
            errors, truncated = end["errors"], end["truncated"]
            assert len(errors) == len(truncated) == reps
        except (KeyError, TypeError, AssertionError):
            raise WireError("a block's end is malformed") from None
        played = []
        for r, s in enumerate(self.sessions):
            where = self.where(ei, bj, qi, r)
            error = _text(errors[r], f"{where}: the error")
            if s.answered is None:
                raise forged(f"{where}: the episode ended without the ANSWER action")
            answer = s.answered or None
            if answer and answer not in self.revealed[r]:
                raise forged(f"{where}: answered {answer!r:.40}, which no action revealed")
            # truncated: the parent's own session knows whether the budget refused an action
            gold = self.envs[ei].questions[qi].gold
            played.append(Episode(qi, r, answer, gold, error, s.truncated, s))
        self.add(ei, bj, qi, played)
        self.next += 1
        watch.idle()
        return self._start()
