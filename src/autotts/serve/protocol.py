"""The OpenAI side of ``autotts serve``: a chat request read into a controller run, and the
bodies sent back (completions, stream chunks, errors, the model list).

A request is refused here, before any upstream request, when it is not what the server can
answer: no user message, ``n`` > 1, tools, a model the server does not serve, or a bad
``autotts`` override. Sampling parameters (``temperature``, ``top_p``, ``max_tokens``,
``seed``, ``stop``, penalties, ...) are *ignored*: the server's sampling settings define the
chains, and clients commonly send these by default. Other unknown top-level keys are ignored
as OpenAI-compatible servers do; unknown keys inside ``autotts`` are refused (a typo there
would silently change nothing).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from typing import Any

from ..controllers import ControllerError, ControllerSpec, make_solver, registered, uses_beta
from ..data import ERR, normalize_answer
from ..live import LiveOptions, extract_final

DEFAULT_BETA = 0.5  # as autotts solve: a beta controller asked for without a beta
OVERRIDES = ("controller", "beta", "chains", "budget")
NO_ANSWER = "No answer: none of the chains this request opened gave one."


class RequestError(Exception):
    """A request the server refuses: HTTP ``status`` with an OpenAI-style error body."""

    def __init__(
        self,
        message: str,
        status: int = 400,
        *,
        param: str | None = None,
        code: str | None = None,
        type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status, self.param, self.code, self.type = status, param, code, type

    def body(self) -> dict[str, Any]:
        return error_body(str(self), self.type, param=self.param, code=self.code)


@dataclass(frozen=True)
class ServeConfig:
    """What the server runs: the model name it answers to, its controller (a registered name
    or, given by the operator, a trusted ``file.py:Class``) with params and beta, the run
    options (``n_chains`` is the default chains; ``budget``, if set, is also the most a
    request may ask for) and the most chains a request may ask for."""

    model: str
    spec: ControllerSpec
    options: LiveOptions
    max_chains: int = 64

    def __post_init__(self) -> None:
        if not 1 <= self.options.n_chains <= self.max_chains:
            raise ValueError(
                f"chains ({self.options.n_chains}) must be between 1 and the most a request "
                f"may ask for ({self.max_chains})"
            )


@dataclass(frozen=True)
class ChatRequest:
    """A chat request read: the question, its id (it seeds the chains), what to run, and
    whether to answer as a stream."""

    question: str
    qid: str
    spec: ControllerSpec
    options: LiveOptions
    stream: bool


def question_id(question: str) -> str:
    """The id a question gets without one, as in ``autotts solve``: the chains of a question
    are seeded by it, so the same question gets the same chains there and here."""
    return hashlib.sha256(question.encode()).hexdigest()[:12]


def parse_chat(body: Any, config: ServeConfig) -> ChatRequest:
    """The :class:`ChatRequest` of a ``/v1/chat/completions`` body, or a RequestError."""
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise RequestError("'model' is required (a string)", param="model")
    if model != config.model:
        raise RequestError(
            f"the model {model!r} does not exist (this server serves {config.model!r})",
            404,
            param="model",
            code="model_not_found",
        )
    n = body.get("n")
    if n is not None and (type(n) is not int or n != 1):
        raise RequestError(f"'n' must be 1 (got {n!r}): one answer per request", param="n")
    for key in ("tools", "functions"):
        if body.get(key):
            raise RequestError(f"'{key}' are not supported by autotts serve", param=key)
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    if type(stream) is not bool:
        raise RequestError("'stream' must be true or false", param="stream")
    question = last_user_message(body.get("messages"))
    spec, options = _overrides(body.get("autotts"), config)
    return ChatRequest(question, question_id(question), spec, options, stream)


def last_user_message(messages: Any) -> str:
    """The content of the last ``user`` message: a string, or text parts joined by lines."""
    if not isinstance(messages, list) or not messages:
        raise RequestError("'messages' must be a non-empty list", param="messages")
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    if not users:
        raise RequestError(
            "there is no user message: the question is its content", param="messages"
        )
    content = users[-1].get("content")
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise RequestError(
                    f"only text content is supported (the user message has a {kind!r} part)",
                    param="messages",
                )
            if not isinstance(part.get("text"), str):
                raise RequestError("a text part needs a string 'text'", param="messages")
            texts.append(part["text"])
        content = "\n".join(texts)
    if not isinstance(content, str):
        raise RequestError("the user message's content must be a string or text parts")
    if not content.strip():
        raise RequestError("the user message is empty", param="messages")
    return content


def _overrides(given: Any, config: ServeConfig) -> tuple[ControllerSpec, LiveOptions]:
    """The server's controller and options with the request's ``autotts`` object applied."""
    if given is None:
        return config.spec, config.options
    if not isinstance(given, dict):
        raise RequestError("'autotts' must be an object", param="autotts")
    unknown = sorted(set(given) - set(OVERRIDES))
    if unknown:
        raise RequestError(
            f"unknown autotts key(s) {', '.join(map(repr, unknown))} "
            f"(known: {', '.join(OVERRIDES)})",
            param="autotts",
        )
    spec = config.spec
    name = given.get("controller")
    if name is not None and name != spec.spec:
        spec = ControllerSpec(_registered_name(name))  # its own defaults: params are per class
    beta = _number(given, "beta", 0.0, 1.0)
    takes = uses_beta(spec.spec)
    if beta is not None and takes is False:
        raise RequestError(
            f"autotts.beta: controller {spec.spec!r} takes no beta", param="autotts.beta"
        )
    if beta is None and takes and spec.beta is None:
        beta = config.spec.beta if config.spec.beta is not None else DEFAULT_BETA
    if beta is not None:
        spec = spec.with_beta(beta)
    try:
        make_solver(spec)
    except ControllerError as e:
        raise RequestError(f"autotts: {e}", param="autotts") from None
    options = config.options
    chains = given.get("chains")
    if chains is not None:
        if type(chains) is not int or not 1 <= chains <= config.max_chains:
            raise RequestError(
                f"autotts.chains must be a whole number from 1 to {config.max_chains} "
                f"(got {chains!r})",
                param="autotts.chains",
            )
        options = replace(options, n_chains=chains)
    if "budget" in given:
        options = replace(options, budget=_budget(given["budget"], config.options.budget))
    return spec, options


def _registered_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise RequestError("autotts.controller must be a name", param="autotts.controller")
    if name.endswith(".py") or "/" in name or ":" in name or "\\" in name:
        raise RequestError(
            f"autotts.controller {name!r}: give a registered controller name (controller "
            "files are the server operator's choice, never a client's)",
            param="autotts.controller",
        )
    names = registered()
    if name not in names:
        raise RequestError(
            f"unknown controller {name!r} (registered: {', '.join(sorted(names))})",
            param="autotts.controller",
        )
    return name


def _number(given: dict[str, Any], key: str, low: float, high: float) -> float | None:
    value = given.get(key)
    if value is None:
        return None
    if type(value) not in (int, float) or not math.isfinite(value) or not low <= value <= high:
        raise RequestError(
            f"autotts.{key} must be a number in [{low:g}, {high:g}] (got {value!r})",
            param=f"autotts.{key}",
        )
    return float(value)


def _budget(value: Any, cap: float | None) -> float | None:
    if value is None:
        if cap is not None:
            raise RequestError(
                f"autotts.budget: this server caps every request at {cap:g} tokens",
                param="autotts.budget",
            )
        return None
    if type(value) not in (int, float) or not math.isfinite(value) or value <= 0:
        raise RequestError(
            f"autotts.budget must be a number of tokens > 0 (got {value!r})",
            param="autotts.budget",
        )
    if cap is not None and value > cap:
        raise RequestError(
            f"autotts.budget {value:g} is more than this server allows ({cap:g})",
            param="autotts.budget",
        )
    return float(value)


# ----------------------------------------------------------------- responses
def message_content(text: str | None, answer: str | None) -> str:
    """The assistant message: the text of the chain that gave the answer, then the answer in
    a box unless that text already ends with it."""
    if not has_answer(answer):
        return NO_ANSWER
    assert answer is not None
    text = (text or "").strip()
    if _ends_with_box(text, answer):
        return text
    box = f"**Final Answer**\n\\boxed{{{answer}}}"
    return f"{text}\n\n{box}" if text else box


def has_answer(answer: str | None) -> bool:
    return answer is not None and answer not in ("", ERR)


def _ends_with_box(text: str, answer: str) -> bool:
    raw = extract_final(text)
    if raw is None or normalize_answer(raw) != answer:
        return False
    return text.rstrip(" \n$.\\])").endswith(f"\\boxed{{{raw}}}")


def error_body(
    message: str, type: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def completion_body(
    rid: str,
    created: int,
    model: str,
    content: str,
    finish_reason: str,
    usage: dict[str, int],
    extra: dict[str, Any],
) -> dict[str, Any]:
    """A ``chat.completion`` object, with the run's figures under ``autotts``."""
    return {
        "id": rid,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": usage,
        "autotts": extra,
    }


def stream_chunks(completion: dict[str, Any]) -> list[dict[str, Any]]:
    """A completion as ``chat.completion.chunk`` objects: the role, the content, then the
    finish reason with the usage (and the ``autotts`` figures)."""
    choice = completion["choices"][0]
    head = {k: completion[k] for k in ("id", "created", "model")}
    head["object"] = "chat.completion.chunk"

    def chunk(delta: dict[str, Any], reason: str | None, **more: Any) -> dict[str, Any]:
        return {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": reason}], **more}

    return [
        chunk({"role": "assistant", "content": ""}, None),
        chunk({"content": choice["message"]["content"]}, None),
        chunk(
            {}, choice["finish_reason"], usage=completion["usage"], autotts=completion["autotts"]
        ),
    ]


def models_body(model: str, created: int) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": model, "object": "model", "created": created, "owned_by": "autotts"}],
    }
