"""Slack load: `cnibot serve` in HTTP mode as its own process, 50 signed pasted-error events per second for
60 s, each in its own channel, against a Slack Web API stand-in on loopback. Measures how fast every
request is acknowledged, whether every paste is answered in its thread, and the bot's memory over time."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import save, summary
from tests.standins.slack import slack_standin

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-signing-secret"
PASTE = 'Warning  FailedCreatePodSandBox  kubelet  plugin type="calico" failed (add): no IPs available in block'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def send(url: str, n: int) -> tuple[int, float]:
    event = {"type": "message", "channel": f"C{n:05d}", "user": "U1", "text": PASTE, "ts": f"1700000000.{n:06d}"}
    body = json.dumps({"type": "event_callback", "team_id": "T1", "event_id": f"Ev{n}", "event": event}).encode()
    stamp = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}
    started = time.perf_counter()
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status = int(response.status)
    except Exception:
        status = 0
    return status, (time.perf_counter() - started) * 1000


def main(rate: int = 50, seconds: int = 60) -> dict[str, Any]:
    with slack_standin() as (api_url, calls), tempfile.TemporaryDirectory() as scratch:
        port = free_port()
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": api_url,
            "CNIBOT_DB": str(Path(scratch) / "cnibot.db"),
            "CNIBOT_LOG_LEVEL": "WARNING",
        }
        bot = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "cnibot"), "serve", "--port", str(port), "--sim", "ipam-exhausted"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                        break
                except Exception:
                    time.sleep(0.2)
            url = f"http://127.0.0.1:{port}/slack/events"
            send(url, 0)  # warm: the first paste loads the embedding session
            calls.wait_for("chat.postMessage", 1, seconds=30)
            memory = [rss_mib(bot.pid)]
            results: list[tuple[int, float]] = []
            lock = threading.Lock()
            threads = []
            started = time.monotonic()
            for n in range(1, rate * seconds + 1):
                due = started + (n - 1) / rate
                time.sleep(max(0.0, due - time.monotonic()))

                def one(n: int = n) -> None:
                    outcome = send(url, n)
                    with lock:
                        results.append(outcome)

                thread = threading.Thread(target=one, daemon=True)
                thread.start()
                threads.append(thread)
                if n % (rate * 10) == 0:
                    memory.append(rss_mib(bot.pid))
            for thread in threads:
                thread.join(15)
            sent_for = time.monotonic() - started
            answered = calls.wait_for("chat.postMessage", rate * seconds + 1, seconds=120)
            memory.append(rss_mib(bot.pid))
        finally:
            bot.terminate()
            bot.wait(10)
        acked = [ms for status, ms in results if status == 200]
        threads_ok = {p.get("thread_ts") for p in answered}
        result = {
            "rate_per_second": rate,
            "seconds": seconds,
            "sent": len(results),
            "sent_over_seconds": round(sent_for, 1),
            "acknowledged_200": len(acked),
            "ack_ms": summary(acked) | {"p99": round(sorted(acked)[int(len(acked) * 0.99) - 1], 2)} if acked else {},
            "answered_in_thread": len(answered) - 1,
            "distinct_threads_answered": len(threads_ok) - 1,
            "rss_mib_every_10s": [round(m, 1) for m in memory],
        }
        save("slack_load", result)
        return result


if __name__ == "__main__":
    main()
