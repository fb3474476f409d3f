"""Remediation without Slack, as a user scripts it: `cnibot plan` piped and with --json, and the console's
fix / approve / reject against the embedded simulated cluster (which gives the executor its own token)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True, scope="module")
def _index(knowledge_settings) -> None:
    """Build the index once up front."""


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CNIBOT_") and k != "KUBECONFIG"}
    return {**base, "HOME": str(tmp_path), "CNIBOT_DB": str(tmp_path / "cnibot.db"), "PYTHONUNBUFFERED": "1", **extra}


def cnibot(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, cwd=ROOT, env=env(tmp_path, **extra), timeout=180
    )


def test_plan_prints_every_request_when_piped_and_one_json_document(tmp_path: Path) -> None:
    done = cnibot(tmp_path, "plan", "delete-stuck-pods", "node=node-1", "--sim", "ipam-exhausted")
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert "requests: 8" in out and out.count("DELETE /api/v1/namespaces/shop/pods/") == 8  # not cut when piped
    assert "risk:     medium" in out and "sha256" in out
    as_json = cnibot(tmp_path, "plan", "restart-cni", "--sim", "ipam-exhausted", "--json")
    data = json.loads(as_json.stdout)
    assert data["dry_run_ok"] and data["plan"]["requests"][0]["method"] == "PATCH" and len(data["digest"]) == 64


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("plan", "nosuch", "--sim", "healthy"), "no action 'nosuch'"),
        (("plan", "restart-cni", "node", "--sim", "healthy"), "'node' is not key=value"),
        (("plan", "set-mtu", "mtu=abc", "--sim", "mtu-mismatch"), "mtu='abc' is not a whole number"),
        (("plan", "release-leaked-ips", "--sim", "cilium-healthy"), "Calico's IPAM CRDs are not installed"),
        # veth_mtu is already 1450: the plan was a no-op PATCH plus a calico-node restart
        (("plan", "set-mtu", "--sim", "healthy"), "pod MTU is already set to 1450 (node MTU 1500 - vxlan 50 = 1450)"),
    ],
)
def test_plan_with_bad_input_is_one_line(tmp_path: Path, args: tuple[str, ...], says: str) -> None:
    done = cnibot(tmp_path, *args)
    err = done.stderr.decode()
    assert done.returncode == 2 and says in err and err.count("\n") == 1 and "Traceback" not in err


def test_the_console_proposes_approves_and_runs_once(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "console", "--sim", "ipam-exhausted"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=env(tmp_path, CNIBOT_APPROVERS="alice,bob,carol"),
    )
    assert proc.stdin is not None and proc.stdout is not None
    timer = threading.Timer(170, proc.kill)
    timer.start()
    try:
        proc.stdin.write(b"fix restart-cni as alice\n")
        proc.stdin.flush()
        seen = []
        for raw in proc.stdout:
            seen.append(raw.decode())
            if found := re.search(r"proposal (p-[0-9a-f]+): PROPOSED", seen[-1]):
                break
        else:
            pytest.fail("".join(seen) + proc.stderr.read().decode() if proc.stderr else "")
        pid = found.group(1)
        proc.stdin.write(
            f"approve {pid} as alice\napprove {pid} as bob\napprove {pid} as carol\nreject {pid}\n".encode()
        )
        proc.stdin.close()
        rest = proc.stdout.read().decode()
        proc.wait()
    finally:
        timer.cancel()
    assert proc.returncode == 0
    assert "refused: The requester cannot approve" in rest
    assert f"proposal {pid}: DONE" in rest and "verification:" in rest
    assert rest.count(f"proposal {pid}: DONE") == 2  # carol's late click: refused, still DONE, nothing ran again
    assert "refused: This proposal is done" in rest
    assert "say who you are" in rest  # a piped `reject` must name its user


def test_without_approvers_the_console_says_remediation_is_off(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "console", "--sim", "ipam-exhausted"],
        input=b"fix restart-cni as alice\n",
        capture_output=True,
        cwd=ROOT,
        env=env(tmp_path),
        timeout=180,
    )
    assert "Remediation is off: no approvers are configured (CNIBOT_APPROVERS)." in proc.stdout.decode()
