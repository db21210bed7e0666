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
    rounds: int = 5
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
        if self.rounds < 1 or self.candidates_per_round < 1:
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
        return cls(**{k: v for k, v in d.items() if k in known})
