"""How episodes are played and graded: one frozen, validated object for every caller.

:class:`EvalSettings` is what the CLI builds from its options and what ``evaluate``,
``compare``, reports, discovery and its history key take: the protocol (chain orders, with its
replicates and seed), answer matching, the probe cost and the per-episode budget. Beta sweeps
are parsed here too, with the bounds every command shares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..data import MATCH_MODES
from .protocol import Protocol

DEFAULT_BETAS: tuple[float, ...] = tuple(round(0.1 * k, 10) for k in range(11))  # 0, 0.1, ..., 1
MAX_BETAS = 1001  # points of one sweep, e.g. 0:1:0.001
SETTINGS_FIELDS = ("protocol", "replicates", "seed", "match", "kappa_probe", "budget")


def _finite(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    return float(value)


@dataclass(frozen=True)
class EvalSettings:
    """The protocol, answer matching, probe cost (tokens per probe, >= 0) and per-episode
    budget (tokens, > 0, or None for none) of an evaluation."""

    protocol: Protocol = field(default_factory=Protocol)
    match: str = "exact"
    kappa_probe: float = 0.0
    budget: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.protocol, Protocol):
            raise TypeError(f"protocol must be a Protocol, got {type(self.protocol).__name__}")
        if self.match not in MATCH_MODES:
            raise ValueError(
                f"unknown answer matching {self.match!r} (choose from {', '.join(MATCH_MODES)})"
            )
        if _finite("kappa_probe", self.kappa_probe) < 0:
            raise ValueError(f"kappa_probe must be >= 0 (a probe cannot lower the cost), got "
                             f"{self.kappa_probe:g}")  # fmt: skip
        if self.budget is not None and _finite("budget", self.budget) <= 0:
            raise ValueError(f"budget must be a positive number of tokens, got {self.budget:g}")

    @property
    def replicates(self) -> int:
        return self.protocol.replicates

    @property
    def seed(self) -> int:
        return self.protocol.seed

    def to_json(self) -> dict[str, Any]:
        """Flat, as in an ``EvalResult`` record: protocol (its name), replicates, seed, match,
        kappa_probe, budget."""
        p = self.protocol
        return {
            "protocol": p.name,
            "replicates": p.replicates,
            "seed": p.seed,
            "match": self.match,
            "kappa_probe": self.kappa_probe,
            "budget": self.budget,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> EvalSettings:
        """The inverse of :meth:`to_json`; also reads ``protocol`` as a dict (name, replicates,
        seed), as older records stored it. Unknown keys are ignored; missing ones default."""
        proto = d.get("protocol", "official")
        if isinstance(proto, dict):
            protocol = Protocol(**proto)
        else:
            protocol = Protocol(proto, d.get("replicates", 100), d.get("seed", 0))
        return cls(protocol, d.get("match", "exact"), d.get("kappa_probe", 0.0), d.get("budget"))


def parse_betas(text: str) -> list[float]:
    """``0.5`` → [0.5]; ``0:1:0.1`` → [0.0, 0.1, ..., 1.0] (inclusive); ``0,0.5,1`` → a list.
    Every beta lies in [0, 1]; a sweep has at most :data:`MAX_BETAS` points."""
    text = text.strip()
    try:
        if ":" in text:
            parts = [float(p) for p in text.split(":")]
            if len(parts) != 3 or not all(map(math.isfinite, parts)):
                raise ValueError
            start, stop, step = parts
            if step <= 0 or stop < start:
                raise ValueError
            n = math.floor((stop - start) / step + 1e-9) + 1
            if n > MAX_BETAS:
                raise OverflowError(n)
            betas = [round(start + k * step, 10) for k in range(n)]
        else:
            betas = [float(p) for p in text.split(",")]
    except OverflowError as e:
        raise ValueError(
            f"beta sweep {text!r} has {e.args[0]:,} points; at most {MAX_BETAS} are allowed"
        ) from None
    except ValueError:
        raise ValueError(
            f"bad beta {text!r}: give a number, a comma list, or START:STOP:STEP"
        ) from None
    if len(betas) > MAX_BETAS:
        raise ValueError(f"{len(betas)} betas given; at most {MAX_BETAS} are allowed")
    for b in betas:
        if not 0.0 <= b <= 1.0:  # also refuses nan
            raise ValueError(f"beta {b:g} is outside [0, 1]")
    return betas


def merge_betas(texts: list[str] | tuple[str, ...]) -> list[float]:
    """Several beta specs (a repeated option) as one sweep: every value once, ascending."""
    betas = sorted({b for text in texts for b in parse_betas(text)})
    if len(betas) > MAX_BETAS:
        raise ValueError(f"{len(betas)} betas given; at most {MAX_BETAS} are allowed")
    return betas
