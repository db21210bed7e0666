"""Reading and writing a run's measurements: the evaluation key of every (controller, beta,
environment) under the run's settings, and sweeps assembled from stored records. The loop
writes through this; reports and inspection read through it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..controllers import ControllerSpec
from .baselines import baseline_points
from .config import DiscoverConfig
from .digest import Sweep
from .history import CandidateRow, EvalKey, History
from .measure import MeasureSettings


def builtin_code(spec: ControllerSpec) -> str:
    """The code field of a built-in's evaluation key: its name and parameters."""
    params = ",".join(f"{k}={v}" for k, v in sorted(spec.params.items()))
    return f"builtin:{spec.spec}({params})"


class Results:
    def __init__(self, history: History, settings: MeasureSettings) -> None:
        self.h = history
        self.settings = settings

    def key(self, code: str, cls: str, beta: float | None, env_hash: str) -> EvalKey:
        s = self.settings
        p = s.protocol
        return EvalKey(
            code,
            cls,
            beta,
            env_hash,
            p.name,
            p.replicates,
            p.seed,
            s.match,
            s.kappa_probe,
            s.budget,
        )

    def get(self, key: EvalKey) -> dict[str, Any] | None:
        """The stored record ``{"beta", "result", "trace"}``, or None."""
        result = self.h.get_result(key)
        trace = self.h.get_trace(key)
        if result is None or trace is None:
            return None
        return {"beta": key.beta, "result": result, "trace": trace}

    def put(self, key: EvalKey, record: Mapping[str, Any]) -> None:
        self.h.put_result(key, record["result"])
        self.h.put_trace(key, record["trace"])

    def candidate_sweep(
        self,
        cand: CandidateRow,
        hashes: Sequence[str],
        labels: Sequence[str],
        betas: Sequence[float],
    ) -> Sweep | None:
        """The candidate's sweep over these environments, or None if any record is missing."""
        out: dict[str, list[dict[str, Any]]] = {}
        for h, label in zip(hashes, labels, strict=True):
            for b in betas:
                rec = self.get(self.key(cand.code_hash, cand.class_name, b, h))
                if rec is None:
                    return None
                out.setdefault(label, []).append(rec)
        return out

    def baseline_sweeps(
        self, hashes: Sequence[str], labels: Sequence[str], betas: Sequence[float]
    ) -> dict[str, Sweep] | None:
        """Every baseline's sweep over these environments, or None if any record is missing."""
        out: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for name, pts in baseline_points(betas).items():
            for label, spec in pts:
                for h, env in zip(hashes, labels, strict=True):
                    rec = self.get(self.key(builtin_code(spec), spec.spec, spec.beta, h))
                    if rec is None:
                        return None
                    rec["label"] = label
                    out.setdefault(name, {}).setdefault(env, []).append(rec)
        return dict(out)


@dataclass
class RunView:
    """A run directory, read back: configuration, candidates, search-split sweeps of every
    fully measured candidate and of the baselines, and ``summary.json`` if the run finished."""

    config: DiscoverConfig
    candidates: list[CandidateRow]
    search_labels: list[str]
    search: dict[str, Sweep]
    search_baselines: dict[str, Sweep]
    summary: dict[str, Any] | None
    round_seconds: float = 0.0  # wall-clock seconds of the finished rounds
    rounds_done: int = 0


def load_run(run_dir: Path) -> RunView:
    db = run_dir / "history.sqlite"
    if not db.exists():
        raise ValueError(f"{run_dir}: not a discovery run directory (no history.sqlite)")
    with History(db, writable=False) as h:
        latest = h.latest_run()
        if latest is None:
            raise ValueError(f"{run_dir}: the history holds no run")
        run, stored = latest
        cfg = DiscoverConfig.from_json(stored)
        labels = cfg.search_labels
        if not labels:  # a run started before labels were recorded: read them from the files
            from .loop import load_split

            labels = load_split(cfg.search_envs).labels
        results = Results(h, cfg.settings)
        cands = h.candidates(run)
        search = {}
        for c in cands:
            if c.code:
                s = results.candidate_sweep(c, cfg.search_hashes, labels, cfg.betas)
                if s is not None:
                    search[c.id] = s
        base = results.baseline_sweeps(cfg.search_hashes, labels, cfg.betas) or {}
        seconds, done = h.round_seconds(run), h.rounds_finished(run)
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
    return RunView(cfg, cands, list(labels), search, base, summary, seconds, done)
