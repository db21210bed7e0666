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

import gc
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from .model import Environment, EnvMeta, Question

FORMAT_KEY = "autotts_env"
FORMAT_VERSION = 1


class EnvFormatError(ValueError):
    """A malformed environment file; ``str(err)`` is one line naming file, question and field."""


def _is_int(x: object) -> bool:
    return type(x) is int  # bool is not a token count


def _type(x: object) -> str:
    return "null" if x is None else type(x).__name__


def _parse_question(path: str, i: int, obj: object, interval: int | None) -> tuple[Question, int]:
    def fail(field: str, problem: str, name: str = "") -> EnvFormatError:
        label = f"'{field}' ({name})" if name else f"'{field}'"
        return EnvFormatError(f"{path}: question {i}: field {label}: {problem}")

    if not isinstance(obj, dict):
        raise EnvFormatError(f"{path}: question {i}: expected an object, got {_type(obj)}")
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
        raise fail("question", f"expected a string, got {_type(text)}")
    if not isinstance(gold, str):
        raise fail("gold_answer", f"expected a string, got {_type(gold)}")
    if not _is_int(freq) or freq <= 0:
        raise fail("probe_freq", f"expected a positive integer, got {freq!r}")
    if interval is not None and freq != interval:
        raise fail("probe_freq", f"{freq} differs from question 0's {interval}")
    if not isinstance(branches, list):
        raise fail("each_branch", f"expected a list, got {_type(branches)}")
    if not branches:
        raise fail("each_branch", "empty chain list")

    table: dict[str, str] = {}
    intern = table.setdefault
    probes: list[list[str]] = []
    tokens: list[int] = []
    finals: list[str] = []
    unhashable = False
    for j, b in enumerate(branches):
        if not isinstance(b, list) or len(b) != 3:
            raise fail(f"each_branch[{j}]", "expected [probe_answers, total_tokens, final_answer]")
        p, t, f = b
        if not isinstance(p, list):
            raise fail(f"each_branch[{j}][0]", f"expected a list, got {_type(p)}", "probe_answers")
        if not _is_int(t) or t < 0:
            problem = f"expected a non-negative integer, got {t!r}"
            raise fail(f"each_branch[{j}][1]", problem, "total_tokens")
        if not isinstance(f, str):
            raise fail(f"each_branch[{j}][2]", f"expected a string, got {_type(f)}", "final_answer")
        try:
            # interning makes equal answers one object (cheap equality in the replay loop);
            # map over the bound method avoids a Python-level loop over ~1M probes per load
            probes.append(list(map(intern, p, p)))
        except TypeError:  # an unhashable element (list, dict): reported below
            unhashable = True
            probes.append(p)
        tokens.append(t)
        finals.append(intern(f, f))
    # one check of the few distinct answers instead of a type test per probe
    if unhashable or any(type(a) is not str for a in table):
        for j, p in enumerate(probes):
            bad = next((k for k, a in enumerate(p) if type(a) is not str), None)
            if bad is not None:
                problem = f"answer {bad} is {_type(p[bad])}, not a string"
                raise fail(f"each_branch[{j}][0]", problem, "probe_answers")
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


def _file_kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _read_bytes(path: str) -> bytes:
    """The file's bytes; anything but a regular file is refused before it is opened (opening a
    FIFO blocks until a writer comes, reading a device may never end)."""
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise EnvFormatError(f"{path}: cannot read: {_file_kind(mode)}, not a regular file")
        # O_NONBLOCK: should the path become a FIFO after the check, open() does not hang
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise EnvFormatError(f"{path}: cannot read: not a regular file")
            return f.read()
    except OSError as e:
        raise EnvFormatError(f"{path}: cannot read: {e.strerror or e}") from None


def _read_json(path: str) -> Any:
    raw = _read_bytes(path)
    try:
        return json.loads(raw)
    except RecursionError:
        raise EnvFormatError(
            f"{path}: invalid environment: JSON nested too deeply (an environment is a list of "
            "question objects, a few levels deep)"
        ) from None
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


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Suspend the cyclic GC while loading: the thousands of lists a file decodes to trigger
    collections that rescan everything already in memory (earlier environments included), and
    nothing built here can be in a cycle. Saves 10-30% of the load time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_env(path: str | os.PathLike[str], *, verify: bool = False) -> Environment:
    """Load an environment file in either format.

    A ``path`` that does not exist is looked up by name (``Qwen3-4B/aime25``) in the data
    directories (:func:`autotts.data.resolve_env_paths`). With ``verify``, an own-format file
    whose stored content hash is not that of its chains (edited after it was written) is an
    :class:`EnvFormatError`; :func:`hash_problem` tells without raising. Verifying costs about
    half a load, so it is off by default; the CLI verifies every file it evaluates.
    """
    spath = os.fspath(path)
    if not os.path.lexists(spath):
        from .locate import resolve_env_paths

        found = resolve_env_paths([spath], option="")
        if len(found) != 1:
            raise EnvFormatError(f"{spath}: {len(found)} environments match; give one")
        spath = os.fspath(found[0])
    with _gc_paused():
        env = _load(spath)
    if verify and (problem := hash_problem(env)) is not None:
        raise EnvFormatError(
            f"{spath}: {problem} (the chains changed after the file was written; "
            "write it again, e.g. with autotts env import, to record their hash)"
        )
    return env


def hash_problem(env: Environment) -> str | None:
    """``"content hash mismatch: stored X, computed Y"``, or None when the stored hash is that
    of the chains (or none is stored, as in released files)."""
    stored = env.meta.content_hash
    if not stored:
        return None
    computed = content_hash(env)
    if computed == stored:
        return None
    return f"content hash mismatch: stored {stored}, computed {computed}"


def _load(spath: str) -> Environment:
    data = _read_json(spath)
    if isinstance(data, dict) and FORMAT_KEY in data:
        version = data[FORMAT_KEY]
        if version != FORMAT_VERSION:
            raise EnvFormatError(f"{spath}: unsupported autotts_env version {version!r}")
        if "meta" not in data:
            raise EnvFormatError(f"{spath}: field 'meta': missing")
        if "questions" not in data:
            raise EnvFormatError(f"{spath}: field 'questions': missing")
        questions, interval = parse_questions(spath, data["questions"])
        meta = _parse_meta(spath, data["meta"], interval)
        return Environment(meta=meta, questions=questions, path=spath)
    questions, interval = parse_questions(spath, data)
    model, dataset = _guess_names(spath)
    meta = EnvMeta(model=model, dataset=dataset, interval_tokens=interval, source=spath)
    return Environment(meta=meta, questions=questions, path=spath)


_NONE = type(None)
_META_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "model": ((str,), "a string"),
    "dataset": ((str,), "a string"),
    "interval_tokens": ((int,), "an integer"),
    "temperature": ((int, float, _NONE), "a number or null"),
    "probe_prompt": ((str, _NONE), "a string or null"),
    "source": ((str, _NONE), "a string or null"),
    "content_hash": ((str,), "a string"),
    "extra": ((dict,), "an object"),
}


def _parse_meta(path: str, obj: object, interval: int) -> EnvMeta:
    """The ``meta`` object of an own-format file; unknown keys are kept in ``extra`` so files
    written by a newer autotts still load."""
    if not isinstance(obj, dict):
        raise EnvFormatError(f"{path}: field 'meta': expected an object, got {_type(obj)}")
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in obj.items():
        if key not in _META_TYPES:
            extra[key] = value
            continue
        types, expected = _META_TYPES[key]
        if not isinstance(value, types) or isinstance(value, bool):
            raise EnvFormatError(
                f"{path}: field 'meta.{key}': expected {expected}, got {_type(value)}"
            )
        fields[key] = value
    declared = fields.pop("interval_tokens", interval)
    if declared != interval:
        raise EnvFormatError(
            f"{path}: field 'meta.interval_tokens': {declared} differs from the questions' "
            f"probe_freq {interval}"
        )
    if fields.get("temperature") is not None:
        fields["temperature"] = float(fields["temperature"])
    extra.update(fields.pop("extra", {}))
    return EnvMeta(**fields, interval_tokens=interval, extra=extra)


def import_released(
    path: str | os.PathLike[str],
    *,
    model: str,
    dataset: str,
    temperature: float | None = None,
    probe_prompt: str | None = None,
) -> Environment:
    """A released-format file with its provenance recorded: the given metadata, ``source`` = the
    file's path and ``content_hash`` of its chains (what :func:`write_env` then stores)."""
    env = load_env(path)
    meta = EnvMeta(
        model=model,
        dataset=dataset,
        interval_tokens=env.interval,
        temperature=temperature,
        probe_prompt=probe_prompt,
        source=os.fspath(path),
        content_hash=content_hash(env),
    )
    return replace(env, meta=meta)


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
    return _hash_records(question_records(env))


def _hash_records(records: list[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for rec in records:
        h.update(json.dumps(rec, separators=(",", ":"), ensure_ascii=False).encode())
    return "sha256:" + h.hexdigest()


def write_env(env: Environment, path: str | os.PathLike[str]) -> str:
    """Write ``env`` in autotts's own format (atomically: a crash never leaves half a file);
    returns the content hash it recorded."""
    records = question_records(env)
    meta = env.meta.to_dict()
    meta["content_hash"] = digest = _hash_records(records)  # always of what is written
    doc = {FORMAT_KEY: FORMAT_VERSION, "meta": meta, "questions": records}
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, target)
    return digest
