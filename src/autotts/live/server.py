"""What the model server can do, found out before a chain is sampled: the settings a run uses
on this server, and every way they fall short of exact collection, stated.

Exact collection (the default wherever the server allows it) means three things:

* **the model's own prompt format**: the prompt is the model's chat template applied by the
  server's tokenizer (``POST /tokenize`` with ``messages``, vLLM and SGLang), not a template
  written by hand;
* **continuation by token ids**: every step sends the prompt's and the chain's token ids and
  gets back the ids generated (vLLM's ``return_token_ids``), so a chain continued in steps is
  token for token the chain the model wrote, and counts are the server's;
* **seeds honoured**: the same seeded request gives the same sample, so an interrupted
  collect resumes as it would have gone on, and ``solve`` replays collected chains.

:func:`negotiate` settles the first two (falling back, with a note, to autotts's ChatML
template and to text continuation where the server lacks a route); :func:`check_seeds` tests
the third with a few short requests and raises :class:`SeedsNotHonoured` when the server does
not honour them (llama.cpp's server, with its prompt cache, gives another sample for the same
seed; hosted APIs ignore it). The result, :class:`ServerReport`, is recorded in every
environment ``collect`` writes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .client import LiveError, ModelClient
from .sampler import Sampler, SamplingSettings, chatml, request_seed

MODES = ("auto", "tokens", "text")
CHECK_TOKENS = 16  # tokens per seed-check sample


class SeedsNotHonoured(LiveError):
    """The server does not reproduce a seeded sample: chains could not be resumed or replayed."""


@dataclass
class ServerReport:
    """How chains are made on this server, and what differs from exact collection."""

    prompt: str = "prompt template"  # or "chat template" (the model's, by the server)
    continuation: str = "text"  # or "tokens"
    seeds: str = "unchecked"  # "honoured", "not honoured", "not needed (temperature 0)"
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def negotiate(
    client: ModelClient, settings: SamplingSettings, question: str, continuation: str = "auto"
) -> tuple[SamplingSettings, ServerReport]:
    """The settings to sample with on this server: ``settings`` with the prompt format and the
    continuation the server supports (tried on ``question``'s prompt, one token).
    ``settings.user_message`` set asks for the model's chat template; ``continuation`` is
    ``auto`` (token ids where possible), ``tokens`` (refuse a server without them) or
    ``text``."""
    if continuation not in MODES:
        raise ValueError(f"continuation must be one of {', '.join(MODES)}, got {continuation!r}")
    report = ServerReport()
    tokenizer = _tokenizer_error(client)
    if settings.user_message is not None:
        chat = tokenizer or _chat_error(client, settings.user_message)
        if chat is None:
            report.prompt = "chat template"
        else:
            report.notes.append(
                f"the server cannot apply the model's chat template ({chat}): the prompt is "
                "autotts's ChatML template applied by hand (--prompt-template to choose another)"
            )
            settings = replace(
                settings, user_message=None, prompt_template=chatml(settings.user_message)
            )
    if continuation == "text":
        report.notes.append("chains are continued as text (--continuation text)")
    else:
        problem = tokenizer or _token_prompt_error(client, settings, question)
        if problem is None:
            report.continuation = "tokens"
        elif continuation == "tokens":
            raise LiveError(
                f"{client.base_url} cannot continue chains by token ids ({problem}); "
                "use --continuation text"
            )
        else:
            report.notes.append(
                f"chains are continued as text, not token ids ({problem}): a step boundary "
                "may re-tokenize differently from what the model wrote"
            )
    return replace(settings, continuation=report.continuation), report


def check_seeds(sampler: Sampler, question: str, report: ServerReport) -> None:
    """Send one seeded request twice in a row, then with another seed: the first two must
    agree and the third differ. Sets ``report.seeds``; raises :class:`SeedsNotHonoured`."""
    s = sampler.settings
    if s.temperature == 0:
        report.seeds = "not needed (temperature 0)"
        return
    prompt = sampler.prompt(question)
    context = sampler.context(prompt, [], probe=False)

    def sample(k: int) -> object:
        out = sampler.client.complete(
            context,
            max_tokens=min(CHECK_TOKENS, s.interval, s.max_tokens),
            temperature=s.temperature,
            top_p=s.top_p,
            seed=request_seed(s.seed, "autotts-seed-check", k, 0),
            user="autotts:seed-check",
            token_ids=sampler.by_tokens,
        )
        return out.token_ids if out.token_ids is not None else out.text

    first, again = sample(0), sample(0)
    if first != again:
        report.seeds = "not honoured"
        raise SeedsNotHonoured(
            f"{sampler.client.base_url} does not honour seeds: the same seeded request twice in "
            "a row gave two different samples, so an interrupted collect could not resume "
            "its chains as they were and the environment could not be reproduced "
            "(--allow-unreproducible collects anyway and records it)"
        )
    if all(sample(k) == first for k in (1, 2)):
        report.seeds = "not honoured"
        raise SeedsNotHonoured(
            f"{sampler.client.base_url} ignores seeds: three different seeds gave the same "
            f"sample at temperature {s.temperature:g}, so every chain of a question would be "
            "the same (--allow-unreproducible collects anyway and records it)"
        )
    report.seeds = "honoured"


def _tokenizer_error(client: ModelClient) -> str | None:
    """None when the server tokenizes text (``/tokenize``); else why not."""
    try:
        ids = client.tokenize(text="Hello", add_special_tokens=False)
    except LiveError as e:
        return _why(e)
    return None if ids else "its /tokenize returned no tokens"


def _chat_error(client: ModelClient, user_message: str) -> str | None:
    try:
        ids = client.tokenize(messages=[{"role": "user", "content": user_message}])
    except LiveError as e:
        return _why(e)
    return None if ids else "its /tokenize returned no tokens for a chat"


def _token_prompt_error(
    client: ModelClient, settings: SamplingSettings, question: str
) -> str | None:
    """None when a token-id prompt is accepted and the generated ids come back."""
    sampler = Sampler(client, replace(settings, continuation="tokens"))
    try:
        prompt = sampler.prompt(question)
        context = sampler.context(prompt, [], probe=False)
        client.complete(
            context, max_tokens=1, temperature=0.0, seed=0, user="autotts:check", token_ids=True
        )
    except LiveError as e:
        return _why(e)
    return None


def _why(e: LiveError) -> str:
    text = str(e)
    if "HTTP 404" in text or "returned 404" in text:
        return "it has no such route"
    return text.split(": ", 1)[1] if text.startswith(("http://", "https://")) else text
