"""Reading and writing environment files.

Two formats share one validator:

* the *released* format of the AutoTTS / Parallel-Probe replay data: a JSON list of question
  objects (``question``, ``gold_answer``, ``probe_freq``, ``each_branch``, ...);
* autotts's own format: ``{"autotts_env": 1, "meta": {...}, "questions": [<released objects>]}``,
  which adds provenance (model, dataset, interval, temperature, probe prompt, source, hash).

Every problem is reported as one :class:`EnvFormatError` line naming the file, the question index
and the field.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .model import EnvMeta, Environment, Question

FORMAT_KEY = "autotts_env"
FORMAT_VERSION = 1


class EnvFormatError(ValueError):
    """A malformed environment file; ``str(err)`` is one line naming file, question and field."""


def _is_int(x: object) -> bool:
    return type(x) is int  # bool is not a token count


def _parse_question(path: str, i: int, obj: object, interval: int | None) -> tuple[Question, int]:
    def fail(field: str, problem: str) -> EnvFormatError:
        return EnvFormatError(f"{path}: question {i}: field '{field}': {problem}")

    if not isinstance(obj, dict):
        raise EnvFormatError(f"{path}: question {i}: expected an object, got {type(obj).__name__}")
    for key in ("question", "gold_answer", "probe_freq", "each_branch"):
        if key not in obj:
            raise fail(key, "missing")
    text, gold, freq, branches = (
        obj["question"],
        obj["gold_answer"],
        obj["probe_freq"],
        obj["each_branch"],
    )
    if not isinstance(text, str):
        raise fail("question", f"expected a string, got {type(text).__name__}")
    if not isinstance(gold, str):
        raise fail("gold_answer", f"expected a string, got {type(gold).__name__}")
    if not _is_int(freq) or freq <= 0:
        raise fail("probe_freq", f"expected a positive integer, got {freq!r}")
    if interval is not None and freq != interval:
        raise fail("probe_freq", f"{freq} differs from question 0's {interval}")
    if not isinstance(branches, list):
        raise fail("each_branch", f"expected a list, got {type(branches).__name__}")
    if not branches:
        raise fail("each_branch", "empty chain list")

    table: dict[str, str] = {}
    intern = table.setdefault
    probes: list[list[str]] = []
    tokens: list[int] = []
    finals: list[str] = []
    for j, b in enumerate(branches):
        if not isinstance(b, list) or len(b) != 3:
            raise fail(f"each_branch[{j}]", "expected [probe_answers, total_tokens, final_answer]")
        p, t, f = b
        if not isinstance(p, list):
            raise fail(f"each_branch[{j}][0]", f"probes not a list (got {type(p).__name__})")
        if not _is_int(t) or t < 0:
            raise fail(f"each_branch[{j}][1]", f"expected a non-negative integer, got {t!r}")
        if not isinstance(f, str):
            raise fail(f"each_branch[{j}][2]", f"expected a string, got {type(f).__name__}")
        try:
            # interning makes equal answers one object (cheap equality in the replay loop)
            probes.append([intern(a, a) for a in p])
        except TypeError:  # an unhashable element (list, object)
            raise fail(f"each_branch[{j}][0]", "probe answers must be strings") from None
        tokens.append(t)
        finals.append(intern(f, f))
    if any(type(a) is not str for a in table):
        j = next(j for j, p in enumerate(probes) if any(type(a) is not str for a in p))
        raise fail(f"each_branch[{j}][0]", "probe answers must be strings")
    return Question(i, text, intern(gold, gold), probes, tokens, finals), freq


def parse_questions(path: str, data: object) -> tuple[tuple[Question, ...], int]:
    """Validate a released-format question list; return the questions and the interval."""
    if not isinstance(data, list):
        raise EnvFormatError(
            f"{path}: expected a JSON list of questions at top level, got {type(data).__name__}"
        )
    if not data:
        raise EnvFormatError(f"{path}: the question list is empty")
    questions: list[Question] = []
    interval: int | None = None
    for i, obj in enumerate(data):
        q, interval = _parse_question(path, i, obj, interval)
        questions.append(q)
    assert interval is not None
    return tuple(questions), interval


def _read_json(path: str) -> Any:
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise EnvFormatError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as e:
        raise EnvFormatError(
            f"{path}: invalid JSON (truncated or corrupt) at line {e.lineno} column {e.colno}: "
            f"{e.msg}"
        ) from None
    except UnicodeDecodeError as e:
        raise EnvFormatError(f"{path}: not UTF-8 text: {e.reason}") from None


def _guess_names(path: str) -> tuple[str, str]:
    """Released files live at ``<model>/<dataset>.json``."""
    p = Path(path)
    return (p.parent.name or "unknown"), p.stem


def load_env(path: str | os.PathLike[str]) -> Environment:
    """Load an environment file in either format."""
    spath = os.fspath(path)
    data = _read_json(spath)
    if isinstance(data, dict) and FORMAT_KEY in data:
        version = data[FORMAT_KEY]
        if version != FORMAT_VERSION:
            raise EnvFormatError(f"{spath}: unsupported autotts_env version {version!r}")
        meta_obj = data.get("meta")
        if not isinstance(meta_obj, dict):
            raise EnvFormatError(f"{spath}: field 'meta': expected an object")
        if "questions" not in data:
            raise EnvFormatError(f"{spath}: field 'questions': missing")
        questions, interval = parse_questions(spath, data["questions"])
        known = {f for f in EnvMeta.__dataclass_fields__ if f != "extra"}
        fields = {k: v for k, v in meta_obj.items() if k in known}
        extra = {k: v for k, v in meta_obj.items() if k not in known}
        extra.update(meta_obj.get("extra") or {})
        try:
            meta = EnvMeta(**{**fields, "interval_tokens": interval}, extra=extra)
        except TypeError as e:
            raise EnvFormatError(f"{spath}: field 'meta': {e}") from None
        return Environment(meta=meta, questions=questions, path=spath)
    questions, interval = parse_questions(spath, data)
    model, dataset = _guess_names(spath)
    meta = EnvMeta(model=model, dataset=dataset, interval_tokens=interval, source=spath)
    return Environment(meta=meta, questions=questions, path=spath)


def question_records(env: Environment) -> list[dict[str, Any]]:
    """The questions in the released format (what both file formats store)."""
    return [
        {
            "question": q.text,
            "gold_answer": q.gold,
            "probe_freq": env.interval,
            "final_answers_trace": list(q.finals),
            "each_branch": [
                [list(p), t, f] for p, t, f in zip(q.probes, q.tokens, q.finals, strict=True)
            ],
        }
        for q in env.questions
    ]


def content_hash(env: Environment) -> str:
    """sha256 of the chain content (questions, gold answers, interval, chains), independent of
    file format and metadata, so an imported file hashes like its source."""
    h = hashlib.sha256()
    for rec in question_records(env):
        h.update(json.dumps(rec, separators=(",", ":"), ensure_ascii=False).encode())
    return "sha256:" + h.hexdigest()


def write_env(env: Environment, path: str | os.PathLike[str]) -> None:
    """Write ``env`` in autotts's own format (atomically: a crash never leaves half a file)."""
    meta = env.meta.to_dict()
    meta["content_hash"] = content_hash(env)
    doc = {FORMAT_KEY: FORMAT_VERSION, "meta": meta, "questions": question_records(env)}
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, target)
