"""A scripted model on 127.0.0.1 (started and stopped by each test that uses it)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from autotts.cli import cli
from autotts.live import ModelClient, QuestionItem, Sampler, SamplingSettings
from tests.scripted_server import ScriptedServer

from .scripted_model import TEMPLATE, QuestionScript, ScriptedModel

# three questions: an easy one; one whose answers are spelled two ways (math matching) and
# whose chains sometimes end without an answer or run past max_tokens; a split vote
QUESTIONS = [
    QuestionScript("What is 6 times 7?", {"42": 3, "41": 1}),
    QuestionScript(
        "What is half of one?",
        {"\\frac{1}{2}": 2, "0.5": 1, "none": 1},
        max_len=1400,
        drift=("\\dfrac{1}{2}", "7"),  # raw and canonical differ
    ),
    QuestionScript("Pick a number.", {"7": 1, "8": 1, "9": 1}, min_len=60),
]
GOLDS = ["42", "\\frac{1}{2}", "9"]
ITEMS = [
    QuestionItem(f"q{i}", q.text, g) for i, (q, g) in enumerate(zip(QUESTIONS, GOLDS, strict=True))
]
INTERVAL, MAX_TOKENS = 100, 1000
SETTINGS = SamplingSettings(interval=INTERVAL, max_tokens=MAX_TOKENS, prompt_template=TEMPLATE)
# the same as CLI options
SAMPLING_ARGS = ["--interval", str(INTERVAL), "--max-tokens", str(MAX_TOKENS)]


@dataclass
class Scripted:
    server: ScriptedServer
    model: ScriptedModel

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, **kw: Any) -> ModelClient:
        kw.setdefault("retry_wait", 0.0)
        return ModelClient(self.url, "m", **kw)

    def sampler(self, settings: SamplingSettings = SETTINGS, **kw: Any) -> Sampler:
        return Sampler(self.client(**kw), settings)

    def completions(self) -> list[dict[str, Any]]:
        return [r.body for r in self.server.requests if r.path == "/v1/completions"]


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    model = ScriptedModel(list(QUESTIONS))
    with serve(model) as server:
        yield Scripted(server, model)


def serve(model: ScriptedModel) -> ScriptedServer:
    """A scripted server for ``model``: completions and its tokenizer routes."""
    return ScriptedServer(completions=model, tokenize=model.tokenize, detokenize=model.detokenize)


def write_questions(path: Path, items: list[QuestionItem] = ITEMS) -> Path:
    path.write_text(
        "".join(
            json.dumps({"id": q.id, "question": q.question, "answer": q.answer}) + "\n"
            for q in items
        )
    )
    return path


@pytest.fixture
def questions_file(tmp_path: Path) -> Path:
    return write_questions(tmp_path / "questions.jsonl")


@pytest.fixture
def template_file(tmp_path: Path) -> Path:
    path = tmp_path / "template.txt"
    path.write_text(TEMPLATE)
    return path


@pytest.fixture
def run() -> Callable[..., Result]:
    """Invoke ``autotts ARGS...`` in-process; ``env=`` sets environment variables."""

    def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(cli, [str(a) for a in args], env=env, prog_name="autotts")

    return invoke
