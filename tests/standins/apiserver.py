"""Misbehaving apiservers on loopback: refusing, silent, answering garbage, untrusted TLS, or answering
only the first request. Each binds port 0 and stops by itself at teardown."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PING_PATH = "/api/v1/namespaces/kube-system"


def write_kubeconfig(path: Path, server: str, *, ca_file: Path | None = None) -> Path:
    cluster: dict[str, Any] = {"server": server}
    if ca_file is not None:
        cluster["certificate-authority"] = str(ca_file)
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Behaviour(BaseHTTPRequestHandler):
    mode = "garbage"
    release: threading.Event
    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        if self.mode == "garbage":
            body = b"<!DOCTYPE html><html><body>Please log in to the corporate proxy</body></html>"
            self._send(200, body, "text/html")
        elif self.mode == "ping-then-hang" and self.path.split("?")[0] == PING_PATH:
            self._send(200, json.dumps({"kind": "Namespace", "metadata": {"name": "kube-system"}}).encode())
        elif self.mode == "throttle":
            body = json.dumps({"kind": "Status", "code": 429, "message": "too many requests"}).encode()
            self.send_response(429)
            self.send_header("Retry-After", "7")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:  # hang: accept the request and never answer
            self.release.wait(60)

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def http_standin(mode: str, *, tls: ssl.SSLContext | None = None) -> Iterator[tuple[str, list[str]]]:
    """An HTTP(S) server on loopback behaving as `mode`: garbage, hang, ping-then-hang or throttle."""
    release = threading.Event()
    requests: list[str] = []
    handler = type("Handler", (_Behaviour,), {"mode": mode, "release": release, "requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if tls else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}", requests
    finally:
        release.set()
        server.shutdown()
        server.server_close()


@contextmanager
def silent_listener() -> Iterator[str]:
    """Accepts TCP connections and never says a byte: a TLS client waits forever for the handshake."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        sock.close()
