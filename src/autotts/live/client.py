"""The one place autotts talks to a model server: raw-prompt completions through the ``openai``
SDK (imported on first use: it takes a third of a second), with retries and exact token counts.

Retries are ours, not the SDK's (``max_retries=0``), so every attempt is counted and one policy
covers everything transient: timeouts and connection errors, HTTP 408/409/425/429/5xx, and
responses that are not the JSON of a completion. The wait doubles from ``retry_wait`` up to
``max_wait`` (with jitter), or is what the server's ``Retry-After`` asks for. Anything else (a
400, a wrong model name, no usage counts) is a :class:`LiveError` at once: retrying cannot fix it.

The first request of a command (:meth:`ModelClient.check`) does not retry a refused
connection: nothing listens at that address, which waiting does not change, so the command
fails at once saying so. Later requests do retry it (a server restarting under a long collect).
A 404 from a base URL that does not end in ``/v1`` says that this is the usual mistake.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class LiveError(Exception):
    """Talking to the model server failed for good; ``str(err)`` is one line."""


@dataclass(frozen=True)
class Completion:
    """One completion: its text, the tokens generated (the server's usage count), why it
    stopped (``length`` = hit ``max_tokens``), the prompt's length in tokens and, when they
    were asked for, the generated token ids."""

    text: str
    tokens: int
    finish_reason: str
    prompt_tokens: int
    token_ids: tuple[int, ...] | None = None


@dataclass
class ClientStats:
    requests: int = 0  # attempts, including retried ones
    retries: int = 0
    completion_tokens: int = 0
    prompt_tokens: int = 0


class _Transient(Exception):
    def __init__(self, reason: str, wait: float | None = None, *, refused: bool = False) -> None:
        super().__init__(reason)
        self.wait = wait
        self.refused = refused  # the connection was refused: nothing listens there


class ModelClient:
    """Completions from ``model`` at an OpenAI-compatible ``base_url`` (thread-safe)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 600.0,
        retries: int = 5,
        retry_wait: float = 1.0,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key or "EMPTY"  # local servers want some key, and ignore it
        self.timeout = timeout
        self.retries = retries
        self.retry_wait = retry_wait
        self.max_wait = max_wait
        self.stats = ClientStats()
        self._sleep = sleep
        self._lock = threading.Lock()
        self._client: Any = None

    # ----------------------------------------------------------------- requests
    def complete(
        self,
        prompt: str | Sequence[int],
        *,
        max_tokens: int,
        temperature: float,
        top_p: float | None = None,
        seed: int | None = None,
        user: str | None = None,
        token_ids: bool = False,
    ) -> Completion:
        """Continue ``prompt`` (text, or token ids) by up to ``max_tokens`` tokens; with
        ``token_ids`` the server is asked for the generated ids too (vLLM's
        ``return_token_ids``), and a response without them is an error."""
        body: dict[str, Any] = {"max_tokens": max_tokens, "temperature": temperature}
        if top_p is not None:
            body["top_p"] = top_p
        if seed is not None:
            body["seed"] = seed
        if user is not None:
            body["user"] = user
        if token_ids:
            body["extra_body"] = {"return_token_ids": True}
        if not isinstance(prompt, str):
            prompt = list(prompt)
        out = self._with_retries(lambda: self._complete_once(prompt, body))
        with self._lock:
            self.stats.completion_tokens += out.tokens
            self.stats.prompt_tokens += out.prompt_tokens
        return out

    def tokenize(
        self,
        *,
        text: str | None = None,
        messages: list[dict[str, str]] | None = None,
        add_special_tokens: bool = True,
    ) -> list[int]:
        """Token ids from the server's own tokenizer (vLLM's and SGLang's ``POST /tokenize``
        beside ``/v1``): of ``text``, or of ``messages`` with the model's chat template and
        the generation prompt. A server without the route is a :class:`LiveError`."""
        body: dict[str, Any] = {"model": self.model, "add_special_tokens": add_special_tokens}
        if messages is not None:
            body.update(messages=messages, add_generation_prompt=True)
        else:
            body["prompt"] = text

        def once() -> list[int]:
            try:
                got = self._sdk().post(self._root() + "/tokenize", body=body, cast_to=object)
            except Exception as e:
                raise self._classify(e) from e
            tokens = got.get("tokens") if isinstance(got, dict) else None
            if not isinstance(tokens, list) or not all(type(t) is int for t in tokens):
                raise LiveError(f"{self._root()}/tokenize: the response has no token list")
            return tokens

        return self._with_retries(once)

    def detokenize(self, tokens: Sequence[int]) -> str:
        """The text of ``tokens`` (``POST /detokenize``)."""
        body = {"model": self.model, "tokens": list(tokens)}

        def once() -> str:
            try:
                got = self._sdk().post(self._root() + "/detokenize", body=body, cast_to=object)
            except Exception as e:
                raise self._classify(e) from e
            text = got.get("prompt") if isinstance(got, dict) else None
            if not isinstance(text, str):
                raise LiveError(f"{self._root()}/detokenize: the response has no text")
            return text

        return self._with_retries(once)

    def served_models(self) -> list[str] | None:
        """The models the server lists (``GET /models``), or None when it has no such route.
        Fails with a :class:`LiveError` when the server cannot be reached."""

        def once() -> list[str] | None:
            openai = self._openai()
            try:
                page = self._sdk().models.list()
            except openai.NotFoundError:
                hint = self._v1_hint()
                if hint:  # most likely the route exists one level down
                    raise LiveError(f"{self.base_url}/models returned 404: {hint}") from None
                return None
            except Exception as e:
                raise self._classify(e) from e
            return [m.id for m in getattr(page, "data", None) or []]

        return self._with_retries(once, retry_refused=False)

    def check(self) -> None:
        """Fail early and clearly when the server is unreachable or does not serve the model."""
        models = self.served_models()
        if models is not None and self.model not in models:
            listed = ", ".join(models[:10]) or "none"
            raise LiveError(
                f"{self.base_url} does not serve model {self.model!r} (it serves: {listed})"
            )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # ----------------------------------------------------------------- internals
    def _openai(self) -> Any:
        import openai

        return openai

    def _sdk(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._openai().OpenAI(
                    base_url=self.base_url,
                    api_key=self.api_key,
                    timeout=self.timeout,
                    max_retries=0,
                )
            return self._client

    def _root(self) -> str:
        """The server's root URL (tokenizer routes live beside ``/v1``, not under it)."""
        return self.base_url.removesuffix("/v1")

    def _complete_once(self, prompt: str | list[int], body: dict[str, Any]) -> Completion:
        sdk = self._sdk()
        try:
            raw = sdk.completions.create(model=self.model, prompt=prompt, **body)
        except Exception as e:
            raise self._classify(e) from e
        return self._parse(raw, body["max_tokens"], "extra_body" in body)

    def _parse(self, raw: Any, max_tokens: int, want_ids: bool = False) -> Completion:
        choices = getattr(raw, "choices", None)
        if not choices:
            raise _Transient("malformed response: no choices")
        choice = choices[0]
        text, reason = getattr(choice, "text", None), getattr(choice, "finish_reason", None)
        if not isinstance(text, str):
            raise _Transient("malformed response: choices[0].text is not a string")
        usage = getattr(raw, "usage", None)
        tokens = getattr(usage, "completion_tokens", None)
        prompt_tokens = getattr(usage, "prompt_tokens", None)
        if type(tokens) is not int or type(prompt_tokens) is not int:
            raise LiveError(
                f"{self.base_url}: the response has no usage token counts "
                "(autotts charges exact token counts; use a server that reports usage)"
            )
        if not 0 <= tokens <= max_tokens:
            raise LiveError(
                f"{self.base_url}: the server reports {tokens} tokens generated for "
                f"max_tokens={max_tokens}"
            )
        ids = None
        if want_ids:
            got = getattr(choice, "token_ids", None)
            if got is None and isinstance(getattr(choice, "model_extra", None), dict):
                got = choice.model_extra.get("token_ids")
            if not isinstance(got, list) or not all(type(t) is int for t in got):
                raise LiveError(
                    f"{self.base_url}: the response has no token ids (return_token_ids): "
                    "continue chains as text with --continuation text"
                )
            if len(got) != tokens:
                raise LiveError(
                    f"{self.base_url}: the server reports {tokens} tokens generated but "
                    f"returned {len(got)} token ids"
                )
            ids = tuple(got)
        return Completion(text, tokens, str(reason or "stop"), prompt_tokens, ids)

    def _classify(self, e: Exception) -> Exception:
        """A transient failure to retry, or the LiveError to stop with."""
        openai = self._openai()
        if isinstance(e, openai.APITimeoutError):
            return _Transient(f"timed out after {self.timeout:g} s")
        if isinstance(e, openai.APIConnectionError):
            cause = e.__cause__ or e.__context__
            detail = str(cause).strip() if cause is not None else ""
            refused = _caused_by(e, ConnectionRefusedError)
            return _Transient(f"cannot connect{': ' + detail if detail else ''}", refused=refused)
        if isinstance(e, openai.APIStatusError):
            message = _error_message(e)
            if e.status_code in TRANSIENT_STATUS:
                return _Transient(f"HTTP {e.status_code}: {message}", _retry_after(e))
            hint = self._v1_hint() if e.status_code == 404 else None
            if hint:
                return LiveError(f"{self.base_url} returned 404 ({message}): {hint}")
            return LiveError(f"{self.base_url}: HTTP {e.status_code}: {message}")
        if isinstance(e, (json.JSONDecodeError, openai.APIResponseValidationError)):
            return _Transient(f"malformed response: {e}")
        if isinstance(e, LiveError):
            return e
        return LiveError(f"{self.base_url}: {type(e).__name__}: {e}")

    def _v1_hint(self) -> str | None:
        """What to try when a base URL that does not end in /v1 gives a 404."""
        from urllib.parse import urlsplit

        if urlsplit(self.base_url).path.rstrip("/").endswith("/v1"):
            return None
        return f"the base URL usually ends in /v1 (try {self.base_url}/v1)"

    def _with_retries(self, attempt: Callable[[], Any], *, retry_refused: bool = True) -> Any:
        for n in range(self.retries + 1):
            with self._lock:
                self.stats.requests += 1
            try:
                return attempt()
            except _Transient as t:
                if t.refused and not retry_refused:
                    raise LiveError(
                        f"cannot connect to {self.base_url}: connection refused "
                        "(is the server running?)"
                    ) from None
                if n == self.retries:
                    raise LiveError(
                        f"{self.base_url}: {t} (gave up after {n + 1} attempts)"
                    ) from None
                wait = t.wait
                if wait is None:
                    wait = self.retry_wait * 2**n * random.uniform(0.5, 1.0)
                with self._lock:
                    self.stats.retries += 1
                self._sleep(min(self.max_wait, max(0.0, wait)))
        raise AssertionError("unreachable")


def _caused_by(e: BaseException, kind: type[BaseException]) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, kind):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False


def _error_message(e: Any) -> str:
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        msg = err.get("message") if isinstance(err, dict) else err
        if msg:
            return " ".join(str(msg).split())[:300]
    return " ".join(str(getattr(e, "message", e)).split())[:300]


def _retry_after(e: Any) -> float | None:
    response = getattr(e, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
