"""autotts: find, verify and run test-time-scaling controllers for reasoning LLMs.

The public API a library user needs, importable from here::

    import autotts

    env = autotts.load_env("replay/Qwen3-4B/aime25.json")
    [r] = autotts.evaluate([env], autotts.ControllerSpec("cmc"), [0.5],
                           settings=autotts.EvalSettings(autotts.Protocol(replicates=20)))

Names are loaded on first use, so ``import autotts`` (and the CLI's start-up) stays cheap.
Everything else lives in the subpackages, each with its own ``__all__``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_HOMES = {
    "Environment": "data",
    "load_env": "data",
    "synthesize": "data",
    "BudgetExceeded": "env",
    "Session": "env",
    "Controller": "controllers",
    "ControllerSpec": "controllers",
    "beta_confidence": "controllers",
    "leader": "controllers",
    "register": "controllers",
    "vote": "controllers",
    "Comparison": "evaluate",
    "Episode": "evaluate",
    "EvalResult": "evaluate",
    "EvalSettings": "evaluate",
    "Protocol": "evaluate",
    "compare": "evaluate",
    "evaluate": "evaluate",
    "run_episode": "evaluate",
}

__all__ = [
    "BudgetExceeded",
    "Comparison",
    "Controller",
    "ControllerSpec",
    "Environment",
    "Episode",
    "EvalResult",
    "EvalSettings",
    "Protocol",
    "Session",
    "beta_confidence",
    "compare",
    "evaluate",
    "leader",
    "load_env",
    "register",
    "run_episode",
    "synthesize",
    "vote",
]  # the keys of _HOMES (a test keeps them one)

if TYPE_CHECKING:
    from .controllers import Controller, ControllerSpec, beta_confidence, leader, register, vote
    from .data import Environment, load_env, synthesize
    from .env import BudgetExceeded, Session
    from .evaluate import (
        Comparison,
        Episode,
        EvalResult,
        EvalSettings,
        Protocol,
        compare,
        evaluate,
        run_episode,
    )


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'autotts' has no attribute {name!r}")
    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value  # once: later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
