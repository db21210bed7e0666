"""How a chain is sampled, advanced and probed: the mechanics ``collect`` and ``solve`` share,
so that a chain is the same sample whichever of them produced it.

A chain of question ``qid`` with index ``c`` is grown in steps of ``interval`` tokens through the
completions endpoint: step ``k`` sends the prompt plus the chain's text so far (the server's
prefix cache makes the repeat cheap) and asks for ``min(interval, max_tokens - generated)``
tokens, with ``seed = request_seed(seed, qid, c, k)`` and ``user = "autotts:<qid>:<c>"``.
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
from dataclasses import asdict, dataclass
from typing import Any

from .client import ModelClient
from .extract import DEFAULT_PROBE_SUFFIX, canonical, extract_final, extract_probe

QUESTION_FIELD = "{question}"
DEFAULT_TEMPLATE = (
    "<|im_start|>user\n{question}\nPlease reason step by step, and put your final answer "
    "within \\boxed{}.<|im_end|>\n<|im_start|>assistant\n"
)
"""ChatML (Qwen, and many others): the chat template applied by hand, for a raw prompt."""


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
        n = self.prompt_template.count(QUESTION_FIELD)
        if n != 1:
            raise ValueError(
                f"the prompt template must contain {QUESTION_FIELD} exactly once (found {n})"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def request_seed(seed: int, qid: str, chain: int, step: int) -> int:
    """The sampling seed of one step of one chain (31 bits: every server accepts it)."""
    digest = hashlib.sha256(f"{seed}:{qid}:{chain}:{step}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


@dataclass(frozen=True)
class Step:
    """One interval of a chain: the text generated, its token count, why it stopped."""

    text: str
    tokens: int
    finish_reason: str
    finished: bool  # the chain ends with this step
    truncated: bool  # ... because it reached max_tokens (or the server's context limit)


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
    """Steps and probes of chains, through a :class:`ModelClient`."""

    def __init__(self, client: ModelClient, settings: SamplingSettings) -> None:
        self.client = client
        self.settings = settings

    def prompt(self, question: str) -> str:
        return self.settings.prompt_template.replace(QUESTION_FIELD, question)

    def step(
        self, prompt: str, qid: str, chain: int, index: int, text: str, generated: int
    ) -> Step:
        """Step ``index`` of a chain that has ``text`` (``generated`` tokens) so far."""
        s = self.settings
        ask = min(s.interval, s.max_tokens - generated)
        if ask <= 0:
            raise ValueError(f"chain {qid}:{chain} is already at max tokens ({s.max_tokens})")
        out = self.client.complete(
            prompt + text,
            max_tokens=ask,
            temperature=s.temperature,
            top_p=s.top_p,
            seed=request_seed(s.seed, qid, chain, index),
            user=f"autotts:{qid}:{chain}",
        )
        short = out.tokens < ask
        at_limit = generated + out.tokens >= s.max_tokens
        finished = out.finish_reason != "length" or short or at_limit
        truncated = finished and out.finish_reason == "length"
        return Step(out.text, out.tokens, out.finish_reason, finished, truncated)

    def probe(self, prompt: str, qid: str, chain: int, index: int, text: str) -> Probe:
        """The answer of a chain whose text so far is ``text`` (after step ``index``)."""
        s = self.settings
        out = self.client.complete(
            prompt + text + s.probe_suffix,
            max_tokens=s.probe_tokens,
            temperature=0.0,
            seed=request_seed(s.seed, qid, chain, index),
            user=f"autotts:{qid}:{chain}:probe",
        )
        raw = extract_probe(s.probe_suffix, out.text)
        return Probe(out.text, raw, canonical(raw), out.tokens)

    def final(self, prompt: str, qid: str, chain: int, steps: list[Step]) -> Probe:
        """The final answer of a finished chain: from its text, or a probe at its end when it
        was cut at max tokens."""
        last = steps[-1]
        assert last.finished, "final() of an unfinished chain"
        text = "".join(st.text for st in steps)
        if last.truncated:
            return self.probe(prompt, qid, chain, len(steps) - 1, text)
        raw = extract_final(text)
        return Probe("", raw, canonical(raw), 0, source="text")
