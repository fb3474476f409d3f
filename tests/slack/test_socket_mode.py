"""Socket Mode through a WebSocket stand-in on loopback: the bot connects with its app token, receives a
pasted error as an events_api envelope, acknowledges it, and answers in the thread."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from bot.config import Settings, SlackSettings, StoreSettings
from bot.wiring import App, ClusterChoice
from tests.slack.test_bot import PASTE
from tests.standins.slack import SOCKET_URL, slack_standin
from tests.standins.socket_mode import socket_mode_standin


def test_socket_mode_receives_acknowledges_and_answers(tmp_path: Path, knowledge_settings) -> None:
    with slack_standin() as (api_url, calls), socket_mode_standin() as (ws_url, socket):
        SOCKET_URL["url"] = ws_url
        slack = SlackSettings(bot_token="xoxb-test", app_token="xapp-test", api_url=api_url)
        settings = Settings(knowledge=knowledge_settings, slack=slack, store=StoreSettings(path=tmp_path / "db"))
        app = App(settings, ClusterChoice(sim="healthy"))
        stop = threading.Event()
        serving = threading.Thread(target=app.serve, kwargs={"port": 0, "stop": stop}, daemon=True)
        serving.start()
        try:
            assert socket.connected.wait(60), "the bot never opened the WebSocket"
            event = {"type": "message", "channel": "C1", "user": "U1", "text": PASTE, "ts": "1700000000.000900"}
            envelope = {
                "envelope_id": "env-1",
                "type": "events_api",
                "accepts_response_payload": False,
                "payload": {"type": "event_callback", "team_id": "T1", "event_id": "EvS1", "event": event},
            }
            socket.send(envelope)
            posted = calls.wait_for("chat.postMessage", seconds=30)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not socket.acks:
                time.sleep(0.05)
        finally:
            stop.set()
            serving.join(15)
            app.close()
            SOCKET_URL.clear()
        assert {"envelope_id": "env-1"} in [{k: v for k, v in a.items() if k == "envelope_id"} for a in socket.acks]
        assert calls.of("apps.connections.open")
        assert len(posted) == 1 and posted[0]["thread_ts"] == "1700000000.000900"
        assert "ipam-exhausted" in json.dumps(posted[0])
