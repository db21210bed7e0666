"""A deterministic "model" behind :class:`tests.scripted_server.ScriptedServer`'s completions
endpoint, with the answers a test can compute without it.

Prompts are ``TEMPLATE`` with the question, then the chain's text so far, then (for a probe)
the probe suffix. A token is a whitespace-separated word of letters (so no stray digits reach
the last-number extractor). A chain is identified by its *key*: the ``seed`` of its first
request, written into its first word; later steps read it back from the text, as a real model
continues whatever text it is given. From (question, key) the script draws, deterministically:

* the chain's length ``L`` in tokens (between the question's ``min_len`` and ``max_len``);
* its final answer (one of the question's ``answers``, by their weights), written as
  ``\\boxed{answer}`` in the last word, or no answer at all (``"none"``);
* a lock-in point: a probe at position ``t`` (tokens so far) reports the final answer from
  there on; before it, ERR (an unclosed reply) or a drifting answer.

A step request gets ``min(max_tokens, L - t)`` words, ``finish_reason`` ``stop`` when the
chain has ended, else ``length``; a probe gets its reply cut to ``max_tokens`` words. Usage
counts are exact word counts. :meth:`ScriptedModel.expected_chain` is what ``collect`` must
record for a chain, derived from this script alone (not from autotts's sampler).

Like vLLM, it also takes token-id prompts and returns the ids it generated
(``return_token_ids``), and tokenizes on ``/tokenize`` (text, or chat ``messages`` through its
"chat template", which is ``TEMPLATE`` around the last message) and ``/detokenize``. A token is
a run of whitespace and the word after it, so decoding is exact; ids are handed out as words
are first seen. ``tokens=False`` makes it a server without any of that (a token-id prompt is an
HTTP 500, as llama.cpp's server answers); ``ignore_seeds=True`` one whose seeded requests do not
reproduce (a new chain gets a fresh key every time, as llama.cpp's prompt cache behaves).
"""

from __future__ import annotations

import hashlib
import itertools
import random
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from autotts.data import Environment, EnvMeta
from tests.scripted_server import Reply, completion_reply

TEMPLATE = "Q: {question}\nA:"
ERR = "ERR"
NO_ANSWER = "none"  # a chain that ends without writing an answer


def _letters(n: int) -> str:
    return "".join("abcdefghij"[int(d)] for d in str(n))


@dataclass(frozen=True)
class QuestionScript:
    text: str
    answers: dict[str, float]  # final answer -> weight (NO_ANSWER allowed)
    min_len: int = 150
    max_len: int = 900
    drift: tuple[str, ...] = ("7", "\\frac{1}{2}")  # what early probes say besides ERR


@dataclass(frozen=True)
class ChainScript:
    length: int
    final: str
    lock_in: int
    seed: str

    def answer_at(self, t: int) -> str:
        """The probe answer after ``t`` tokens."""
        if t >= self.lock_in:
            return ERR if self.final == NO_ANSWER else self.final
        h = int(hashlib.sha256(f"{self.seed}|{t}".encode()).hexdigest()[:8], 16)
        return ERR if h % 3 == 0 else "drift"


@dataclass
class ScriptedModel:
    questions: list[QuestionScript]
    template: str = TEMPLATE
    probe_suffix: str | None = None  # default: autotts's DEFAULT_PROBE_SUFFIX
    fail_after: int | None = None  # answer HTTP 400 to every request after this many
    served: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    delay: float = 0.0
    tokens: bool = True  # token-id prompts, return_token_ids, /tokenize and /detokenize
    ignore_seeds: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _vocab: dict[str, int] = field(default_factory=dict)
    _words: list[str] = field(default_factory=list)
    _fresh: itertools.count[int] = field(default_factory=lambda: itertools.count(10**6))

    def __post_init__(self) -> None:
        if self.probe_suffix is None:
            from autotts.live import DEFAULT_PROBE_SUFFIX

            self.probe_suffix = DEFAULT_PROBE_SUFFIX
        self._by_text = {q.text: q for q in self.questions}

    # ----------------------------------------------------------------- the script
    def chain(self, question: str, key: int) -> ChainScript:
        q = self._by_text[question]
        rng = random.Random(f"{question}|{key}")
        length = rng.randint(q.min_len, q.max_len)
        names = list(q.answers)
        final = rng.choices(names, weights=[q.answers[n] for n in names])[0]
        lock_in = rng.randint(0, length)
        return ChainScript(length, final, lock_in, f"{question}|{key}")

    def drift_answer(self, question: str, chain: ChainScript, t: int) -> str:
        q = self._by_text[question]
        h = int(hashlib.sha256(f"{chain.seed}|d{t}".encode()).hexdigest()[:8], 16)
        return q.drift[h % len(q.drift)]

    def probe_answer(self, question: str, chain: ChainScript, t: int) -> str:
        a = chain.answer_at(t)
        return self.drift_answer(question, chain, t) if a == "drift" else a

    def word(self, chain: ChainScript, key: int, p: int) -> str:
        if p == 0:
            return "key" + _letters(key)
        if p == chain.length - 1 and chain.final != NO_ANSWER:
            return f"\\boxed{{{chain.final}}}"
        h = int(hashlib.sha256(f"{chain.seed}|w{p}".encode()).hexdigest()[:6], 16)
        return "w" + _letters(h % 1000)

    def expected_chain(
        self, question: str, key: int, interval: int, max_tokens: int
    ) -> tuple[list[str], int, str]:
        """(probe answers, total tokens, final answer) that collect must record, in canonical
        form. Probe points are every multiple of ``interval`` strictly inside the chain."""
        from autotts.data import normalize_answer

        chain = self.chain(question, key)
        total = min(chain.length, max_tokens)
        probes = [
            normalize_answer(self.probe_answer(question, chain, t))
            for t in range(interval, total, interval)
        ]
        if chain.length <= max_tokens:  # the final answer is written in the text
            final = ERR if chain.final == NO_ANSWER else normalize_answer(chain.final)
        else:  # cut at max_tokens: probed at its end
            final = normalize_answer(self.probe_answer(question, chain, total))
        return probes, total, final

    def expected_env(
        self, items: Sequence[Any], n_chains: int, interval: int, max_tokens: int, seed: int = 0
    ) -> Environment:
        """The environment ``collect`` must write for ``items`` (QuestionItems): chain ``c`` of
        question ``qid`` is the chain keyed by the documented seed of its first request."""
        from autotts.data import normalize_answer
        from autotts.live import request_seed
        from tests.builders import make_question

        questions = []
        for n, item in enumerate(items):
            chains = [
                self.expected_chain(
                    item.question, request_seed(seed, item.id, c, 0), interval, max_tokens
                )
                for c in range(n_chains)
            ]
            gold = normalize_answer(item.answer)
            questions.append(make_question(chains, gold, n, item.question))
        return Environment(EnvMeta(interval_tokens=interval), tuple(questions))

    # ----------------------------------------------------------------- tokens
    def encode(self, text: str) -> list[int]:
        with self._lock:
            ids = []
            for piece in _PIECES.findall(text):
                if piece not in self._vocab:
                    self._vocab[piece] = len(self._words)
                    self._words.append(piece)
                ids.append(self._vocab[piece])
            return ids

    def decode(self, ids: Sequence[int]) -> str:
        with self._lock:
            return "".join(self._words[i] for i in ids)

    def tokenize(self, body: Any) -> dict[str, Any] | Reply:
        if not self.tokens:
            return Reply(status=404, json={"detail": "Not Found"})
        if "messages" in body:
            text = self.template.replace("{question}", body["messages"][-1]["content"])
        else:
            text = body["prompt"]
        ids = self.encode(text)
        return {"count": len(ids), "max_model_len": 10**6, "tokens": ids}

    def detokenize(self, body: Any) -> dict[str, Any] | Reply:
        if not self.tokens:
            return Reply(status=404, json={"detail": "Not Found"})
        return {"prompt": self.decode(body["tokens"])}

    # ----------------------------------------------------------------- the endpoint
    def __call__(self, body: Any) -> dict[str, Any] | Reply:
        with self._lock:
            self.served += 1
            if self.fail_after is not None and self.served > self.fail_after:
                return Reply(status=400, json={"error": {"message": "scripted outage"}})
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                threading.Event().wait(self.delay)
            return self._complete(body)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _complete(self, body: Any) -> dict[str, Any] | Reply:
        prompt, max_tokens = body["prompt"], body["max_tokens"]
        if isinstance(prompt, list):
            if not self.tokens:
                return Reply(status=500, json={"error": {"message": "prompt must be a string"}})
            prompt = self.decode(prompt)
        head, sep, rest = prompt.partition("\nA:")
        question = head.removeprefix("Q: ")
        if not sep or question not in self._by_text:
            return Reply(status=400, json={"error": {"message": "unknown prompt"}})
        assert self.probe_suffix is not None
        probing = rest.endswith(self.probe_suffix)
        if probing:
            rest = rest[: -len(self.probe_suffix)]
        words = rest.split()
        prompt_tokens = len(prompt.split())
        if not words:
            if probing or "seed" not in body:
                return Reply(status=400, json={"error": {"message": "a new chain needs a seed"}})
            key = next(self._fresh) if self.ignore_seeds else int(body["seed"])
        else:
            key = int("".join(str("abcdefghij".index(ch)) for ch in words[0][3:]))
        chain = self.chain(question, key)
        t = len(words)
        if probing:
            a = self.probe_answer(question, chain, t)
            reply = ["hmm", "let", "me", "think"] if a == ERR else [a + "}", "\\]"]
            out = reply[:max_tokens]
            reason = "length" if len(out) < len(reply) else "stop"
        else:
            out = [self.word(chain, key, p) for p in range(t, min(t + max_tokens, chain.length))]
            reason = "stop" if t + len(out) >= chain.length else "length"
        text = "".join(" " + w for w in out)
        answer = completion_reply(
            text, prompt_tokens=prompt_tokens, completion_tokens=len(out), finish_reason=reason
        )
        if body.get("return_token_ids") and self.tokens:
            answer["choices"][0]["token_ids"] = self.encode(text)
        return answer


_PIECES = re.compile(r"\s*\S+|\s+$")
