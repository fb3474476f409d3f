"""A Slack Web API stand-in on loopback, as bolt-python's own tests use one: it answers the methods the
bot calls, records every call, and can answer 429 with Retry-After to test the client's retries."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT_USER = "UCNIBOT"
SOCKET_URL: dict[str, str] = {}  # what apps.connections.open hands out (set by the Socket Mode test)


@dataclass
class Calls:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    throttle: dict[str, int] = field(default_factory=dict)  # method -> how many 429s to answer first
    lock: threading.Lock = field(default_factory=threading.Lock)
    base: str = ""  # the stand-in's /api/ base URL; response_url posts go to base + "respond"

    def of(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [params for name, params in self.calls if name == method]

    def wait_for(self, method: str, count: int = 1, seconds: float = 20) -> list[dict[str, Any]]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = self.of(method)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        return self.of(method)


def _answer(method: str, params: dict[str, Any], base: str = "") -> dict[str, Any]:
    if method == "auth.test":
        return {"ok": True, "team_id": "T1", "user_id": BOT_USER, "bot_id": "BCNIBOT", "user": "cnibot", "team": "t"}
    if method == "apps.connections.open":
        return {"ok": True, "url": SOCKET_URL.get("url", "")}
    if method == "files.getUploadURLExternal":
        return {"ok": True, "upload_url": f"{base}upload/F1", "file_id": "F1"}
    if method == "files.completeUploadExternal":
        return {"ok": True, "files": [{"id": "F1", "title": params.get("files")}]}
    if method == "chat.getPermalink":
        return {"ok": True, "permalink": f"https://example.slack.com/archives/{params.get('channel')}/p1"}
    if method == "chat.postMessage":
        return {"ok": True, "channel": params.get("channel"), "ts": f"{time.time():.6f}"}
    return {"ok": True}


@contextmanager
def slack_standin() -> Iterator[tuple[str, Calls]]:
    """Yields the base URL (for SLACK_API_URL; /respond takes response_url posts) and the call log."""
    calls = Calls()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body_bytes = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            raw = body_bytes.decode(errors="replace")  # a file upload may be binary (a PNG chart)
            if "json" in (self.headers.get("Content-Type") or ""):
                params = json.loads(raw or "{}")
            else:
                params = {k: v[0] for k, v in parse_qs(raw).items()}
            method = "upload" if "/upload/" in self.path else self.path.rsplit("/", 1)[-1]
            if method == "upload":
                params = {"content": raw, "bytes": body_bytes}
            with calls.lock:
                throttled = calls.throttle.get(method, 0) > 0
                if throttled:
                    calls.throttle[method] -= 1
                calls.calls.append((method if not throttled else f"{method} (429)", params))
            if throttled:
                body = json.dumps({"ok": False, "error": "ratelimited"}).encode()
                self.send_response(429)
                self.send_header("Retry-After", "1")
            else:
                host, port = self.server.server_address[:2]
                body = json.dumps(_answer(method, params, f"http://{host}:{port}/api/")).encode()
                self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    calls.base = f"http://127.0.0.1:{server.server_address[1]}/api/"
    try:
        yield calls.base, calls
    finally:
        server.shutdown()
        server.server_close()
