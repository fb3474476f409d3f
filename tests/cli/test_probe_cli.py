"""`cnibot probe` and `cnibot sim` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True, scope="module")
def _index(knowledge_settings) -> None:
    """The probes name runbooks through the matcher; build the index once up front."""


def cnibot(
    *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        cwd=ROOT,
        env=env or dict(os.environ),
        input=stdin,
        timeout=180,
    )


def test_probe_list() -> None:
    done = cnibot("probe", "list")
    assert done.returncode == 0
    out = done.stdout.decode()
    for probe in ("cni.detect", "ipam.usage", "config.mtu", "pods.sandbox_failures"):
        assert probe in out


def test_probe_ipam_json_contract() -> None:
    done = cnibot("probe", "ipam", "--json", "--sim", "ipam-exhausted")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    # the same shape as `probe all --json`: the data once, under its result (not repeated at the top)
    assert set(document) == {"cluster", "results"} and document["cluster"]["simulated"] is True
    assert done.stdout.count(b'"leaked":') == 1
    result = document["results"][0]
    data = result["data"]
    assert data["backend"] == "calico"
    assert {"name", "cidr", "capacity", "allocated", "free", "utilization"} <= set(data["pools"][0])
    assert {"node", "blocks", "capacity", "allocated"} <= set(data["nodes"][0])
    assert {"ip", "handle", "namespace", "pod", "node"} == set(data["leaked"][0])
    assert result["status"] == "critical" and result["probe"] == "ipam.usage"


def test_probe_list_json_is_one_document_with_ids_and_descriptions() -> None:
    as_flag, as_output = cnibot("probe", "list", "--json"), cnibot("probe", "list", "-o", "json")
    assert as_flag.returncode == 0 and as_flag.stdout == as_output.stdout
    listed = json.loads(as_flag.stdout)
    assert {"probe": "cni.detect", "what_it_reads": listed[0]["what_it_reads"]} == listed[0]
    assert "ipam.usage" in {row["probe"] for row in listed}


@pytest.mark.parametrize("flag", [("--json",), ("-o", "json")])
def test_probe_all_json_is_one_document(flag: tuple[str, ...]) -> None:
    done = cnibot("probe", "all", *flag, "--sim", "healthy")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["cluster"]["simulated"] is True
    assert [r["probe"] for r in document["results"]][:2] == ["cni.detect", "cni.pods"]
    assert len(document["results"]) == 9


def test_probe_for_runbook_runs_its_probes() -> None:
    done = cnibot("probe", "for", "mtu-mismatch", "--sim", "mtu-mismatch")
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert "SIMULATED cluster" in out
    assert "config.mtu" in out and "CRITICAL" in out


def test_unknown_probe_and_runbook_exit_2() -> None:
    done = cnibot("probe", "nosuch.probe", "--sim", "healthy")
    assert done.returncode == 2
    assert done.stderr.decode() == "cnibot: error: no probe 'nosuch.probe'; `cnibot probe list` shows the ids\n"
    done = cnibot("probe", "for", "nosuch", "--sim", "healthy")
    assert done.returncode == 2


def test_no_kubeconfig_is_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
    env["HOME"] = str(tmp_path)
    done = cnibot("probe", "nodes.network", env=env)
    assert done.returncode == 1
    err = done.stderr.decode()
    assert err.startswith("cnibot: error: no kubeconfig found (tried ") and err.count("\n") == 1


def test_console_runs_probes_on_the_embedded_simulated_cluster(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
    env["HOME"] = str(tmp_path)
    done = cnibot("run", env=env, stdin=b"no IPs available in block\n\nprobe for ipam-exhausted\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert out.startswith("No kubeconfig found: probes run against a SIMULATED cluster (scenario 'ipam-exhausted')")
    assert "Runbook: ipam-exhausted" in out
    assert "`probe for ipam-exhausted` in the console" in out
    assert "SIMULATED cluster, scenario 'ipam-exhausted'" in out
    assert "leaked address(es)" in out


def test_sim_serve_writes_a_kubeconfig_and_serves(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc.yaml"
    server = subprocess.Popen(
        [sys.executable, "-m", "bot", "sim", "serve", "--scenario", "healthy", "--kubeconfig", str(kubeconfig)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not kubeconfig.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert kubeconfig.exists()
        done = cnibot("probe", "cni.detect", "--json", "--kubeconfig", str(kubeconfig))
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["results"][0]["data"]["cni"] == "calico"
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert b"NOT a real cluster" in server.stderr.read()  # type: ignore[union-attr]
