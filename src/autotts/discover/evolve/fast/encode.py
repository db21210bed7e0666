"""Environments and genomes as the kernel's integer arrays.

An environment is encoded once (after answer matching): per question, its answer strings are
interned to small ints (``"ERR"`` is always 0, then the answers in chain order, then the gold),
its chains' probes are one flat array with offsets, and the Beta confidence of every (top1,
top2) vote count is tabulated from :func:`autotts.controllers.voting.beta_confidence` itself.

A genome becomes a choice vector (:mod:`.layout`) and one settings row per beta. The settings
are what the rendered controller's own ``schedule`` gives (its class is built from
:func:`render.render` once per genome): the rendered code is the truth, not
:func:`genome.value`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ....controllers import beta_confidence
from ....data import ERR, Environment, apply_matching
from ....evaluate import Protocol
from ..genome import Genome, stop_rules
from ..render import class_name, render
from . import layout as L


@dataclass(frozen=True, eq=False)
class FastEnv:
    """One environment as arrays (see the module docstring); ``env`` is the matched one."""

    env: Environment
    match: str
    answers: tuple[tuple[str, ...], ...]  # per question: code -> answer string
    gold: np.ndarray  # (questions,) gold code
    q_c0: np.ndarray  # (questions,) first global chain row
    q_nc: np.ndarray  # (questions,) chains
    q_nk: np.ndarray  # (questions,) distinct answers
    probe0: np.ndarray  # (chains + 1,) offset of each chain's probes in ``probes``
    probes: np.ndarray  # int32 probe answer codes
    tokens: np.ndarray  # (chains,) int64 total tokens
    finals: np.ndarray  # (chains,) int32 final answer codes
    conf_table: np.ndarray  # (n + 1, n + 1) beta_confidence(top1, top2), n = most chains
    _orders: dict[Any, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.answers)

    @property
    def interval(self) -> int:
        return self.env.interval

    def answer_text(self, question: int, code: int) -> str | None:
        """The answer string of ``code`` on ``question`` (None for -1)."""
        return None if code < 0 else self.answers[question][code]

    def orders(self, protocol: Protocol, questions: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(flat orders, offset per question): replicate r of ``questions[k]`` is
        ``flat[offset[k] + r * n : offset[k] + (r + 1) * n]``, from ``protocol.orders``."""
        key = (protocol, tuple(questions))
        got = self._orders.get(key)
        if got is None:
            parts, offsets, at = [], [], 0
            for q in questions:
                o = np.asarray(protocol.orders(q, int(self.q_nc[q])), np.int64).reshape(-1)
                parts.append(o)
                offsets.append(at)
                at += o.size
            flat = np.concatenate(parts) if parts else np.zeros(0, np.int64)
            got = (flat, np.asarray(offsets, np.int64))
            if len(self._orders) > 8:
                self._orders.clear()
            self._orders[key] = got
        return got


_CONF_TABLES: dict[int, np.ndarray] = {}


def conf_table(n: int) -> np.ndarray:
    table = _CONF_TABLES.get(n)
    if table is None:
        table = np.zeros((n + 1, n + 1))
        for t1 in range(n + 1):
            for t2 in range(t1 + 1):
                table[t1, t2] = beta_confidence(t1, t2)
        _CONF_TABLES[n] = table
    return table


def prepare(env: Environment, match: str = "exact") -> FastEnv:
    """``env`` under answer matching ``match``, encoded for the kernel (once per env)."""
    env = apply_matching(env, match)
    answers: list[tuple[str, ...]] = []
    gold: list[int] = []
    c0: list[int] = []
    nc: list[int] = []
    nk: list[int] = []
    probe0: list[int] = [0]
    probes: list[int] = []
    tokens: list[int] = []
    finals: list[int] = []
    for q in env.questions:
        table: dict[str, int] = {ERR: L.ERR_CODE}
        c0.append(len(tokens))
        nc.append(q.n_chains)
        for chain, total, final in zip(q.probes, q.tokens, q.finals, strict=True):
            probes += [table.setdefault(a, len(table)) for a in chain]
            probe0.append(len(probes))
            tokens.append(total)
            finals.append(table.setdefault(final, len(table)))
        gold.append(table.setdefault(q.gold, len(table)))
        nk.append(len(table))
        answers.append(tuple(table))
    most = max(nc, default=0)
    return FastEnv(
        env=env,
        match=match,
        answers=tuple(answers),
        gold=np.asarray(gold, np.int64),
        q_c0=np.asarray(c0, np.int64),
        q_nc=np.asarray(nc, np.int64),
        q_nk=np.asarray(nk, np.int64),
        probe0=np.asarray(probe0, np.int64),
        probes=np.asarray(probes, np.int32),
        tokens=np.asarray(tokens, np.int64),
        finals=np.asarray(finals, np.int32),
        conf_table=conf_table(most),
    )


def choice_vector(g: Genome) -> np.ndarray:
    """The genome's mechanisms as option codes, plus the flags the renderer derives."""
    c = g.choices
    for mech, option in c.items():
        if option not in L.OPTIONS.get(mech, ()):
            raise NotImplementedError(f"fast path: {mech}={option} is not implemented")
    code = {m: L.OPTIONS[m].index(o) for m, o in c.items()}
    rules = stop_rules(c)
    v = np.zeros(L.N_CHOICES, np.int64)
    v[L.CH_WIDEN] = code["widen"]
    v[L.CH_DEPTH] = code["depth"]
    v[L.CH_PROBE] = code["probe"]
    v[L.CH_PRUNE] = code["prune"]
    v[L.CH_RETIRE] = code["retire"]
    v[L.CH_TRIM] = code["trim"]
    v[L.CH_RULE1] = L.OPTIONS["stop"].index(rules[0])
    v[L.CH_RULE2] = L.OPTIONS["stop"].index(rules[1]) if len(rules) > 1 else L.S_NONE
    v[L.CH_JOIN] = code["join"]
    v[L.CH_CAP] = code["cap"]
    v[L.CH_VOTE] = code["vote"]
    v[L.CH_IGNORE] = c["err"] == "ignore"
    v[L.CH_USES_EMA] = "ema" in rules or c["widen"] == "trend"
    v[L.CH_USES_CONF] = bool({"conf", "ema"} & set(rules)) or c["widen"] in ("trend", "plateau")
    v[L.CH_GATED] = c["prune"] != "none" and (
        c["depth"] in ("deepest", "shallowest") or c["probe"] == "sparse"
    )
    v[L.CH_SAME] = c["retire"] in ("settled", "agreeing") or c["vote"] == "steady"
    return v


_CLASSES: OrderedDict[str, Any] = OrderedDict()


def rendered_class(g: Genome) -> Any:
    """The controller class of ``g``'s rendered module (our renderer's output: trusted code),
    kept for the last few genomes."""
    key = g.key()
    cls = _CLASSES.get(key)
    if cls is None:
        namespace: dict[str, Any] = {"__name__": f"autotts_fast_{key}"}
        exec(compile(render(g), f"<evolved {key}>", "exec"), namespace)
        cls = namespace[class_name(g)]
        _CLASSES[key] = cls
        while len(_CLASSES) > 64:
            _CLASSES.popitem(last=False)
    return cls


def settings_rows(g: Genome, betas: Sequence[float]) -> np.ndarray:
    """(betas, settings) float64: the rendered controller's settings at each beta (NaN for
    settings it does not use)."""
    cls = rendered_class(g)
    rows = np.full((len(betas), len(L.SETTING_NAMES)), np.nan)
    for b, beta in enumerate(betas):
        for name, value in cls(beta=beta).settings.items():
            if name not in L.SETTING_NAMES:
                raise NotImplementedError(f"fast path: setting {name!r} is not implemented")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"fast path: setting {name}={value!r} is not a number")
            if isinstance(value, int) and abs(value) >= 2**53:
                raise ValueError(f"fast path: setting {name}={value} is too large to be exact")
            rows[b, L.SETTING_NAMES.index(name)] = float(value)
    return rows
