"""The questions file ``collect`` and ``solve`` read, made from a replay environment
(``autotts env questions``).

One ``{"id", "question", "answer"}`` object per line. The text and the gold answer are the
environment's (released files carry the problem text in ``question``; ``collect`` stores it
too). Ids are those ``collect`` recorded (``meta.extra.question_ids``), so collecting again from
the file seeds every chain as before; otherwise ``<dataset>-<index>``, the index counted from 0
as in ``autotts episode --question``. The answer is the raw gold ``collect`` recorded, else the
environment's gold. Question text is never made up: a question without it is reported.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..data import Environment
from .collect import QuestionItem


def env_questions(env: Environment) -> tuple[list[QuestionItem], list[int]]:
    """The environment's questions as items, and the indices of those without any text."""
    extra = env.meta.extra
    ids = extra.get("question_ids")
    raw_gold = extra.get("gold_raw")
    n = len(env.questions)
    if not (isinstance(ids, list) and len(ids) == n and len({str(i) for i in ids}) == n):
        ids = [f"{env.meta.dataset}-{q.index}" for q in env.questions]
    if not (isinstance(raw_gold, list) and len(raw_gold) == n):
        raw_gold = [None] * n
    items: list[QuestionItem] = []
    missing: list[int] = []
    for k, (q, qid, raw) in enumerate(zip(env.questions, ids, raw_gold, strict=True)):
        if not q.text.strip():
            missing.append(k)
            continue
        answer = str(raw) if raw not in (None, "") else q.gold
        items.append(QuestionItem(str(qid), q.text, answer or None))
    return items, missing


def write_questions(items: list[QuestionItem], path: str | os.PathLike[str]) -> None:
    """Write ``items`` as JSONL (atomically: a crash never leaves half a file)."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    lines = (
        json.dumps({"id": q.id, "question": q.question, "answer": q.answer}, ensure_ascii=False)
        for q in items
    )
    tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    os.replace(tmp, target)
