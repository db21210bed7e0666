"""A discovery run's resolved configuration, stored in the history so ``--resume`` needs only
the run directory."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..evaluate import DEFAULT_BETAS, MAX_BETAS, EvalSettings
from .measure import TRACE_REPLICATES, MeasureSettings

SANDBOX_TIMEOUT_S = 300.0  # wall-clock limit of one sandbox (every command's default)
SANDBOX_MEMORY_MB = 4096  # its address-space limit


@dataclass
class DiscoverConfig:
    search_envs: list[str]
    heldout_envs: list[str]
    proposer: str = "evolve"
    proposer_options: dict[str, Any] = field(default_factory=dict)
    rounds: int | None = 5  # None: until the time budget (budget_minutes) is spent
    candidates_per_round: int = 2
    betas: list[float] = field(default_factory=lambda: list(DEFAULT_BETAS))
    replicates: int = 100
    protocol: str = "official"
    seed: int = 0
    match: str = "exact"
    kappa_probe: float = 0.0
    budget: float | None = None
    trace_replicates: int = TRACE_REPLICATES
    timeout_s: float = SANDBOX_TIMEOUT_S
    memory_mb: int = SANDBOX_MEMORY_MB
    budget_minutes: float | None = None  # stop starting rounds after this much round time
    # filled in by the loop: content hashes of the environments, in order
    search_hashes: list[str] = field(default_factory=list)
    heldout_hashes: list[str] = field(default_factory=list)
    search_labels: list[str] = field(default_factory=list)  # "model/dataset" per environment
    heldout_labels: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.search_envs:
            raise ValueError("give at least one --search-env")
        if not self.heldout_envs:
            raise ValueError("give at least one --heldout-env")
        overlap = sorted(set(self.search_envs) & set(self.heldout_envs))
        if overlap:
            raise ValueError(f"{overlap[0]} is in both the search and the held-out split")
        if self.rounds is None and self.budget_minutes is None:
            raise ValueError("give --rounds or --budget-minutes: the run must end")
        if (self.rounds is not None and self.rounds < 1) or self.candidates_per_round < 1:
            raise ValueError("--rounds and --candidates-per-round must be at least 1")
        if self.budget_minutes is not None and self.budget_minutes <= 0:
            raise ValueError("--budget-minutes must be positive")
        if not self.betas:
            raise ValueError("give at least one beta")
        if len(self.betas) > MAX_BETAS:
            raise ValueError(f"{len(self.betas)} betas given; at most {MAX_BETAS} are allowed")
        if not all(0 <= b <= 1 for b in self.betas):
            raise ValueError("every beta must lie in [0, 1]")
        _ = self.settings  # validates the evaluation settings

    @property
    def eval_settings(self) -> EvalSettings:
        """Protocol, matching, probe cost and budget of every evaluation of the run."""
        return EvalSettings.from_json(self.to_json())

    @property
    def settings(self) -> MeasureSettings:
        e = self.eval_settings
        return MeasureSettings(e.protocol, e.match, e.kappa_probe, e.budget, self.trace_replicates)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        # never store a secret: the key's variable name is kept, not its value
        d["proposer_options"] = {k: v for k, v in self.proposer_options.items() if k != "api_key"}
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DiscoverConfig:
        known = {f.name for f in fields(cls)}
        cfg = cls(**{k: v for k, v in d.items() if k in known})
        if cfg.budget_minutes is not None and cfg.rounds == 100_000:
            cfg.rounds = None  # how runs stored "no round limit" before it was None
        return cfg

    def extend(self, rounds: int | None, minutes: float | None, rounds_done: int) -> bool:
        """Let a resumed run go on longer: ``rounds`` raises the round limit (on a time-budget
        run it replaces the time budget: the run then ends after that many rounds),
        ``minutes`` raises the time budget. Returns whether anything changed; raises
        ValueError for a limit below what the run already has."""
        changed = False
        if rounds is not None and rounds != self.rounds:
            floor = self.rounds if self.rounds is not None else rounds_done
            if rounds < floor:
                what = (
                    f"the run's {self.rounds}"
                    if self.rounds is not None
                    else (f"the {rounds_done} rounds the run has done")
                )
                raise ValueError(
                    f"--rounds {rounds} is fewer than {what}: a resumed run can only get more "
                    "rounds"
                )
            if self.rounds is None and minutes is None:
                self.budget_minutes = None  # the rounds are the limit now
            self.rounds, changed = rounds, True
        if minutes is not None and minutes != self.budget_minutes:
            if self.budget_minutes is not None and minutes < self.budget_minutes:
                raise ValueError(
                    f"--budget-minutes {minutes:g} is less than the run's "
                    f"{self.budget_minutes:g}: a resumed run can only get more time"
                )
            self.budget_minutes, changed = minutes, True
        return changed
