"""HTTP mode: Slack's requests at /slack/events (signatures verified by bolt), /healthz and /readyz."""

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


def wsgi_app(app: App, ready: Callable[[], bool]) -> Callable[..., Iterable[bytes]]:
    slack = SlackRequestHandler(app)

    def route(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if path == "/readyz":
            ok = ready()
            start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"ready\n" if ok else b"not ready\n"]
        if path == "/slack/events":
            return slack(environ, start_response)  # type: ignore[no-any-return]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    return route


class HttpServer:
    """The WSGI server in a thread of its own; port 0 picks a free port."""

    def __init__(self, app: App, *, port: int, ready: Callable[[], bool], host: str = "0.0.0.0") -> None:
        self.server = make_server(host, port, wsgi_app(app, ready), _ThreadingWSGIServer, _QuietHandler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="cnibot-http")

    def start(self) -> HttpServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve_bot(bot: Any, *, app_token: str, port: int, stop: threading.Event | None = None) -> int:
    """HTTP on `port` (Slack's requests and the health endpoints), plus Socket Mode when `app_token`
    is set; until `stop` is set."""
    import logging

    log = logging.getLogger(__name__)
    server = HttpServer(bot.app, port=port, ready=lambda: True).start()
    socket_mode = None
    if app_token:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        socket_mode = SocketModeHandler(bot.app, app_token)
        socket_mode.connect()  # type: ignore[no-untyped-call]
    mode = "Socket Mode" if socket_mode else f"HTTP mode, Slack requests at :{server.port}/slack/events"
    log.info("cnibot serving (%s; health at :%d/healthz)", mode, server.port)
    try:
        (stop or threading.Event()).wait()
    finally:
        if socket_mode is not None:
            socket_mode.close()  # type: ignore[no-untyped-call]
        server.stop()
    return 0
