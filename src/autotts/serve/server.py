"""A running ``autotts serve``: the engine, the metrics, the app and a uvicorn server on a
socket bound and listening before anything runs, so the address (port 0 picks a free one) is
known and connections are accepted (queued) from the start: nobody waits for a start-up.

``Service.run()`` serves in the foreground (the CLI: uvicorn handles Ctrl-C and SIGTERM, and
every run still going is cancelled at once, so the shutdown waits only for the requests
already at the upstream). ``start()``/``stop()`` (or ``with``) serve from a thread (tests,
benchmarks, embedding).
"""

from __future__ import annotations

import socket
import threading
from types import FrameType
from typing import Any

import uvicorn

from ..live import ModelClient, SamplingSettings
from .app import create_app
from .engine import Engine, default_max_active
from .metrics import Metrics
from .protocol import ServeConfig


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` and listening (OSError when it cannot be)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class _Uvicorn(uvicorn.Server):
    """uvicorn's server, telling the engine to stop as soon as a stop signal arrives."""

    def __init__(self, config: uvicorn.Config, engine: Engine) -> None:
        super().__init__(config)
        self.engine = engine

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.engine.stop()  # sets a plain attribute: safe in a signal handler
        super().handle_exit(sig, frame)


class Service:
    """See the module docstring. ``max_active`` defaults to
    :func:`~autotts.serve.engine.default_max_active`."""

    def __init__(
        self,
        client: ModelClient,
        settings: SamplingSettings,
        config: ServeConfig,
        *,
        concurrency: int,
        max_active: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        access_log: bool = False,
    ) -> None:
        self.config = config
        self.metrics = Metrics()
        if max_active is None:
            max_active = default_max_active(concurrency, config.options.concurrency)
        self.engine = Engine(
            client,
            settings,
            concurrency=concurrency,
            max_active=max_active,
            on_outcome=self.metrics.record,
        )
        self.app = create_app(self.engine, config, self.metrics)
        try:
            self.socket = listen(host, port)
        except OSError:
            self.engine.close()
            raise
        self.host = host
        self.port: int = self.socket.getsockname()[1]
        uv = uvicorn.Config(
            self.app,
            log_level="info" if access_log else "warning",
            access_log=access_log,
            lifespan="off",
        )
        self.server = _Uvicorn(uv, self.engine)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL clients use (``http://HOST:PORT/v1``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    def run(self) -> None:
        """Serve until stopped (a signal); then cancel what runs and free the pools."""
        try:
            self.server.run(sockets=[self.socket])
        finally:
            self._close()

    def start(self) -> Service:
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.engine.stop()
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=60)
        self._close()

    def _close(self) -> None:
        self.engine.close()
        self.socket.close()

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
