"""`cnibot console` fed by a pipe, as a user scripts it: commands run as commands, pastes are matched,
and it says the same as the CLI does for the same request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.console import split_messages
from bot.services.conversation import is_command, is_command_attempt

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True, scope="module")
def _index(knowledge_settings) -> None:
    """Build the index once up front."""


def cnibot(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CNIBOT_") and k != "KUBECONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, cwd=ROOT, env=env, timeout=180
    )


def test_piped_command_lines_run_as_commands_not_as_one_paste() -> None:
    stdin = b"no IPs available in block\nprobe all\nshow ipam-exhausted\nquit\nlist\n"
    done = cnibot("console", "--sim", "ipam-exhausted", stdin=stdin)
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert "Runbook: ipam-exhausted" in out  # the paste
    assert out.count("cluster: SIMULATED cluster") == 1 and "cni.logs" in out  # probe all
    assert "runbook show ipam-exhausted --full" in out  # show, in its chat-sized form
    assert "mtu-mismatch" not in out.split("--full")[-1]  # quit stopped before `list`


def test_every_probe_answer_says_the_cluster_is_simulated() -> None:
    done = cnibot("console", "--sim", "mtu-mismatch", stdin=b"probe mtu\nprobe ipam\nprobe for mtu-mismatch\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().count("SIMULATED cluster, scenario 'mtu-mismatch'") == 3


def test_the_console_and_the_cli_give_the_same_answer() -> None:
    paste = "calico/node is not ready: BIRD is not ready: BGP not established with 10.0.0.12"
    cli = cnibot("match", paste)
    console = cnibot("console", stdin=paste.encode() + b"\n")
    assert cli.returncode == console.returncode == 0
    assert cli.stdout.decode().strip() and cli.stdout.decode() in console.stdout.decode()
    cli_probe = cnibot("probe", "config.mtu", "--sim", "mtu-mismatch")
    console_probe = cnibot("console", "--sim", "mtu-mismatch", stdin=b"probe config.mtu\n")
    strip_port = [line for line in cli_probe.stdout.decode().splitlines() if not line.startswith("cluster:")]
    assert strip_port and "\n".join(strip_port) in console_probe.stdout.decode()


def test_report_ipam_in_the_console_reports_and_keeps_history(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CNIBOT_") and k != "KUBECONFIG"}
    env |= {"HOME": str(tmp_path), "CNIBOT_DB": str(tmp_path / "cnibot.db")}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "console", "--sim", "ipam-exhausted"],
        input=b"report ipam\nreport ipam\n",
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert out.count("IPAM usage report: SIMULATED cluster 'ipam-exhausted'") == 2
    assert "history: 0 earlier snapshot(s)" in out and "history: 1 earlier snapshot(s)" in out


@pytest.mark.parametrize(
    ("line", "command", "attempt"),
    [
        ("report ipam", True, True),
        ("report ipam usage is high", False, False),
        ("probe all", True, True),
        ("probe for mtu-mismatch", True, True),
        ("probe ipam", True, True),
        ("show ipam-exhausted", True, True),
        ("quit", True, True),
        ("probe failed: connection refused", False, False),
        ("list of pods stuck in ContainerCreating", False, False),
        ("show me why pods have no IP", False, False),
        ("Readiness probe failed", False, False),
        ('probe "calico-node" is failing', False, False),
        # short lines shaped like a command that name nothing: the command's error, not a paste's answer
        ("probe ipam.usag", False, True),
        ("show Ipam-Exhausted", False, True),
        ("report ipm", False, True),
        ("approve 12 as alice", False, True),
        ("fix Release-Leaked pool=default as bob", False, True),
    ],
)
def test_only_exact_command_shapes_are_commands_and_near_ones_are_attempts(
    line: str, command: bool, attempt: bool
) -> None:
    assert is_command(line) is command
    assert is_command_attempt(line) is attempt


def test_a_mistyped_command_gets_its_error_with_a_likely_fix_not_a_runbook() -> None:
    typed = b"probe ipam.usag\nshow Ipam-Exhausted\nreport ipm\nprobe for mtu-mismach\nreject 12 as bob\n"
    done = cnibot("console", "--sim", "ipam-exhausted", stdin=typed)
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert "error: no probe 'ipam.usag' (did you mean ipam.usage?)" in out
    assert "id ipam-exhausted" in out  # `show` takes the id in any case
    assert "error: no report 'ipm'" in out
    assert "error: no runbook 'mtu-mismach' (did you mean mtu-mismatch?)" in out
    assert "Runbook:" not in out and "Confidence:" not in out  # none was matched as a paste


def test_messages_split_at_commands_and_blank_lines() -> None:
    lines = ["E1 first line\n", "E1 second line\n", "probe all\n", "E2\n", "\n", "E3\n"]
    assert list(split_messages(lines)) == ["E1 first line\nE1 second line", "probe all", "E2", "E3"]
