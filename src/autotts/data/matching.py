"""Answer matching: how answers are grouped into votes and compared with the gold answer.

``exact`` is the original protocol (string equality). ``normalized`` first maps every answer to a
canonical form that ignores whitespace and trivial LaTeX wrapping, so ``\\boxed{ 70 }``, ``$70$``
and ``70`` are one answer. ``math`` goes further: answers are equal when HF ``math-verify``
parses them to the same value (``\\frac{1}{2}``, ``0.5`` and ``2/4`` are one answer; see
:func:`math_key`). Matching is applied to the environment before evaluation, so votes and grading
always agree.
"""

from __future__ import annotations

import re
import threading
from fractions import Fraction
from functools import lru_cache
from typing import Any, Literal

from .model import ERR, Environment

MatchMode = Literal["exact", "normalized", "math"]
MATCH_MODES: tuple[str, ...] = ("exact", "normalized", "math")

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


# ------------------------------------------------------------------------------ math
_INTEGER = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?\d*\.\d+$")
_FRACTION = re.compile(r"^([+-]?)(?:\\frac\{([+-]?\d+)\}\{(\d+)\}|([+-]?\d+)/(\d+))$")
_SCALE = 10**6  # math-verify's default float_rounding: numbers equal to 6 decimals are equal
_HUGE = 10**15  # beyond this, compare 15 significant digits (float precision)
_TINY = 1e-9
# a run of 4+ letters that is not a LaTeX command (\\sqrt) or inside \\text{}: prose, which
# LaTeX would read as a product of one-letter symbols ("intersections" = i*n*t*e*r*...)
_PROSE = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{4,}")
_TEXT_ARG = re.compile(r"\\(?:text|mathrm|textbf|mbox|operatorname)\{[^{}]*\}")


def _number_key(v: Fraction) -> str:
    """``n:<value>``: exact for integers, rounded to 6 decimals otherwise (as math-verify
    compares floats), written without trailing zeros so every spelling gives one key."""
    r = round(v * _SCALE)
    whole, frac = divmod(abs(r), _SCALE)
    sign = "-" if r < 0 else ""
    if frac == 0:
        return f"n:{sign}{whole}"
    return f"n:{sign}{whole}.{frac:06d}".rstrip("0")


def _fast_key(n: str) -> str | None:
    """Keys of plain numbers (most answers) without parsing LaTeX: ``n`` is normalized."""
    if _INTEGER.match(n):
        return f"n:{int(n)}"
    if _DECIMAL.match(n):
        return _number_key(Fraction(n))
    m = _FRACTION.match(n)
    if m:
        num, den = (m.group(2), m.group(3)) if m.group(2) is not None else (m.group(4), m.group(5))
        if int(den) != 0:
            value = Fraction(int(num), int(den))
            return _number_key(-value if m.group(1) == "-" else value)
    return None


def _timeout() -> int | None:
    """math-verify's timeouts use SIGALRM, which exists only in the main thread."""
    return 5 if threading.current_thread() is threading.main_thread() else None


@lru_cache(maxsize=1 << 16)
def _parse(answer: str) -> Any:
    """math-verify's reading of a whole answer as LaTeX (a sympy object), or None.

    Only the LaTeX extractor is used, and only a parse of the *whole* answer counts:
    math-verify's plain-expression fallback and partial matches read ``139 + t`` as 139 and
    ``576 - 2rs`` as 574, which would grade garbage as correct."""
    from math_verify import LatexExtractionConfig, parse

    text = answer if "$" in answer or "\\boxed" in answer else f"${answer}$"
    try:
        parsed = parse(
            text,
            extraction_config=[LatexExtractionConfig()],
            extraction_mode="first_match",
            parsing_timeout=_timeout(),
        )
    except Exception:  # a timeout or a parser bug: the answer stays a plain string
        return None
    if len(parsed) != 2 or isinstance(parsed[0], str):
        return None
    if _unbraced(parsed[1]) != _unbraced(answer):  # (math-verify rewrites \\frac12 as \\frac{1}{2})
        return None
    return parsed[0]


def _unbraced(answer: str) -> str:
    return normalize_answer(answer).replace("{", "").replace("}", "")


def _value_key(expr: Any) -> str | None:
    """``n:`` + the value of an expression that evaluates to a real number, else None."""
    if getattr(expr, "is_Rational", False):
        return _number_key(Fraction(int(expr.p), int(expr.q)))
    if not getattr(expr, "is_number", False) or getattr(expr, "free_symbols", True):
        return None
    v = expr.evalf(30)
    if not (v.is_Float and v.is_finite):
        return None
    if abs(v) >= _HUGE:
        return f"n:{v.evalf(15)}"
    if abs(v) < _TINY:  # 4^(2^2024)/25^(2^2024): zero to 6 decimals (and to Fraction's taste)
        return "n:0"
    return _number_key(Fraction(str(v)))


def _expr_key(expr: Any) -> str:
    """``n:`` + the value of a number, else ``e:`` + sympy's (canonically ordered) form."""
    from math_verify.utils import timeout

    try:
        key = timeout(_timeout())(_value_key)(expr)
    except Exception:  # a timeout, or sympy refusing an odd object: use the printed form
        key = None
    return key or f"e:{expr}"


@lru_cache(maxsize=1 << 16)
def math_key(answer: str) -> str:
    """The ``math`` matching key of an answer: two answers match when their keys are equal.

    * numbers (plain, decimal, fractions, or any LaTeX math-verify evaluates to a number, such
      as ``2\\sqrt{3}`` or ``\\frac{3\\pi}{2}``): ``n:`` + the value, exact for integers and
      rounded to 6 decimals otherwise (math-verify's float rounding), so ``\\frac{1}{2}``,
      ``0.5`` and ``\\dfrac{2}{4}`` match;
    * other expressions math-verify parses (symbols, sets, intervals, equations, matrices):
      ``e:`` + sympy's printed form, which orders sums and products canonically (``x+1`` and
      ``1+x`` match);
    * anything else, including prose (a word of 4+ letters outside a LaTeX command or
      ``\\text{}``): ``s:`` + :func:`normalize_answer` of it. ``ERR`` stays ``ERR``.

    Plain numbers skip the LaTeX parser, and keys are cached per distinct string.
    """
    if answer == ERR:
        return ERR
    n = normalize_answer(answer)
    fast = _fast_key(n)
    if fast is not None:
        return fast
    if _PROSE.search(_TEXT_ARG.sub("", answer)):
        return f"s:{n}"
    expr = _parse(answer)
    return f"s:{n}" if expr is None else _expr_key(expr)


def _math_matching(env: Environment) -> Environment:
    """Every answer replaced by one representative string per key: the normalized form of the
    first spelling met in the chains, in file order; a gold answer no chain shares gets its own.
    Golds come last, so no representative a controller sees is spelled like a gold answer
    rather than like the chains (the sandbox gives controllers matched, gold-free copies)."""
    reps: dict[str, str] = {}  # key -> representative
    owner: dict[str, str] = {}  # representative -> key (two keys never share one)

    def rep(answer: str, key: str) -> str:
        r = reps.get(key)
        if r is None:
            r = normalize_answer(answer)
            if owner.setdefault(r, key) != key:  # e.g. "a b" and "ab" normalize alike
                r = f"{r} [{key}]"
                owner[r] = key
            reps[key] = r
        return r

    canons = []
    for q in env.questions:
        answers = dict.fromkeys(a for chain in q.probes for a in chain)
        answers.update(dict.fromkeys(q.finals))
        canons.append({a: rep(a, math_key(a)) for a in answers})
    questions = []
    for q, canon in zip(env.questions, canons, strict=True):
        canon[q.gold] = rep(q.gold, math_key(q.gold))
        questions.append(q.remapped(canon))
    return Environment(meta=env.meta, questions=tuple(questions), path=env.path)


def apply_matching(env: Environment, mode: str) -> Environment:
    """The environment as the evaluator sees it under ``mode``."""
    if mode == "exact":
        return env
    if mode == "math":
        return _math_matching(env)
    if mode != "normalized":
        raise ValueError(f"unknown answer matching {mode!r} (choose from {', '.join(MATCH_MODES)})")
    interned: dict[str, str] = {}
    canon = {
        a: interned.setdefault(c, c) for a in env.answer_strings() for c in [normalize_answer(a)]
    }
    questions = tuple(q.remapped(canon) for q in env.questions)
    return Environment(meta=env.meta, questions=questions, path=env.path)
