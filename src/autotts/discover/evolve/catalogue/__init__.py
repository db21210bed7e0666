"""The evolve proposer's catalogue: every mechanism option as one record (mechanism, option name,
the sentence the rendered docstring says of it, the numeric settings it uses), the numeric
settings with their ranges and directions, and (in :mod:`.template`) the code of every option,
as one real, linted, typed ``solve`` in which each option's lines sit under a guard on the plan
``p`` (``if p.widen == "ramp":``). :mod:`.specialize` folds those guards for one genome, so a
rendered controller holds only the code of its own options.

Everything else derives from here: the genome space (:mod:`..genome`), the rendered docstrings
(:mod:`..render`), the tests (every record has code under a guard, every guard names a record),
and the genome interpreter (the lists of options and settings).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Option:
    """One mechanism option: what the rendered docstring says of it (``""``: nothing) and the
    numeric settings its code reads (beyond :data:`ALWAYS`)."""

    mechanism: str
    name: str
    doc: str
    settings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Setting:
    """A numeric setting: its range, whether it is an integer, and its direction (+1: larger
    spends more, so it grows with beta; -1: larger spends less; 0: a constant)."""

    lo: float
    hi: float
    integer: bool
    direction: int
    doc: str


_WIDEN = ("max_chains", "widen_burst")
_STOPS = (
    Option("stop", "stable", "the live majority has not changed for `stable_steps` steps",
           ("stable_steps",)),
    Option("stop", "conf", "the Beta confidence of the finished answers reaches `conf_threshold`",
           ("conf_threshold", "min_complete")),
    Option("stop", "ema", "an EMA of that confidence reaches `conf_threshold` and is not falling",
           ("conf_threshold", "min_complete", "alpha", "window", "slack")),
)  # fmt: skip

OPTIONS: tuple[Option, ...] = (
    Option("widen", "none", "never opens chains beyond the first ones"),
    Option("widen", "trend",
           "opens more chains while an EMA of the finished answers' Beta confidence stalls",
           (*_WIDEN, "trend", "alpha", "window", "conf_threshold")),
    Option("widen", "plateau",
           "opens more chains when the finished answers' confidence has not improved for a few "
           "steps", (*_WIDEN, "plateau_steps", "conf_threshold")),
    Option("widen", "disagree",
           "opens more chains while the live chains' leading answer holds too small a share",
           (*_WIDEN, "agree")),
    Option("widen", "ramp", "opens `widen_burst` more chains every `plateau_steps` steps",
           (*_WIDEN, "plateau_steps")),
    Option("depth", "uniform", "advances every live chain one interval per step"),
    Option("depth", "aligned",
           "gives chains that agree with the finished majority a burst of intervals, deepest "
           "first", ("burst",)),
    Option("depth", "deepest", "advances only the few most advanced chains each step", ("focus",)),
    Option("depth", "shallowest", "advances only the few least advanced chains each step",
           ("focus",)),
    Option("depth", "support",
           "gives each chain a burst proportional to the share of chains agreeing with it",
           ("burst",)),
    Option("depth", "leader",
           "gives chains that agree with the live chains' leading answer a burst of intervals, "
           "deepest first", ("burst",)),
    Option("probe", "every", "probing after every advance"),
    Option("probe", "sparse", "probing every `probe_every` steps", ("probe_every",)),
    Option("prune", "none", "never prunes"),
    Option("prune", "off_majority",
           "prunes a chain that stays off the live majority for `patience` steps", ("patience",)),
    Option("prune", "abandon",
           "abandons chains that keep disagreeing with the finished majority, keeping `floor` "
           "live", ("patience", "floor")),
    Option("retire", "none", ""),
    Option("retire", "settled",
           "A chain whose probed answer has held for `settle` steps is retired: it stops "
           "generating and its answer counts as finished.", ("settle",)),
    Option("retire", "agreeing",
           "A chain whose probed answer has held for `settle` steps and is the live leader is "
           "retired: it stops generating and its answer counts as finished.", ("settle",)),
    Option("trim", "none", ""),
    Option("trim", "overlong",
           "Once answers have finished, a live chain `stretch` times longer than the shortest "
           "finished one is pruned (keeping `floor` live).", ("stretch", "floor")),
    *_STOPS,
    Option("stop2", "none", ""),
    *(Option("stop2", o.name, o.doc, o.settings) for o in _STOPS),
    Option("join", "any", " or "),
    Option("join", "all", " and "),
    Option("cap", "none", ""),
    Option("cap", "tokens", "or once `token_cap` tokens are spent", ("token_cap",)),
    Option("vote", "finished", ""),
    Option("vote", "weighted", ", plus the live chains' latest answers weighted by depth",
           ("weight",)),
    Option("vote", "shorter",
           ", each weighted by (shortest finished length / its length) ** `gamma`", ("gamma",)),
    Option("vote", "steady",
           ", each weighted by 1 + `lean` * min(probes in a row showing its answer, 8) / 8",
           ("lean",)),
    Option("err", "count", ""),
    Option("err", "ignore", "ERR answers are ignored while any other answer exists"),
)  # fmt: skip

# numeric settings every genome has, then the rest in the catalogue's order
ALWAYS = ("n_init", "warm_up", "max_steps")
SETTINGS: dict[str, Setting] = {
    "n_init": Setting(1, 16, True, 1, "chains opened at the start"),
    "max_chains": Setting(2, 64, True, 1, "most chains ever opened"),
    "warm_up": Setting(0, 12, True, 1, "steps before pruning, stopping and aligned bursts"),
    "max_steps": Setting(8, 160, True, 1, "hard bound on steps"),
    "widen_burst": Setting(1, 8, True, 1, "chains opened per widening"),
    "trend": Setting(-0.05, 0.1, False, 1, "widen while the EMA rose by at most this"),
    "plateau_steps": Setting(1, 8, True, -1, "widen after this many steps without gain"),
    "agree": Setting(0.3, 1.0, False, 1, "widen while the leader's share is below this"),
    "alpha": Setting(0.1, 0.9, False, -1, "EMA rate of the confidence"),
    "window": Setting(2, 10, True, 1, "steps over which the EMA trend is taken"),
    "conf_threshold": Setting(0.5, 0.999, False, 1, "confidence needed to stop"),
    "slack": Setting(0.0, 0.1, False, -1, "how far the EMA may be falling at a stop"),
    "min_complete": Setting(1, 10, True, 1, "finished answers needed to stop on confidence"),
    "stable_steps": Setting(1, 30, True, 1, "steps the live majority must hold to stop"),
    "burst": Setting(1, 4, True, 1, "intervals per step for favoured chains"),
    "focus": Setting(1, 16, True, 1, "chains advanced per step"),
    "probe_every": Setting(1, 4, True, -1, "steps between probes"),
    "patience": Setting(1, 16, True, 1, "steps off the majority before a prune"),
    "floor": Setting(1, 8, True, 1, "live chains never pruned below"),
    "stretch": Setting(1.0, 6.0, False, 1, "prune live chains this many times the shortest"),
    "settle": Setting(2, 24, True, 1, "steps showing the same answer that retire a chain"),
    "token_cap": Setting(20, 2000, False, 1, "hard budget in thousands of tokens"),
    "weight": Setting(0.05, 1.0, False, 0, "vote weight of a live chain's latest answer"),
    "gamma": Setting(0.0, 4.0, False, 0, "how much more a shorter finished chain's vote counts"),
    "lean": Setting(
        0.0, 3.0, False, 0, "extra vote weight of a chain whose answer held over its last probes"
    ),
}

OPTION: dict[tuple[str, str], Option] = {(o.mechanism, o.name): o for o in OPTIONS}
MECHANISMS: dict[str, tuple[str, ...]] = {}
for _o in OPTIONS:
    MECHANISMS[_o.mechanism] = (*MECHANISMS.get(_o.mechanism, ()), _o.name)
del _o


def doc(mechanism: str, option: str) -> str:
    """What the rendered docstring says of ``mechanism=option``."""
    return OPTION[mechanism, option].doc


def settings_of(mechanism: str, option: str) -> tuple[str, ...]:
    """The numeric settings the code of ``mechanism=option`` reads (beyond :data:`ALWAYS`)."""
    return OPTION[mechanism, option].settings


__all__ = [
    "ALWAYS",
    "MECHANISMS",
    "OPTION",
    "OPTIONS",
    "SETTINGS",
    "Option",
    "Setting",
    "doc",
    "settings_of",
]
