"""SimCluster: the simulated apiserver on loopback (plain HTTP, bearer token), with a request log and the
fault injection tests need (RBAC refusals, slowness, a bad token)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.sim.api import Api, Request, Response
from bot.sim.kubeconfig import REMEDIATOR_CONTEXT, kubeconfig_text
from bot.sim.model import Scenario


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: str
    status: int
    time: float = field(default=0.0, compare=False)  # epoch seconds when the request arrived
    duration_ms: float = field(default=0.0, compare=False)
    writer: bool = field(default=False, compare=False)  # sent with the remediator's token

    @property
    def dry_run(self) -> bool:
        return "dryRun=All" in self.query


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sim: SimCluster

    def __init__(self, address: tuple[str, int], sim: SimCluster) -> None:
        self.sim = sim
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        with self.sockets_lock:
            self.open_sockets.add(sock)
        return sock, address

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Drops kept-alive client connections, so a stopped cluster really stops answering."""
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects
    disable_nagle_algorithm = True  # headers and body go out as two writes: without this, +40 ms per answer
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _serve(self) -> None:
        sim = self.server.sim
        arrived, started = time.time(), time.perf_counter()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        if sim.delay_seconds:
            sim.stopping.wait(sim.delay_seconds)
        request = Request(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        response = sim.api.handle(request)
        as_writer = sim.api.is_writer(request)
        # recorded before answering, so a caller that has its answer always finds the record
        sim.record(
            RequestRecord(
                self.command,
                split.path,
                split.query,
                response.status,
                arrived,
                (time.perf_counter() - started) * 1000,
                writer=as_writer,
            )
        )
        self._send(response)

    def _send(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.send_header("Cache-Control", "no-cache, private")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its read timeout fired)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: every request is in SimCluster.requests (and the JSON Lines log, if asked for)."""


class SimCluster:
    """A simulated Kubernetes apiserver serving `scenario` on http://host:port (port 0: any free port).

    allow_writes None takes the scenario's setting. `forbidden` holds (verb, resource) pairs refused with
    403, e.g. ("list", "pods") or ("get", "pods/log"); `delay_seconds` delays every answer; `unauthorized`
    answers 401 to everything. Writes change `scenario` in place."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "sim-token",
        allow_writes: bool | None = None,
        forbidden: frozenset[tuple[str, str]] = frozenset(),
        delay_seconds: float = 0.0,
        unauthorized: bool = False,
        log_path: Path | None = None,
        writer_token: str = "",
        writer_user: str = "",
    ) -> None:
        self.scenario = scenario
        self.writer_token = writer_token
        self.host = host
        self.port = port
        self.token = token
        self.delay_seconds = delay_seconds
        self.log_path = log_path
        self.requests: list[RequestRecord] = []
        self.stopping = threading.Event()
        self.api = Api(
            scenario,
            token=token,
            allow_writes=scenario.allow_writes if allow_writes is None else allow_writes,
            forbidden=frozenset(forbidden),
            unauthorized=unauthorized,
            writer_token=writer_token,
            writer_user=writer_user,
        )
        self._records_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulated cluster is not started; call start() first")
        return f"http://{self.host}:{self._server.server_address[1]}"

    @property
    def allow_writes(self) -> bool:
        return self.api.allow_writes

    def record(self, entry: RequestRecord) -> None:
        with self._records_lock:
            self.requests.append(entry)
            if self.log_path is not None:
                line = {
                    "time": entry.time,
                    "method": entry.method,
                    "path": entry.path,
                    "query": entry.query,
                    "status": entry.status,
                    "duration_ms": round(entry.duration_ms, 3),
                }
                with self.log_path.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(line) + "\n")

    def start(self) -> SimCluster:
        """Binds and serves in a daemon thread; returns self."""
        if self._server is not None:
            return self
        self.stopping.clear()
        self._server = _Server((self.host, self.port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"cnibot-sim-{self.scenario.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self.stopping.set()  # cuts injected delays short
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> SimCluster:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def write_kubeconfig(self, path: Path, *, context: str = "cnibot-sim") -> Path:
        """A kubeconfig (mode 0600: it holds the token) whose current context points at this cluster; with a
        writer token, a second context `REMEDIATOR_CONTEXT` carries it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        extra = {REMEDIATOR_CONTEXT: self.writer_token} if self.writer_token else {}
        path.write_text(kubeconfig_text(self.url, self.token, context, extra), encoding="utf-8")
        path.chmod(0o600)
        return path

    def serve_forever(self) -> None:
        """Serves in the foreground until Ctrl-C (KeyboardInterrupt), then stops cleanly."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
