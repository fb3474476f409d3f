"""HTTP mode: Slack's requests at /slack/events (signatures verified by bolt), /healthz, /readyz and
/metrics (Prometheus)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


Metrics = Callable[[], tuple[bytes, str]]  # the exposition and its content type


def wsgi_app(
    app: App | None, ready: Callable[[], bool], metrics: Metrics | None = None
) -> Callable[..., Iterable[bytes]]:
    """/healthz answers as soon as the server runs; /readyz and /slack/events once the bolt app is set
    (the index is loaded and Slack's auth.test passed), 503 until then; /metrics at once."""
    handlers: list[SlackRequestHandler] = [SlackRequestHandler(app)] if app is not None else []

    def set_app(new: App) -> None:
        handlers[:] = [SlackRequestHandler(new)]

    def route(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if path == "/readyz":
            ok = bool(handlers) and ready()
            start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"ready\n" if ok else b"not ready\n"]
        if path == "/metrics" and metrics is not None:
            body, content_type = metrics()
            start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
            return [body]
        if path == "/slack/events":
            if not handlers:
                start_response("503 Service Unavailable", [("Content-Type", "text/plain"), ("Retry-After", "5")])
                return [b"starting\n"]
            return handlers[0](environ, start_response)  # type: ignore[no-any-return]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    route.set_app = set_app  # type: ignore[attr-defined]
    return route


class HttpServer:
    """The WSGI server in a thread of its own; port 0 picks a free port."""

    def __init__(
        self,
        app: App | None,
        *,
        port: int,
        ready: Callable[[], bool],
        host: str = "0.0.0.0",
        metrics: Metrics | None = None,
    ) -> None:
        self.route = wsgi_app(app, ready, metrics)
        self.server = make_server(host, port, self.route, _ThreadingWSGIServer, _QuietHandler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="cnibot-http")

    def set_app(self, app: App) -> None:
        self.route.set_app(app)  # type: ignore[attr-defined]

    def start(self) -> HttpServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve_bot(
    make_bot: Callable[[], Any],
    *,
    app_token: str,
    port: int,
    stop: threading.Event | None = None,
    metrics: Metrics | None = None,
    background: Callable[[Any], Callable[[], None]] | None = None,
) -> int:
    """HTTP on `port` (Slack's requests, the health endpoints and /metrics), plus Socket Mode when
    `app_token` is set; until `stop` is set. /healthz answers while `make_bot` loads the index and checks
    the token; /readyz and Slack's requests once it has. `background(bot)` starts work that runs beside
    the listeners (the report schedule) and returns how to stop it."""
    import logging

    log = logging.getLogger(__name__)
    server = HttpServer(None, port=port, ready=lambda: True, metrics=metrics).start()
    try:
        bot = make_bot()
    except BaseException:
        server.stop()
        raise
    server.set_app(bot.app)
    socket_mode = None
    if app_token:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        socket_mode = SocketModeHandler(bot.app, app_token)
        socket_mode.connect()  # type: ignore[no-untyped-call]
    mode = "Socket Mode" if socket_mode else f"HTTP mode, Slack requests at :{server.port}/slack/events"
    log.info("cnibot serving (%s; health at :%d/healthz)", mode, server.port)
    stop_background = None
    try:
        stop_background = background(bot) if background is not None else None
        (stop or threading.Event()).wait()
    finally:
        if stop_background is not None:
            stop_background()
        if socket_mode is not None:
            socket_mode.close()  # type: ignore[no-untyped-call]
        server.stop()
    return 0
