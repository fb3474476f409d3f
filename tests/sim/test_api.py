"""The simulated apiserver through the official client: discovery, errors, auth, faults and the request log."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
import urllib3
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from bot.sim.scenarios import build_scenario
from bot.sim.server import RequestRecord, SimCluster
from tests.sim.conftest import NOW, Kube, connect

USER = "system:serviceaccount:cnibot:cnibot"


def status_of(exc: ApiException) -> dict[str, object]:
    body = json.loads(exc.body)
    assert body["kind"] == "Status" and body["apiVersion"] == "v1" and body["status"] == "Failure"
    assert body["code"] == exc.status
    return body


def test_version_and_core_discovery(clusters: dict[str, Kube]) -> None:
    kube = clusters["healthy"]
    info = kube.version.get_code()
    assert (info.major, info.minor, info.git_version) == ("1", "29", "v1.29.4")
    assert client.CoreApi(kube.api).get_api_versions().versions == ["v1"]
    resources = {r.name: r for r in kube.core.get_api_resources().resources}
    assert resources["pods"].namespaced and resources["pods"].kind == "Pod"
    assert resources["pods/log"].verbs == ["get"]
    assert not resources["nodes"].namespaced


def test_crd_groups_are_discoverable_only_where_installed(clusters: dict[str, Kube]) -> None:
    def groups(name: str) -> set[str]:
        return {g.name for g in client.ApisApi(clusters[name].api).get_api_versions().groups}

    built_in = {"apps", "coordination.k8s.io"}  # Leases, for leader election
    assert groups("healthy") == built_in | {"crd.projectcalico.org"}
    assert groups("mtu-mismatch") == built_in | {"crd.projectcalico.org", "operator.tigera.io"}
    assert groups("cilium-healthy") == built_in | {"cilium.io"}
    assert groups("flannel-subnet-missing") == built_in
    kinds = clusters["healthy"].json("/apis/crd.projectcalico.org/v1")
    assert {"ippools", "ipamblocks", "blockaffinities", "ipamhandles", "felixconfigurations"} <= {
        r["name"] for r in kinds["resources"]
    }


def test_a_missing_crd_group_is_a_404_status(clusters: dict[str, Kube]) -> None:
    with pytest.raises(ApiException) as caught:
        clusters["flannel-subnet-missing"].custom.list_cluster_custom_object(
            "crd.projectcalico.org", "v1", "ipamblocks"
        )
    assert caught.value.status == 404
    body = status_of(caught.value)
    assert body["reason"] == "NotFound"
    assert body["message"] == "the server could not find the requested resource"
    with pytest.raises(ApiException) as cilium:
        clusters["healthy"].custom.list_cluster_custom_object("cilium.io", "v2", "ciliumnodes")
    assert cilium.value.status == 404
    status, _ = clusters["healthy"].raw("/apis/crd.projectcalico.org/v1/nosuchthings")
    assert status == 404


def test_a_missing_object_is_a_404_naming_it(clusters: dict[str, Kube]) -> None:
    kube = clusters["healthy"]
    with pytest.raises(ApiException) as caught:
        kube.core.read_namespaced_pod("nope", "default")
    body = status_of(caught.value)
    assert (caught.value.status, body["reason"], body["message"]) == (404, "NotFound", 'pods "nope" not found')
    assert body["details"] == {"name": "nope", "kind": "pods"}
    with pytest.raises(ApiException) as crd:
        kube.custom.get_cluster_custom_object("crd.projectcalico.org", "v1", "ippools", "nope")
    assert status_of(crd.value)["message"] == 'ippools.crd.projectcalico.org "nope" not found'


def test_custom_objects_come_back_whole(clusters: dict[str, Kube]) -> None:
    kube = clusters["healthy"]
    pool = kube.custom.get_cluster_custom_object("crd.projectcalico.org", "v1", "ippools", "default-ipv4-ippool")
    assert pool["apiVersion"] == "crd.projectcalico.org/v1" and pool["kind"] == "IPPool"
    assert pool["spec"]["cidr"] == "10.244.0.0/16" and pool["spec"]["blockSize"] == 26
    listed = kube.custom.list_cluster_custom_object("crd.projectcalico.org", "v1", "ipamblocks")
    assert listed["kind"] == "IPAMBlockList"
    assert all(item["kind"] == "IPAMBlock" for item in listed["items"])  # custom resources keep their type


def test_raw_reads_with_preload_content_false(clusters: dict[str, Kube]) -> None:
    kube = clusters["healthy"]
    response = kube.core.list_pod_for_all_namespaces(_preload_content=False)
    data = json.loads(response.data)
    assert (data["kind"], data["apiVersion"]) == ("PodList", "v1")
    assert data["metadata"]["resourceVersion"].isdigit()
    assert "continue" not in data["metadata"]
    pod = data["items"][0]
    assert "kind" not in pod and "apiVersion" not in pod  # as the apiserver lists built-in kinds
    assert set(pod) == {"metadata", "spec", "status"}
    assert set(pod["metadata"]) >= {"name", "namespace", "uid", "resourceVersion", "creationTimestamp", "labels"}
    one = json.loads(
        kube.core.read_namespaced_pod(
            pod["metadata"]["name"], pod["metadata"]["namespace"], _preload_content=False
        ).data
    )
    assert (one["kind"], one["apiVersion"]) == ("Pod", "v1")


def test_without_the_token_every_request_is_401(open_cluster, tmp_path: Path) -> None:
    kube = open_cluster()
    anonymous = client.Configuration()
    anonymous.host = kube.sim.url
    with client.ApiClient(anonymous) as api, pytest.raises(ApiException) as caught:
        client.CoreV1Api(api).list_node()
    assert caught.value.status == 401
    assert status_of(caught.value)["reason"] == "Unauthorized"
    refused = connect(SimCluster(build_scenario("healthy", now=NOW), unauthorized=True).start(), tmp_path)
    try:
        with pytest.raises(ApiException) as always:
            refused.version.get_code()
        assert always.value.status == 401
    finally:
        refused.close()
        refused.sim.stop()


def test_forbidden_pairs_get_the_apiservers_403(open_cluster) -> None:
    kube = open_cluster(forbidden=frozenset({("list", "pods"), ("get", "pods/log"), ("list", "ipamblocks")}))
    with pytest.raises(ApiException) as cluster_wide:
        kube.core.list_pod_for_all_namespaces()
    body = status_of(cluster_wide.value)
    assert cluster_wide.value.status == 403 and body["reason"] == "Forbidden"
    assert body["message"] == (
        f'pods is forbidden: User "{USER}" cannot list resource "pods" in API group "" at the cluster scope'
    )
    with pytest.raises(ApiException) as namespaced:
        kube.core.list_namespaced_pod("kube-system")
    assert status_of(namespaced.value)["message"].endswith('in API group "" in the namespace "kube-system"')
    pod = kube.sim.scenario.items("pods", "kube-system").__next__()["metadata"]["name"]
    with pytest.raises(ApiException) as logs:
        kube.core.read_namespaced_pod_log(pod, "kube-system")
    assert status_of(logs.value)["message"] == (
        f'pods "{pod}" is forbidden: User "{USER}" cannot get resource "pods/log" in API group "" '
        'in the namespace "kube-system"'
    )
    with pytest.raises(ApiException) as crd:
        kube.custom.list_cluster_custom_object("crd.projectcalico.org", "v1", "ipamblocks")
    assert status_of(crd.value)["message"] == (
        f'ipamblocks.crd.projectcalico.org is forbidden: User "{USER}" cannot list resource "ipamblocks" '
        'in API group "crd.projectcalico.org" at the cluster scope'
    )
    assert kube.core.read_namespaced_pod(pod, "kube-system").metadata.name == pod  # get is still allowed
    assert [r.status for r in kube.sim.requests[-5:]] == [403, 403, 403, 403, 200]


def test_delay_makes_the_client_time_out(open_cluster, tmp_path: Path) -> None:
    kube = open_cluster(delay_seconds=0.6)
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(kube.sim.write_kubeconfig(tmp_path / "kc")), client_configuration=cfg)
    cfg.retries = 0  # one attempt: urllib3 would otherwise retry the read three times
    started = time.monotonic()
    with client.ApiClient(cfg) as api, pytest.raises(urllib3.exceptions.HTTPError) as caught:
        client.CoreV1Api(api).list_node(_request_timeout=(1, 0.2))
    assert "read timed out" in str(caught.value).lower()
    assert time.monotonic() - started < 0.6
    assert kube.core.list_node(_request_timeout=(1, 2)).items  # a patient client still gets its answer
    kube.sim.stop()  # cuts the sleeping handlers short


def test_watch_is_refused_with_405(clusters: dict[str, Kube]) -> None:
    status, body = clusters["healthy"].raw("/api/v1/pods", watch="true")
    data = json.loads(body)
    assert status == 405 and data["reason"] == "MethodNotAllowed"


def test_every_request_is_logged(open_cluster, tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    kube = open_cluster(log_path=log)
    kube.core.list_namespaced_pod("kube-system", label_selector="k8s-app=calico-node")
    with pytest.raises(ApiException):
        kube.core.read_node("nope")
    first, second = kube.sim.requests[-2:]
    assert first == RequestRecord(
        "GET", "/api/v1/namespaces/kube-system/pods", "labelSelector=k8s-app%3Dcalico-node", 200
    )
    assert (second.method, second.path, second.status) == ("GET", "/api/v1/nodes/nope", 404)
    assert second.time >= first.time > 0 and second.duration_ms >= 0
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["method"], r["path"], r["status"]) for r in lines[-2:]] == [
        ("GET", "/api/v1/namespaces/kube-system/pods", 200),
        ("GET", "/api/v1/nodes/nope", 404),
    ]


def test_the_kubeconfig_points_at_the_sim(open_cluster, tmp_path: Path) -> None:
    kube = open_cluster()
    path = kube.sim.write_kubeconfig(tmp_path / "nested" / "kubeconfig", context="my-sim")
    data = yaml.safe_load(path.read_text())
    assert data["current-context"] == "my-sim"
    assert data["clusters"][0]["cluster"]["server"] == kube.sim.url
    assert kube.sim.url.startswith("http://127.0.0.1:")
    assert data["users"][0]["user"]["token"] == "sim-token"
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_stop_really_stops(tmp_path: Path) -> None:
    with SimCluster(build_scenario("healthy", now=NOW)) as sim:
        kube = connect(sim, tmp_path)
        assert kube.core.list_node().items
        port = int(sim.url.rsplit(":", 1)[1])
    with pytest.raises(urllib3.exceptions.HTTPError):
        kube.core.list_node(_request_timeout=(1, 1))  # the pooled keep-alive connection was closed too
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    kube.close()


def test_url_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        _ = SimCluster(build_scenario("healthy", now=NOW)).url


def test_health_endpoints(clusters: dict[str, Kube]) -> None:
    assert clusters["healthy"].raw("/readyz") == (200, b"ok")
