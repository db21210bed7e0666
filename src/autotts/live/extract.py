"""Reading answers out of model text.

Two situations:

* a **probe**: the chain's text so far, then the probe suffix (by default ending in an open
  ``\\boxed{``), then a few greedy tokens. The answer is what the model writes inside that box,
  up to its matching ``}``; a box that does not close within the probe's tokens, or is empty,
  gives ``ERR``. With a suffix that does not end in an open box, the last ``\\boxed{...}`` the
  probe writes is used, else its last number.
* a **finished chain**: the answer section (the text after the last ``</think>``, or all of it)
  is searched for its last ``\\boxed{...}`` (or ``\\fbox{...}``), then the whole text, then the
  answer section's last number; none gives ``ERR``.

Answers are returned *raw* (as written, stripped of surrounding whitespace); their canonical form
is :func:`autotts.data.normalize_answer` of that (:func:`canonical`). Numbers found by the
last-number fallback lose their thousands separators (``1,000`` -> ``1000``).
"""

from __future__ import annotations

import re

from ..data import ERR, normalize_answer

DEFAULT_PROBE_SUFFIX = (
    "\n\n... Oh, I suddenly got the answer to the whole problem, **Final Answer**\n\n\\[ \\boxed{"
)
"""The probe of Dynasor / Parallel-Probe: it interrupts the reasoning and opens a box."""

_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_NUMBER = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?")
_THINK_END = "</think>"


def _balanced(text: str, start: int) -> str | None:
    """The text from ``start`` up to the ``}`` closing a brace opened just before it."""
    depth = 1
    for k in range(start, len(text)):
        ch = text[k]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start:k]
    return None


def boxed_contents(text: str) -> list[str]:
    """The contents of every closed ``\\boxed{...}`` / ``\\fbox{...}`` in ``text``, in order."""
    out = []
    for m in _BOX.finditer(text):
        inner = _balanced(text, m.end())
        if inner is not None:
            out.append(inner)
    return out


def last_number(text: str) -> str | None:
    found = _NUMBER.findall(text)
    return found[-1].replace(",", "") if found else None


def _nonempty(answer: str | None) -> str | None:
    if answer is None:
        return None
    answer = answer.strip()
    return answer or None


def extract_final(text: str) -> str | None:
    """The answer of a finished chain (raw), or None."""
    cut = text.rfind(_THINK_END)
    section = text[cut + len(_THINK_END) :] if cut >= 0 else text
    for source in (section, text):
        boxes = [b for b in boxed_contents(source) if b.strip()]
        if boxes:
            return _nonempty(boxes[-1])
    return _nonempty(last_number(section))


def opens_box(suffix: str) -> bool:
    """Whether a probe suffix ends inside an open ``\\boxed{`` (the model writes the answer)."""
    opened = list(_BOX.finditer(suffix))
    return bool(opened) and _balanced(suffix, opened[-1].end()) is None


def extract_probe(suffix: str, completion: str) -> str | None:
    """The answer a probe's completion gives (raw), or None."""
    if opens_box(suffix):
        return _nonempty(_balanced(completion, 0))
    boxes = [b for b in boxed_contents(completion) if b.strip()]
    if boxes:
        return _nonempty(boxes[-1])
    return _nonempty(last_number(completion))


def canonical(raw: str | None) -> str:
    """What environments store and controllers see: the normalized answer, or ``ERR``."""
    if raw is None:
        return ERR
    return normalize_answer(raw) or ERR
