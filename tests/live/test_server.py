"""Exact collection: the model's chat template, continuation by token ids, the seed self-check,
and the stated fallbacks on a server without them (the scripted model plays both kinds)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from autotts.data import content_hash, load_env
from autotts.live import (
    LiveError,
    Sampler,
    SamplingSettings,
    SeedsNotHonoured,
    ServerReport,
    check_seeds,
    collect,
    journal_path,
    negotiate,
)

from .conftest import INTERVAL, ITEMS, MAX_TOKENS, QUESTIONS, SETTINGS, Scripted, serve
from .scripted_model import TEMPLATE, ScriptedModel

N_CHAINS = 4
Run = Callable[..., Result]
# the scripted "chat template" is TEMPLATE around the user message: with "{question}" as the
# user message the prompt text is the raw template's, so both kinds of prompt give the same
# chains, and the script's expected environment holds for every way of collecting
CHAT = replace(SETTINGS, user_message="{question}")


def _fit(scripted: Scripted, settings: SamplingSettings, mode: str = "auto") -> Sampler:
    client = scripted.client()
    fitted, _ = negotiate(client, settings, ITEMS[0].question, mode)
    return Sampler(client, fitted)


def test_a_vllm_like_server_gets_chat_template_and_token_ids(scripted: Scripted) -> None:
    fitted, report = negotiate(scripted.client(), CHAT, ITEMS[0].question)
    assert (report.prompt, report.continuation, report.notes) == ("chat template", "tokens", [])
    assert fitted.continuation == "tokens" and fitted.user_message == "{question}"
    prompt = Sampler(scripted.client(), fitted).prompt(ITEMS[0].question)
    assert prompt.text == TEMPLATE.replace("{question}", ITEMS[0].question)
    assert prompt.ids is not None and scripted.model.decode(prompt.ids) == prompt.text


def test_continuation_by_tokens_sends_exactly_the_ids_generated(
    scripted: Scripted, tmp_path: Path
) -> None:
    sampler = _fit(scripted, CHAT)
    out = tmp_path / "env.json"
    collect(sampler, ITEMS, N_CHAINS, str(out), concurrency=3)
    env = load_env(out)
    expected = scripted.model.expected_env(ITEMS, N_CHAINS, INTERVAL, MAX_TOKENS)
    assert [(q.probes, q.tokens, q.finals) for q in env.questions] == [
        (q.probes, q.tokens, q.finals) for q in expected.questions
    ]
    # every request's prompt is a list of ids: the prompt's, then every id the server returned
    # for the chain's earlier steps (read back from the journal), then the probe suffix's
    steps: dict[tuple[str, int], list[list[int]]] = {}
    for line in Path(journal_path(str(out))).read_text().splitlines():
        rec = json.loads(line)
        if rec["kind"] == "step":
            assert len(rec["ids"]) == rec["tokens"]
            steps.setdefault((rec["q"], rec["c"]), []).append(rec["ids"])
    bodies = [b for b in scripted.completions() if b["user"].startswith("autotts:q")]
    assert bodies and all(isinstance(b["prompt"], list) for b in bodies)
    suffix = scripted.model.encode(SETTINGS.probe_suffix)
    for b in bodies:
        _, qid, c, *probe = b["user"].split(":")
        q = next(i for i in ITEMS if i.id == qid)
        head = scripted.model.encode(TEMPLATE.replace("{question}", q.question))
        chain = steps[(qid, int(c))]
        if probe:
            k = next(
                k
                for k in range(1, len(chain) + 1)
                if head + _cat(chain[:k]) + suffix == b["prompt"]
            )
        else:
            k = next(k for k in range(len(chain)) if head + _cat(chain[:k]) == b["prompt"])
        assert k is not None
    assert env.meta.extra["sampling"]["continuation"] == "tokens"


def _cat(chunks: list[list[int]]) -> list[int]:
    return [t for c in chunks for t in c]


def test_tokens_and_text_give_the_same_environment_here(scripted: Scripted, tmp_path: Path) -> None:
    """On a model without re-tokenization drift the two continuations agree (a check that
    the token path changes how a chain is sent, not what it is)."""
    by_tokens, by_text = tmp_path / "tokens.json", tmp_path / "text.json"
    collect(_fit(scripted, CHAT), ITEMS, N_CHAINS, str(by_tokens))
    collect(_fit(scripted, SETTINGS, "text"), ITEMS, N_CHAINS, str(by_text))
    assert content_hash(load_env(by_tokens)) == content_hash(load_env(by_text))


def test_resumed_token_collect_continues_from_the_journaled_ids(
    scripted: Scripted, tmp_path: Path
) -> None:
    out = tmp_path / "env.json"
    scripted.model.fail_after = 40
    with pytest.raises(LiveError, match="scripted outage"):
        collect(_fit(scripted, CHAT), ITEMS, N_CHAINS, str(out), concurrency=2)
    scripted.model.fail_after = None
    collect(_fit(scripted, CHAT), ITEMS, N_CHAINS, str(out), concurrency=2)
    whole = tmp_path / "whole.json"
    collect(_fit(scripted, CHAT), ITEMS, N_CHAINS, str(whole), concurrency=2)
    assert content_hash(load_env(out)) == content_hash(load_env(whole))


def test_a_text_only_server_falls_back_and_says_so() -> None:
    model = ScriptedModel(list(QUESTIONS), tokens=False)
    with serve(model) as server:
        from autotts.live import ModelClient

        client = ModelClient(server.url, "m", retry_wait=0.0)
        fitted, report = negotiate(client, CHAT, ITEMS[0].question)
        assert (report.prompt, report.continuation) == ("prompt template", "text")
        assert fitted.user_message is None and fitted.prompt_template.startswith("<|im_start|>user")
        assert any("chat template" in n for n in report.notes)
        assert any("not token ids" in n for n in report.notes)
        raw = replace(SETTINGS)  # a raw template asked for: only the continuation falls back
        fitted, report = negotiate(client, raw, ITEMS[0].question)
        assert fitted.prompt_template == TEMPLATE and report.continuation == "text"
        with pytest.raises(LiveError, match="cannot continue chains by token ids"):
            negotiate(client, raw, ITEMS[0].question, "tokens")


def test_the_seed_check_passes_where_seeds_are_honoured(scripted: Scripted) -> None:
    report = ServerReport()
    check_seeds(_fit(scripted, CHAT), ITEMS[0].question, report)
    assert report.seeds == "honoured"
    report = ServerReport()
    check_seeds(_fit(scripted, replace(CHAT, temperature=0.0)), ITEMS[0].question, report)
    assert report.seeds.startswith("not needed")


def test_the_seed_check_catches_a_server_that_does_not_reproduce(scripted: Scripted) -> None:
    scripted.model.ignore_seeds = True
    report = ServerReport()
    with pytest.raises(SeedsNotHonoured, match="same seeded request twice"):
        check_seeds(_fit(scripted, CHAT), ITEMS[0].question, report)
    assert report.seeds == "not honoured"


def test_the_seed_check_catches_a_server_that_ignores_seeds(monkeypatch: Any) -> None:
    class Same:  # a client whose every sample is the same, whatever the seed
        base_url = "http://x/v1"

        def complete(self, *a: Any, **kw: Any) -> Any:
            from autotts.live import Completion

            return Completion(" same words", 2, "length", 3)

    sampler = Sampler(Same(), SETTINGS)  # type: ignore[arg-type]
    with pytest.raises(SeedsNotHonoured, match="ignores seeds"):
        check_seeds(sampler, "q", ServerReport())


def test_collect_refuses_a_server_that_does_not_reproduce(
    run: Run, scripted: Scripted, questions_file: Path, tmp_path: Path
) -> None:
    scripted.model.ignore_seeds = True
    out = tmp_path / "env.json"
    args = ["collect", "--base-url", scripted.url, "--model", "m", "--questions", questions_file]
    args += ["--chains", "2", "--interval", "100", "--max-tokens", "1000", "-o", out]
    args += ["--user-message", "{question}", "--retry-wait", "0"]
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "does not honour seeds" in result.stderr
    assert not out.exists() and not Path(journal_path(str(out))).exists()

    result = run(*args, "--allow-unreproducible")
    assert result.exit_code == 0, result.output
    server = load_env(out).meta.extra["server"]
    assert server["seeds"] == "not honoured" and any("honour" in n for n in server["notes"])


def test_collect_records_how_the_server_made_the_chains(
    run: Run, scripted: Scripted, questions_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "env.json"
    args = ["collect", "--base-url", scripted.url, "--model", "m", "--questions", questions_file]
    args += ["--chains", "2", "--interval", "100", "--max-tokens", "1000", "-o", out]
    result = run(*args, "--user-message", "{question}")
    assert result.exit_code == 0 and result.stderr == "", result.output
    server = load_env(out).meta.extra["server"]
    assert server == {
        "prompt": "chat template",
        "continuation": "tokens",
        "seeds": "honoured",
        "notes": [],
    }
    # the same chains as the raw template continued as text (this model has no drift)
    text = tmp_path / "text.json"
    result = run(
        *args[:-1], text, "--prompt-template", _template(tmp_path), "--continuation", "text"
    )
    assert result.exit_code == 0, result.output
    assert load_env(text).meta.extra["server"]["continuation"] == "text"
    assert content_hash(load_env(text)) == content_hash(load_env(out))


def _template(tmp_path: Path) -> Path:
    path = tmp_path / "template.txt"
    path.write_text(TEMPLATE)
    return path
