"""What a user sees when the cluster cannot be read: 401, 403, 404, timeouts, no cluster at all."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bot.cluster.reader import connect
from bot.config import ClusterSettings
from bot.domain.errors import NoKubeconfigError, UnreachableError
from bot.probes.registry import PROBES
from bot.sim.scenarios import build_scenario
from bot.sim.server import SimCluster
from tests.probes.conftest import reader_for
from tests.probes.helpers import run


def test_forbidden_list_is_one_probe_error_and_the_rest_still_run(tmp_path: Path) -> None:
    with SimCluster(build_scenario("healthy"), forbidden=frozenset({("list", "pods")})) as sim:
        results = {r.probe: r for r in run(list(PROBES), reader_for(sim, tmp_path))}
    failed = results["pods.ips"]
    assert failed.status == "error"
    # pods are listed namespace by namespace (rows only) when there are few namespaces
    assert failed.request == "GET /api/v1/namespaces/default/pods?limit=2000&includeObject=None"
    assert failed.error == (
        f'403 Forbidden for {failed.request}: the credentials may not list pods (API group ""); '
        "deploy/rbac.yaml grants it in ClusterRole cnibot-reader "
        "(kubectl apply -f deploy/rbac.yaml, bind it to the identity cnibot uses)"
    )
    assert results["cni.detect"].status == "ok"
    assert results["nodes.network"].status == "ok"


def test_missing_crd_group_means_cni_not_installed_not_an_error(tmp_path: Path) -> None:
    with SimCluster(build_scenario("flannel-subnet-missing")) as sim:
        reader = reader_for(sim, tmp_path)
        assert reader.items_optional("/apis/crd.projectcalico.org/v1/ipamblocks") is None
        result = run(["ipam.usage"], reader)[0]
    assert result.status != "error"
    assert result.data["backend"] == "host-local"


def test_unauthorized(tmp_path: Path) -> None:
    with SimCluster(build_scenario("healthy"), unauthorized=True) as sim:
        result = run(["nodes.network"], reader_for(sim, tmp_path))[0]
    assert result.status == "error"
    assert result.error is not None and result.error.startswith("401 Unauthorized from http://127.0.0.1:")
    assert "for GET /api/v1/nodes?limit=2000: the credentials in the kubeconfig were rejected" in result.error


def test_read_timeout(tmp_path: Path) -> None:
    with SimCluster(build_scenario("healthy"), delay_seconds=1.5) as sim:
        reader = reader_for(sim, tmp_path, read_timeout=0.3)
        result = run(["nodes.network"], reader)[0]
    assert result.status == "error"
    assert result.error is not None and result.error.startswith("timed out after 0.3 s waiting for http://127.0.0.1:")
    assert "GET /api/v1/nodes?limit=2000" in result.error


def test_unreachable_apiserver(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "http://127.0.0.1:{port}"}}}}]
users: [{{name: u, user: {{token: t}}}}]
contexts: [{{name: x, context: {{cluster: c, user: u}}}}]
current-context: x
""",
        encoding="utf-8",
    )
    reader = connect(ClusterSettings(kubeconfig=str(kubeconfig)))
    with pytest.raises(UnreachableError) as caught:
        reader.get("/api/v1/nodes")
    assert str(caught.value) == (
        f"cannot reach the apiserver at http://127.0.0.1:{port} for GET /api/v1/nodes: Connection refused "
        "(is the cluster up and the kubeconfig's server address right?)"
    )
    result = run(["nodes.network"], reader)[0]
    assert result.status == "error" and "Connection refused" in (result.error or "")


def test_no_kubeconfig(tmp_path: Path) -> None:
    with pytest.raises(NoKubeconfigError) as caught:
        connect(ClusterSettings(home=tmp_path))
    assert str(caught.value).startswith(f"no kubeconfig found (tried {tmp_path}/.kube/config and the in-cluster")
