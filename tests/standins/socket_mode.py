"""A Socket Mode stand-in: the WebSocket end Slack's apps.connections.open hands out, on loopback
(aiohttp, which the kubernetes client already brings). It greets the client, sends envelopes, and
records the client's acknowledgements."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import WSMsgType, web


class SocketModeStandin:
    def __init__(self) -> None:
        self.acks: list[dict[str, Any]] = []
        self.connected = threading.Event()
        self._outbox: asyncio.Queue[dict[str, Any]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def send(self, envelope: dict[str, Any]) -> None:
        assert self._loop is not None and self._outbox is not None
        self._loop.call_soon_threadsafe(self._outbox.put_nowait, envelope)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1, "debug_info": {"host": "standin"}}))
        self.connected.set()
        assert self._outbox is not None

        async def pump() -> None:
            assert self._outbox is not None
            while True:
                await ws.send_str(json.dumps(await self._outbox.get()))

        sender = asyncio.ensure_future(pump())
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self.acks.append(json.loads(message.data))
        sender.cancel()
        return ws


@contextmanager
def socket_mode_standin() -> Iterator[tuple[str, SocketModeStandin]]:
    """Yields the ws:// URL for apps.connections.open to hand out, and the stand-in."""
    standin = SocketModeStandin()
    ready = threading.Event()
    state: dict[str, Any] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        standin._loop = loop
        standin._outbox = asyncio.Queue()
        app = web.Application()
        app.router.add_get("/link", standin.handle)
        runner = web.AppRunner(app)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        state["port"] = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        state["runner"] = runner
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield f"ws://127.0.0.1:{state['port']}/link", standin
    finally:
        assert standin._loop is not None
        standin._loop.call_soon_threadsafe(standin._loop.stop)
        thread.join(5)
