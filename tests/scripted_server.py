"""A scripted OpenAI-compatible HTTP server on 127.0.0.1, for tests of code that talks to LLMs.

Tests hand it one handler per endpoint; a handler takes the request's JSON body and returns
either a JSON-able dict (sent with status 200) or a :class:`Reply` for anything else: an HTTP
error, a body that is not JSON, a slow answer. Every request is recorded (path and body), so a
test can assert on exactly what the client sent::

    def chat(body):
        return chat_reply("```python\\nprint(1)\\n```")

    with ScriptedServer(chat=chat) as server:
        client = openai.OpenAI(base_url=server.url, api_key="test")
        ...
        assert "held-out" not in server.requests[0].body["messages"][0]["content"]

Faults can also be queued in front of the handler: ``server.fail_next(Reply(status=429))``.
The server binds port 0 (a free port) on the loopback interface only, and ``stop()`` (or
leaving the ``with`` block) shuts it down and joins its thread.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """A non-default answer: ``status``, a JSON body or raw bytes, after ``delay`` seconds."""

    status: int = 200
    json: Any = None
    raw: bytes | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.json is not None:
            return json.dumps(self.json).encode()
        return json.dumps({"error": {"message": f"scripted status {self.status}"}}).encode()


@dataclass(frozen=True)
class Request:
    path: str
    body: Any


Handler = Callable[[Any], "dict[str, Any] | Reply"]


def chat_reply(
    content: str, *, prompt_tokens: int = 100, completion_tokens: int = 50, model: str = "m"
) -> dict[str, Any]:
    """A /v1/chat/completions response body carrying ``content``."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def completion_reply(
    text: str,
    *,
    prompt_tokens: int,
    completion_tokens: int,
    finish_reason: str = "length",
    model: str = "m",
) -> dict[str, Any]:
    """A /v1/completions response body carrying ``text``."""
    return {
        "id": "cmpl-test",
        "object": "text_completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "text": text, "finish_reason": finish_reason, "logprobs": None}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class ScriptedServer:
    """See the module docstring. ``url`` ends in ``/v1``, ready for ``openai.OpenAI(base_url=)``."""

    def __init__(
        self,
        *,
        chat: Handler | None = None,
        completions: Handler | None = None,
        models: list[str] | None = None,
        tokenize: Handler | None = None,
        detokenize: Handler | None = None,
    ) -> None:
        self.handlers: dict[str, Handler | None] = {
            "/v1/chat/completions": chat,
            "/v1/completions": completions,
            "/tokenize": tokenize,  # beside /v1, as vLLM and SGLang serve them
            "/detokenize": detokenize,
        }
        self.models = models or ["m"]
        self.requests: list[Request] = []
        self._faults: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def fail_next(self, *replies: Reply) -> None:
        """Answer the next requests (any endpoint) with these replies, in order."""
        with self._lock:
            self._faults.extend(replies)

    def start(self) -> ScriptedServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )  # stop() waits for the next poll
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _respond(self, path: str, body: Any) -> Reply:
        with self._lock:
            self.requests.append(Request(path, body))
            fault = self._faults.popleft() if self._faults else None
        if fault is not None:
            return fault
        if path == "/v1/models":
            return Reply(
                json={"object": "list", "data": [{"id": m, "object": "model"} for m in self.models]}
            )
        handler = self.handlers.get(path)
        if handler is None:
            return Reply(status=404)
        out = handler(body)
        return out if isinstance(out, Reply) else Reply(json=out)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out as two writes: without TCP_NODELAY the second waits
            # for the client's delayed ACK (40 ms a request)
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _serve(self, body: Any) -> None:
                reply = server._respond(self.path, body)
                if reply.delay:
                    # sleep in small steps so stop() is not held up by a slow scripted reply
                    end = time.monotonic() + reply.delay
                    while time.monotonic() < end and not server._stopping.is_set():
                        time.sleep(0.02)
                data = reply.body()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def do_GET(self) -> None:
                self._serve(None)

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                try:
                    body = json.loads(raw) if raw else None
                except json.JSONDecodeError:
                    body = raw.decode(errors="replace")
                self._serve(body)

        return _H
