"""The discovery loop: propose → sandbox → measure → record → digest, round after round; then
select on the search split and evaluate the selection once on the held-out split.

Everything is written to the history as it happens, and every step first looks there: a resumed
run re-proposes nothing already proposed and re-evaluates nothing already evaluated, so after a
crash or Ctrl-C ``--resume`` finishes with the same summary an uninterrupted run would have.
Proposals of round r see only rounds before r, which keeps that true with parallel evaluation.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..controllers import ControllerSpec
from ..data import Environment, content_hash, load_env
from ..procs import Workers, slots
from .baselines import baseline_points, run_units
from .cache import BaselineCache
from .config import DiscoverConfig
from .contract import contract_problems
from .digest import Sweep, history_digest, score
from .history import CandidateRow, EvalKey, History, code_hash, ranked
from .progress import Reporter, Silent
from .prompt import seed_sources
from .proposers import (
    Context,
    CostLimitReached,
    NothingToPropose,
    Proposal,
    ProposalError,
    Proposer,
)
from .results import Results, builtin_code
from .strict import STRICT_SLOWDOWN, strict_problem
from .summary import build_summary


@dataclass
class Split:
    paths: list[str]
    envs: list[Environment]
    hashes: list[str]
    labels: list[str]


def load_split(paths: Sequence[str]) -> Split:
    envs = [load_env(Path(p)) for p in paths]
    labels: list[str] = []
    for env in envs:
        label = f"{env.meta.model}/{env.meta.dataset}"
        n = 2
        while label in labels:
            label = f"{env.meta.model}/{env.meta.dataset}#{n}"
            n += 1
        labels.append(label)
    hashes = [content_hash(env) for env in envs]
    return Split(list(paths), envs, hashes, labels)


class Discovery:
    def __init__(
        self,
        run_dir: Path,
        history: History,
        run: int,
        config: DiscoverConfig,
        proposer: Proposer,
        *,
        workers: Workers = 2,
        reporter: Reporter | None = None,
        cache: BaselineCache | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.cache = cache
        self.h = history
        self.run = run
        self.cfg = config
        self.proposer = proposer
        self.workers = max(1, workers) if isinstance(workers, int) else workers
        self.rep: Reporter = reporter or Silent()
        self.settings = config.settings
        self.search = load_split(config.search_envs)
        stored_hashes = config.search_hashes or self.search.hashes
        for path, h, stored in zip(
            config.search_envs, self.search.hashes, stored_hashes, strict=True
        ):
            if h != stored:
                raise ValueError(f"{path}: changed since the run started (content hash differs)")
        self.stopped: str | None = None
        self.r = Results(history, self.settings)
        self._strict_ok: set[str] = set()  # candidates whose strict re-run agreed
        self._files: dict[tuple[str, ...], Any] = {}  # environment files shipped to a cluster

    # ------------------------------------------------------------------ baselines
    def baselines(self, split: Split) -> Mapping[str, Sweep]:
        """Every baseline's sweep on ``split``, measured once and kept in the history (and in
        the cross-run cache, when there is one)."""
        todo: list[tuple[int, ControllerSpec]] = []
        keys: list[EvalKey] = []
        cache_keys: list[dict[str, Any]] = []
        for _, pts in baseline_points(self.cfg.betas).items():
            for _, spec in pts:
                for ei, h in enumerate(split.hashes):
                    code = builtin_code(spec)
                    key = self.r.key(code, spec.spec, spec.beta, h)
                    if self.r.get(key) is not None:
                        continue
                    ckey = self.cache.key(code, spec.beta, h, self.settings) if self.cache else {}
                    cached = self.cache.get(ckey) if self.cache else None
                    if cached is not None:
                        self.r.put(key, cached)
                        continue
                    todo.append((ei, spec))
                    keys.append(key)
                    cache_keys.append(ckey)
        if todo:
            self.rep.phase(f"baselines on {len(split.envs)} environments", len(todo))

            def done(n: int, record: dict[str, Any]) -> None:
                self.r.put(keys[n], record)
                if self.cache is not None:
                    self.cache.put(cache_keys[n], record)
                self.rep.advance()

            run_units(split.envs, todo, self.settings, self.workers, done)
            self.rep.done()
        out = self.r.baseline_sweeps(split.hashes, split.labels, self.cfg.betas)
        assert out is not None
        return out

    # ------------------------------------------------------------------ candidates
    def _candidate_units(self, cand: CandidateRow, split: Split) -> list[int]:
        """Environments of ``split`` on which some beta of ``cand`` is not yet stored."""
        return [
            ei
            for ei, h in enumerate(split.hashes)
            if any(
                self.r.get(self.r.key(cand.code_hash, cand.class_name, b, h)) is None
                for b in self.cfg.betas
            )
        ]

    def sandbox_unit(
        self,
        cand: CandidateRow,
        path: str,
        strict: bool = False,
        settings: Any = None,
        betas: Sequence[float] | None = None,
    ) -> Any:
        """One sandboxed measurement of ``cand`` on the environment at ``path``."""
        from ..sandbox import Limits
        from .measure import SandboxUnit

        # strict mode's round trips make it slower: its wall clock scales with it
        timeout = self.cfg.timeout_s * (STRICT_SLOWDOWN if strict else 1)
        limits = Limits(timeout_s=timeout, memory_mb=self.cfg.memory_mb)
        chosen = tuple(self.cfg.betas if betas is None else betas)
        return SandboxUnit(cand.code, cand.class_name, path, chosen, settings or self.settings,
                           limits, strict)  # fmt: skip

    def run_sandboxed(self, units: Sequence[Any], on_done: Callable[[int, Any], None]) -> None:
        """Run sandbox units on the workers: local sandboxes, or sandboxes on the cluster's
        nodes (each node receives the environment files once)."""
        from ..procs import thread_map
        from .measure import measure_unit

        files: Any
        if isinstance(self.workers, int):
            from ..cluster import LocalFiles

            files = LocalFiles()
        else:
            files = self._shipped(sorted({u.env_path for u in units}))
        try:
            thread_map(measure_unit, files, units, self.workers, on_done)
        except BaseException:  # Ctrl-C: stop the sandboxes now, not at their timeouts
            from ..sandbox import kill_all

            kill_all()
            raise

    def _shipped(self, paths: list[str]) -> Any:
        from ..cluster import ShippedFiles

        key = tuple(paths)
        if key not in self._files:
            self._files[key] = ShippedFiles.of(paths)
        return self._files[key]

    def select(self) -> CandidateRow | None:
        """The best candidate whose strict re-run on the search split gives exactly its fast
        results; those whose do not are marked ``cheat`` (with both figures) and passed over.
        "Best" is the proposer's own order when it has one (evolve: validation-fold fitness),
        else the search-split score."""
        cands = self.h.candidates(self.run)
        by_proposer = getattr(self.proposer, "selection_order", None)
        if by_proposer is not None:  # every candidate that passed, scored on the frontier or not
            order = by_proposer([c for c in cands if c.status == "ok"])
        else:
            order = ranked(cands)
        for cand in order:
            problem = self.strict_problem(cand)
            if problem is None:
                return cand
            self.h.set_status(cand.id, *problem)
            self.rep.note(f"{cand.id} is not selectable: {problem[0]}: {problem[1]}")
        return None

    def strict_problem(self, cand: CandidateRow) -> tuple[str, str] | None:
        """(status, reason) if ``cand`` fails its strict re-run on the search split, else None
        (:func:`.strict.strict_problem`)."""
        if cand.id in self._strict_ok:
            return None
        problem = strict_problem(self, cand)
        if problem is None:
            self._strict_ok.add(cand.id)
        return problem

    def measure_candidates(
        self, cands: Sequence[CandidateRow], split: Split, strict: bool = False
    ) -> dict[str, tuple[str, str]]:
        """Run every missing (candidate, environment) unit in the sandbox, in parallel (a unit's
        betas split over idle workers); store the records. Returns candidate id → (status,
        reason) of its first failed unit."""
        base = [(c, ei) for c in cands for ei in self._candidate_units(c, split)]
        failures: dict[str, tuple[str, str]] = {}
        if not base:
            return failures
        betas = list(self.cfg.betas)
        parts = max(1, min(len(betas), slots(self.workers) // len(base)))
        units = [(c, ei, betas[k::parts]) for c, ei in base for k in range(parts)]
        self.rep.phase(f"measuring {len(cands)} candidate(s) in the sandbox", len(units))
        outs: dict[int, Any] = {}

        def done(n: int, out: Any) -> None:  # filed as each ends: a crash keeps what finished
            c, ei, _ = units[n]
            outs[n] = out
            if out.status == "ok" and not out.knob_problems:
                for rec in out.records:
                    key = self.r.key(c.code_hash, c.class_name, rec["beta"], split.hashes[ei])
                    self.r.put(key, rec)
            self.rep.advance()

        tasks = [self.sandbox_unit(c, split.paths[ei], strict, None, bs) for c, ei, bs in units]
        self.run_sandboxed(tasks, done)
        for n, (c, ei, _) in enumerate(units):  # the first failure in unit order, not in time
            out = outs[n]
            if out.knob_problems:
                failures.setdefault(c.id, ("contract", "; ".join(out.knob_problems)))
            elif out.status != "ok":
                failures.setdefault(c.id, (out.status, f"{split.labels[ei]}: {out.reason}"))
        self.rep.done()
        return failures

    def sweep_of(self, cand: CandidateRow, split: Split) -> Sweep | None:
        return self.r.candidate_sweep(cand, split.hashes, split.labels, self.cfg.betas)

    def judge(self, cands: Sequence[CandidateRow], baselines: Mapping[str, Sweep]) -> None:
        """Policy check, measure, contract check and score each proposed candidate."""
        from ..sandbox import check_source, policy_reason

        pending = []
        for c in cands:
            if c.status != "proposed":
                continue
            violations = check_source(c.code, "controller.py")
            if violations:  # no sandbox needed to reject it
                self.h.set_status(c.id, "policy", policy_reason(violations))
            else:
                pending.append(c)
        failures = self.measure_candidates(pending, self.search)
        for c in pending:
            if c.id in failures:
                self.h.set_status(c.id, *failures[c.id])
                continue
            sweep = self.sweep_of(c, self.search)
            assert sweep is not None
            problems = contract_problems(
                {
                    env: [(r["beta"], r["result"]["avg_total_tokens"]) for r in recs]
                    for env, recs in sweep.items()
                }
            )
            errors = [r["result"]["errors"] for recs in sweep.values() for r in recs]
            episodes = [r["result"]["episodes"] for recs in sweep.values() for r in recs]
            if sum(errors) == sum(episodes):
                first = next(
                    (
                        ex
                        for recs in sweep.values()
                        for r in recs
                        for ex in r["result"]["error_examples"]
                    ),
                    "?",
                )
                self.h.set_status(c.id, "error", f"every episode raised; first: {first}")
            elif problems:
                self.h.set_status(c.id, "contract", "; ".join(problems), score(sweep, baselines))
            elif (mismatch := self._cross_check(c, sweep)) is not None:
                self.h.set_status(c.id, "mismatch", mismatch, score(sweep, baselines))
            else:
                self.h.set_status(c.id, "ok", "", score(sweep, baselines))

    def _cross_check(self, c: CandidateRow, sweep: Sweep) -> str | None:
        """A proposer that computed its candidates' figures itself (evolve's interpreter)
        checks them against the sandbox's measurement of the code."""
        check = getattr(self.proposer, "cross_check", None)
        return check(c, sweep) if check is not None else None

    # ------------------------------------------------------------------ proposing
    def _context(self, rnd: int, slot: int, baselines: Mapping[str, Sweep]) -> Context:
        earlier = [c for c in self.h.candidates(self.run) if c.round < rnd]
        sweeps = {}
        for c in earlier:
            if c.status in ("ok", "contract"):
                s = self.sweep_of(c, self.search)
                if s is not None:
                    sweeps[c.id] = s
        ok = ranked(earlier)
        return Context(
            round=rnd,
            slot=slot,
            seed=self.cfg.seed * 1_000_003 + rnd * 1009 + slot,
            seeds=seed_sources(),
            digest=history_digest(earlier, sweeps, baselines),
            best=(ok[0].id, ok[0].code) if ok else None,
            best_ids=[c.id for c in ok[:3]],
            search_envs=[Path(p) for p in self.search.paths],
            search_labels=list(self.search.labels),
            baselines=baselines,
        )

    def _record(self, rnd: int, slot: int, p: Proposal, status: str, reason: str) -> CandidateRow:
        cid = f"r{rnd}c{slot}"
        row = CandidateRow(
            cid,
            self.run,
            rnd,
            slot,
            p.class_name,
            p.code,
            code_hash(p.code),
            p.parents,
            self.proposer.name,
            p.rationale,
            p.prompt,
            p.response,
            p.tokens_in,
            p.tokens_out,
            p.cost_usd,
            status,
            reason,
            None,
        )
        folder = self.run_dir / "candidates" / cid
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "controller.py").write_text(p.code)
        (folder / "rationale.md").write_text(p.rationale + "\n")
        self.h.add_candidate(row)
        return row

    def propose_round(self, rnd: int, baselines: Mapping[str, Sweep]) -> None:
        for slot in range(self.cfg.candidates_per_round):
            if self.h.candidate(self.run, rnd, slot) is not None or self.stopped:
                continue
            ctx = self._context(rnd, slot, baselines)
            self.rep.note(f"round {rnd}: proposing candidate {slot} ({self.proposer.name})")
            try:
                p = self.proposer.propose(ctx)
            except CostLimitReached as e:
                self.stopped = f"cost limit reached: {e}"
                self.rep.note(self.stopped)
                return
            except NothingToPropose:
                continue
            except ProposalError as e:
                self._record(rnd, slot, e.proposal or Proposal("", "", ""), "failed", str(e))
                continue
            self._record(rnd, slot, p, "proposed", "")

    # ------------------------------------------------------------------ the run
    def execute(self, heldout: Callable[[], Split]) -> dict[str, Any]:
        baselines = self.baselines(self.search)
        limit_rounds = self.cfg.rounds
        for rnd in range(limit_rounds) if limit_rounds is not None else itertools.count():
            if self.h.round_finished(self.run, rnd):
                continue
            limit = self.cfg.budget_minutes
            if limit is not None and self.h.round_seconds(self.run) >= 60 * limit:
                self.stopped = f"time budget of {limit:g} minutes reached after {rnd} rounds"
                self.rep.note(self.stopped)
                break
            self.h.start_round(self.run, rnd)
            self.propose_round(rnd, baselines)
            self.judge([c for c in self.h.candidates(self.run) if c.round == rnd], baselines)
            if self.proposer.name != "evolve":  # a proposer that reads the digest sees a cheat
                self.select()  # (evolve's candidates are checked when one is selected)
            if self.stopped:
                break
            self.h.finish_round(self.run, rnd)
        selected = self.select()
        cands = self.h.candidates(self.run)
        held = heldout()
        held_base = self.baselines(held)
        held_sel = None
        held_error = None
        if selected is not None:  # the held-out judgement always runs in strict mode
            failures = self.measure_candidates([selected], held, strict=True)
            if selected.id in failures:  # e.g. a timeout on a larger held-out environment
                status, reason = failures[selected.id]
                held_error = f"{status}: {reason}"
                self.rep.note(f"held-out evaluation of {selected.id} failed: {held_error}")
            else:
                held_sel = self.sweep_of(selected, held)
        search_sel = self.sweep_of(selected, self.search) if selected else None
        summary = build_summary(
            self.cfg, cands, selected, baselines, search_sel, held_base, held_sel, self.stopped
        )
        summary["heldout_error"] = held_error
        summary["rounds_completed"] = self.h.rounds_finished(self.run)
        return summary
