"""The Starlette application of ``autotts serve``: the routes, and the wait for a run that
notices when its client goes away.

The event loop only parses, waits and answers: every controller runs on the engine's worker
threads. While a chat request's run is under way its handler also listens for the ASGI
``http.disconnect`` message (event-driven, no polling); when it comes first the run is
cancelled (see :mod:`.engine`) and counted as ``cancelled``. A streamed answer is computed
first and then sent as server-sent events, so an error is still an HTTP error status.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive

from .engine import DISCONNECTED, Engine, Job, Outcome
from .metrics import Metrics
from .protocol import (
    ChatRequest,
    RequestError,
    ServeConfig,
    completion_body,
    error_body,
    has_answer,
    message_content,
    models_body,
    parse_chat,
    stream_chunks,
)

STATUS = {  # Outcome.status -> (HTTP status, OpenAI error type)
    "upstream_error": (502, "upstream_error"),
    "controller_error": (500, "controller_error"),
    "internal_error": (500, "internal_error"),
}


def create_app(engine: Engine, config: ServeConfig, metrics: Metrics) -> Starlette:
    """The ASGI app serving ``config`` through ``engine``, counting in ``metrics`` what the
    engine does not (it reports each run's outcome itself: ``Engine.on_outcome``)."""
    routes = _Routes(engine, config, metrics)
    return Starlette(
        routes=[
            Route("/v1/chat/completions", routes.chat, methods=["POST"]),
            Route("/v1/models", routes.models, methods=["GET"]),
            Route("/metrics", routes.metrics, methods=["GET"]),
            Route("/health", routes.health, methods=["GET"]),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
    )


class _Routes:
    def __init__(self, engine: Engine, config: ServeConfig, metrics: Metrics) -> None:
        self.engine, self.config, self._metrics = engine, config, metrics
        self.started = int(time.time())

    async def chat(self, request: Request) -> Response:
        with self._metrics.handling():
            try:
                req = parse_chat(await _json(request), self.config)
            except RequestError as e:
                self._metrics.client_error()
                return JSONResponse(e.body(), status_code=e.status)
            job = Job(req.question, req.qid, req.spec, req.options)
            cancel = self.engine.cancel_token()
            work = asyncio.wrap_future(self.engine.submit(job, cancel))
            gone = asyncio.ensure_future(_disconnect(request.receive))
            try:
                both: list[asyncio.Future[Any]] = [work, gone]
                await asyncio.wait(both, return_when=asyncio.FIRST_COMPLETED)
                if gone.done():
                    cancel.set(DISCONNECTED)
                outcome = await work  # after a cancel: once its requests in flight are done
            finally:
                gone.cancel()
            return self._answer(req, outcome)

    async def models(self, request: Request) -> Response:
        return JSONResponse(models_body(self.config.model, self.started))

    async def metrics(self, request: Request) -> Response:
        return Response(self._metrics.render(), media_type=self._metrics.content_type)

    async def health(self, request: Request) -> Response:
        if self.engine.stopping.reason is not None:
            return JSONResponse({"status": "stopping"}, status_code=503)
        return JSONResponse({"status": "ok"})

    def _answer(self, req: ChatRequest, outcome: Outcome) -> Response:
        if outcome.status == "cancelled":
            # nobody reads it after a disconnect (499, as nginx logs it); 503 when stopping
            status = 499 if outcome.error == DISCONNECTED else 503
            body = error_body(f"cancelled: {outcome.error}", "cancelled")
            return JSONResponse(body, status_code=status)
        if outcome.status != "ok":
            status, kind = STATUS[outcome.status]
            prefix = {"upstream_error": "upstream", "controller_error": "controller"}
            message = f"{prefix.get(outcome.status, 'internal error')}: {outcome.error}"
            return JSONResponse(error_body(message, kind), status_code=status)
        completion = self._completion(req, outcome)
        if not req.stream:
            return JSONResponse(completion)
        events = [f"data: {json.dumps(c)}\n\n" for c in stream_chunks(completion)]
        events.append("data: [DONE]\n\n")
        return StreamingResponse(iter(events), media_type="text/event-stream")

    def _completion(self, req: ChatRequest, outcome: Outcome) -> dict[str, Any]:
        r = outcome.result
        assert r is not None
        answer = r.answer if has_answer(r.answer) else None
        usage = {
            "prompt_tokens": outcome.prompt_tokens,
            "completion_tokens": outcome.completion_tokens,
            "total_tokens": outcome.prompt_tokens + outcome.completion_tokens,
        }
        figures = {
            "answer": answer,
            "controller": req.spec.spec,
            "beta": req.spec.beta,
            "chains": req.options.n_chains,
            "budget": req.options.budget,
            "chains_opened": outcome.chains_opened,
            "tokens_charged": r.tokens,
            "tokens_generated": r.generated_tokens,
            "speculative_tokens": r.speculative_tokens,
            "probe_tokens": r.probe_tokens,
            "sequential_tokens": r.sequential_tokens,
            "seconds": round(outcome.seconds, 3),
            "truncated": r.truncated,
        }
        return completion_body(
            f"chatcmpl-{uuid.uuid4().hex}",
            int(time.time()),
            self.config.model,
            message_content(outcome.chain_text, answer),
            "length" if r.truncated else "stop",
            usage,
            figures,
        )


async def _json(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except ValueError:
        raise RequestError("the request body is not JSON") from None


async def _disconnect(receive: Receive) -> None:
    """Return when the client has gone (the body is read: nothing else comes but this)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    kind = "not_found" if exc.status_code == 404 else "invalid_request_error"
    message = f"{request.method} {request.url.path}: {exc.detail}"
    return JSONResponse(error_body(message, kind), status_code=exc.status_code)


async def _internal_error(request: Request, exc: Exception) -> Response:
    message = " ".join(f"internal error: {type(exc).__name__}: {exc}".split())
    return JSONResponse(error_body(message, "internal_error"), status_code=500)
