"""How a chain is sampled, advanced and probed: the mechanics ``collect`` and ``solve`` share,
so that a chain is the same sample whichever of them produced it.

A chain of question ``qid`` with index ``c`` is grown in steps of ``interval`` tokens through the
completions endpoint: step ``k`` sends the prompt plus the chain so far (the server's prefix
cache makes the repeat cheap) and asks for ``min(interval, max_tokens - generated)`` tokens,
with ``seed = request_seed(seed, qid, c, k)`` and ``user = "autotts:<qid>:<c>"``.

"The chain so far" is sent as *token ids* when the settings say ``continuation="tokens"``
(servers that take token-id prompts and return the ids they generated: vLLM, SGLang): the
model then continues exactly the tokens it wrote, and counts are exact. With ``"text"`` it is
the decoded text, which the server tokenizes again; at a step boundary that may give other
tokens than the model wrote (re-tokenization drift), so samples and counts can differ slightly
from an uninterrupted generation. The prompt is either ``prompt_template`` applied by hand or,
with ``user_message``, the model's own chat template applied by the server's tokenizer to that
one user message (:class:`Prompt` holds its text and ids).
Per-request seeds make every step a reproducible sample on servers that honour ``seed`` (vLLM
and SGLang do, per request), and a seed per *step* keeps the steps' random streams independent.

A step that returns fewer tokens than asked, stops for another reason than ``length``, or
reaches ``max_tokens`` finishes the chain. Every step that does not finish it is a *probe
point*: the probe sends prompt + text + probe suffix at temperature 0 for ``probe_tokens``
tokens and reads the answer (:mod:`autotts.live.extract`). So a chain of ``L`` tokens has one
probe per full interval before its end, and replay charges it exactly what it generated.
A finished chain's final answer is read from its text; a chain cut at ``max_tokens`` (which
usually has none) is probed once more at its end instead.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .client import ModelClient
from .extract import DEFAULT_PROBE_SUFFIX, canonical, extract_final, extract_probe

QUESTION_FIELD = "{question}"
DEFAULT_USER_MESSAGE = (
    "{question}\nPlease reason step by step, and put your final answer within \\boxed{}."
)
"""The user message given to the model's own chat template (``user_message``)."""


def chatml(user_message: str) -> str:
    """``user_message`` as one ChatML user turn, then the assistant's: a raw prompt template."""
    return f"<|im_start|>user\n{user_message}<|im_end|>\n<|im_start|>assistant\n"


DEFAULT_TEMPLATE = chatml(DEFAULT_USER_MESSAGE)
"""ChatML (Qwen, and many others): the chat template applied by hand, for a raw prompt."""
CONTINUATIONS = ("tokens", "text")


@dataclass(frozen=True)
class SamplingSettings:
    """Everything that decides what a chain is (stored with every collected environment)."""

    interval: int = 500
    max_tokens: int = 32768
    temperature: float = 0.7
    top_p: float | None = None
    prompt_template: str = DEFAULT_TEMPLATE
    probe_suffix: str = DEFAULT_PROBE_SUFFIX
    probe_tokens: int = 20
    seed: int = 0
    user_message: str | None = None  # set: the model's chat template, not prompt_template
    continuation: str = "text"  # "tokens": chains are continued by token ids

    def __post_init__(self) -> None:
        if self.interval < 1:
            raise ValueError(f"interval must be at least 1 token, got {self.interval}")
        if self.max_tokens < 1:
            raise ValueError(f"max tokens must be at least 1, got {self.max_tokens}")
        if self.probe_tokens < 1:
            raise ValueError(f"probe tokens must be at least 1, got {self.probe_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature:g}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ValueError(f"top-p must be in (0, 1], got {self.top_p:g}")
        template, what = (
            (self.prompt_template, "prompt template")
            if self.user_message is None
            else (self.user_message, "user message")
        )
        n = template.count(QUESTION_FIELD)
        if n != 1:
            raise ValueError(f"the {what} must contain {QUESTION_FIELD} exactly once (found {n})")
        if self.continuation not in CONTINUATIONS:
            raise ValueError(f"continuation must be tokens or text, got {self.continuation!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def request_seed(seed: int, qid: str, chain: int, step: int) -> int:
    """The sampling seed of one step of one chain (31 bits: every server accepts it)."""
    digest = hashlib.sha256(f"{seed}:{qid}:{chain}:{step}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


@dataclass(frozen=True)
class Prompt:
    """A question's prompt: its text and, where the server tokenized it, its token ids."""

    text: str
    ids: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Step:
    """One interval of a chain: the text generated, its token count, why it stopped, and its
    token ids (``continuation="tokens"``; None otherwise)."""

    text: str
    tokens: int
    finish_reason: str
    finished: bool  # the chain ends with this step
    truncated: bool  # ... because it reached max_tokens (or the server's context limit)
    ids: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Probe:
    """An answer read from the model: the probe's completion (``""`` when read from the
    chain's own text), the raw answer (None when there was none) and its canonical form."""

    completion: str
    raw: str | None
    answer: str
    tokens: int  # tokens the probe request generated (0 when read from the text)
    source: str = "probe"  # "probe" or "text"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Probe:
        return cls(d["completion"], d["raw"], d["answer"], d["tokens"], d.get("source", "probe"))


class Sampler:
    """Steps and probes of chains, through a :class:`ModelClient` (thread-safe)."""

    def __init__(self, client: ModelClient, settings: SamplingSettings) -> None:
        self.client = client
        self.settings = settings
        self._lock = threading.Lock()
        self._suffix_ids: tuple[int, ...] | None = None
        self._prompts: dict[str, Prompt] = {}

    @property
    def by_tokens(self) -> bool:
        return self.settings.continuation == "tokens"

    def prompt(self, question: str) -> Prompt:
        """The prompt of ``question`` (tokenized by the server where the settings need it;
        cached)."""
        with self._lock:
            known = self._prompts.get(question)
        if known is not None:
            return known
        s = self.settings
        if s.user_message is not None:
            content = s.user_message.replace(QUESTION_FIELD, question)
            ids = self.client.tokenize(messages=[{"role": "user", "content": content}])
            made = Prompt(self.client.detokenize(ids), tuple(ids))
        else:
            text = s.prompt_template.replace(QUESTION_FIELD, question)
            made = Prompt(text, tuple(self.client.tokenize(text=text)) if self.by_tokens else None)
        with self._lock:
            return self._prompts.setdefault(question, made)

    def context(self, prompt: Prompt, steps: Sequence[Step], probe: bool) -> str | list[int]:
        """What a request continues: the prompt and the chain so far (then the probe
        suffix), as token ids or as text."""
        if not self.by_tokens:
            text = prompt.text + "".join(st.text for st in steps)
            return text + self.settings.probe_suffix if probe else text
        if prompt.ids is None or any(st.ids is None for st in steps):
            raise ValueError("continuation by tokens needs the token ids of the prompt and steps")
        ids = list(prompt.ids)
        for st in steps:
            ids.extend(st.ids or ())
        if probe:
            ids.extend(self._probe_ids())
        return ids

    def _probe_ids(self) -> tuple[int, ...]:
        if self._suffix_ids is None:
            got = self.client.tokenize(text=self.settings.probe_suffix, add_special_tokens=False)
            self._suffix_ids = tuple(got)
        return self._suffix_ids

    def step(self, prompt: Prompt, qid: str, chain: int, index: int, steps: Sequence[Step]) -> Step:
        """Step ``index`` of a chain whose earlier steps are ``steps``."""
        s = self.settings
        generated = sum(st.tokens for st in steps)
        ask = min(s.interval, s.max_tokens - generated)
        if ask <= 0:
            raise ValueError(f"chain {qid}:{chain} is already at max tokens ({s.max_tokens})")
        out = self.client.complete(
            self.context(prompt, steps, probe=False),
            max_tokens=ask,
            temperature=s.temperature,
            top_p=s.top_p,
            seed=request_seed(s.seed, qid, chain, index),
            user=f"autotts:{qid}:{chain}",
            token_ids=self.by_tokens,
        )
        short = out.tokens < ask
        at_limit = generated + out.tokens >= s.max_tokens
        finished = out.finish_reason != "length" or short or at_limit
        truncated = finished and out.finish_reason == "length"
        return Step(out.text, out.tokens, out.finish_reason, finished, truncated, out.token_ids)

    def probe(
        self, prompt: Prompt, qid: str, chain: int, index: int, steps: Sequence[Step]
    ) -> Probe:
        """The answer of a chain whose steps so far are ``steps`` (the last is ``index``)."""
        s = self.settings
        out = self.client.complete(
            self.context(prompt, steps, probe=True),
            max_tokens=s.probe_tokens,
            temperature=0.0,
            seed=request_seed(s.seed, qid, chain, index),
            user=f"autotts:{qid}:{chain}:probe",
        )
        raw = extract_probe(s.probe_suffix, out.text)
        return Probe(out.text, raw, canonical(raw), out.tokens)

    def final(self, prompt: Prompt, qid: str, chain: int, steps: Sequence[Step]) -> Probe:
        """The final answer of a finished chain: from its text, or a probe at its end when it
        was cut at max tokens."""
        last = steps[-1]
        assert last.finished, "final() of an unfinished chain"
        if last.truncated:
            return self.probe(prompt, qid, chain, len(steps) - 1, steps)
        raw = extract_final("".join(st.text for st in steps))
        return Probe("", raw, canonical(raw), 0, source="text")
