"""`cnibot serve` as a user starts it: its own process, HTTP mode, health endpoints, one-line failures."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.standins.apiserver import free_port
from tests.standins.slack import slack_standin

ROOT = Path(__file__).resolve().parents[2]


def env_for(api_url: str, tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CNIBOT_", "SLACK_")) and k != "KUBECONFIG"}
    return clean | {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": api_url,
        "CNIBOT_DB": str(tmp_path / "cnibot.db"),
    }


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def test_serve_answers_health_then_ready_and_verifies_signatures(tmp_path: Path, knowledge_settings) -> None:
    port = free_port()
    with slack_standin() as (api_url, calls):
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--port", str(port), "--sim", "healthy"],
            cwd=ROOT,
            env=env_for(api_url, tmp_path),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and status(f"http://127.0.0.1:{port}/readyz") != 200:
                assert bot.poll() is None, bot.stderr.read().decode() if bot.stderr else ""
                time.sleep(0.2)
            assert status(f"http://127.0.0.1:{port}/healthz") == 200
            assert status(f"http://127.0.0.1:{port}/readyz") == 200
            assert calls.of("auth.test")  # the token was checked at start
            request = urllib.request.Request(f"http://127.0.0.1:{port}/slack/events", data=b"{}", method="POST")
            try:
                urllib.request.urlopen(request, timeout=5)
                code = 200
            except urllib.error.HTTPError as exc:
                code = exc.code
            assert code == 401  # unsigned
        finally:
            bot.terminate()
            bot.wait(15)


def test_serve_with_a_token_slack_refuses_is_one_line_and_exit_2(tmp_path: Path) -> None:
    env = env_for(f"http://127.0.0.1:{free_port()}/api/", tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", str(free_port()), "--sim", "healthy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=180,
    )
    assert done.returncode == 2
    err = done.stderr.decode().strip().splitlines()
    assert err[-1].startswith("cnibot: error: cannot reach Slack at http://127.0.0.1:") and "SLACK_BOT_TOKEN" in err[-1]
    assert "Traceback" not in done.stderr.decode()
