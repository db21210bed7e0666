"""Answer matching: how answers are grouped into votes and compared with the gold answer.

``exact`` is the original protocol (string equality). ``normalized`` first maps every answer to a
canonical form that ignores whitespace and trivial LaTeX wrapping, so ``\\boxed{ 70 }``, ``$70$``
and ``70`` are one answer. Matching is applied to the environment before evaluation, so votes and
grading always agree.
"""

from __future__ import annotations

import re
from typing import Literal

from .model import ERR, Environment

MatchMode = Literal["exact", "normalized"]
MATCH_MODES: tuple[str, ...] = ("exact", "normalized")

_WRAPPERS = re.compile(r"^\\(?:boxed|text|textbf|mathrm|mbox)\{(.*)\}$")
_DROP = re.compile(r"\\[,;:! ]|\\left|\\right|\$|\s+")
_DEGREES = re.compile(r"\^\{?\\circ\}?$|°$")
_NUMBER = re.compile(r"^[+-]?(\d+)(?:\.0*)?$")


def normalize_answer(answer: str) -> str:
    """Canonical form of an answer (idempotent): whitespace, ``$``, spacing commands,
    ``\\left``/``\\right``, ``\\boxed{}``/``\\text{}`` wrappers, ``\\dfrac``/``\\tfrac``,
    a trailing period or degree sign and leading zeros / ``.0`` on integers are ignored."""
    if answer == ERR:
        return ERR
    # one pass can expose more to strip ("\\boxed{70}." loses the period, then the box), so
    # repeat to a fixed point; every pass that changes the string shortens it, so this ends
    s = answer
    while True:
        t = _normalize_once(s)
        if t == s:
            return s
        s = t


def _normalize_once(answer: str) -> str:
    s = _DROP.sub("", answer)
    while True:
        m = _WRAPPERS.match(s)
        if not m:
            break
        s = m.group(1)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = _DEGREES.sub("", s.rstrip("."))
    m = _NUMBER.match(s)
    if m:
        sign = "-" if s.startswith("-") and int(m.group(1)) != 0 else ""
        s = sign + str(int(m.group(1)))
    return s


def apply_matching(env: Environment, mode: str) -> Environment:
    """The environment as the evaluator sees it under ``mode``."""
    if mode == "exact":
        return env
    if mode != "normalized":
        raise ValueError(f"unknown answer matching {mode!r} (choose from {', '.join(MATCH_MODES)})")
    interned: dict[str, str] = {}
    canon = {
        a: interned.setdefault(c, c) for a in env.answer_strings() for c in [normalize_answer(a)]
    }
    questions = tuple(q.remapped(canon) for q in env.questions)
    return Environment(meta=env.meta, questions=questions, path=env.path)
