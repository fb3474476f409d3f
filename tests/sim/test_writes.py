"""Writes: refused with 405 on a read-only cluster; applied (or only validated, with dryRun=All) otherwise."""

from __future__ import annotations

import json

import pytest
from kubernetes.client.exceptions import ApiException

from bench.scaled import scaled_scenario
from bot.sim.server import SimCluster
from tests.sim.conftest import connect

CALICO = ("crd.projectcalico.org", "v1")


def refused(call, *args, **kwargs) -> tuple[int, dict]:
    with pytest.raises(ApiException) as caught:
        call(*args, **kwargs)
    return caught.value.status, json.loads(caught.value.body)


def test_read_only_cluster_refuses_every_write(open_cluster) -> None:
    kube = open_cluster("healthy")
    assert not kube.sim.allow_writes
    pod = kube.core.list_namespaced_pod("default").items[0].metadata.name
    for call, args in (
        (kube.core.patch_namespaced_config_map, ("calico-config", "kube-system", {"data": {"veth_mtu": "1"}})),
        (kube.core.delete_namespaced_pod, (pod, "default")),
        (kube.core.create_namespaced_config_map, ("default", {"metadata": {"name": "x"}})),
        (kube.custom.delete_cluster_custom_object, (*CALICO, "ippools", "default-ipv4-ippool")),
    ):
        status, body = refused(call, *args)
        assert status == 405 and body["reason"] == "MethodNotAllowed"
        assert body["message"] == "the simulated cluster is read-only in scenario healthy"
    assert kube.core.read_namespaced_config_map("calico-config", "kube-system").data["veth_mtu"] == "1450"
    assert [r.status for r in kube.sim.requests[-5:-1]] == [405] * 4


def test_scenarios_can_allow_writes_themselves(open_cluster) -> None:
    assert open_cluster("ipam-exhausted").sim.allow_writes
    assert not open_cluster("ipam-exhausted", allow_writes=False).sim.allow_writes


def test_merge_patch_of_a_configmap(open_cluster) -> None:
    kube = open_cluster("mtu-mismatch", allow_writes=True)
    before = kube.core.read_namespaced_config_map("calico-config", "kube-system")
    patched = kube.core.patch_namespaced_config_map("calico-config", "kube-system", {"data": {"veth_mtu": "1450"}})
    assert patched.data["veth_mtu"] == "1450"
    assert patched.data["calico_backend"] == "vxlan"  # merged, not replaced
    assert int(patched.metadata.resource_version) > int(before.metadata.resource_version)
    assert patched.metadata.uid == before.metadata.uid
    assert kube.core.read_namespaced_config_map("calico-config", "kube-system").data["veth_mtu"] == "1450"
    assert kube.sim.requests[-2].method == "PATCH" and kube.sim.requests[-2].status == 200


def test_dry_run_validates_but_stores_nothing(open_cluster) -> None:
    kube = open_cluster("mtu-mismatch", allow_writes=True)
    answer = kube.core.patch_namespaced_config_map(
        "calico-config", "kube-system", {"data": {"veth_mtu": "1450"}}, dry_run="All"
    )
    assert answer.data["veth_mtu"] == "1450"
    assert kube.core.read_namespaced_config_map("calico-config", "kube-system").data["veth_mtu"] == "1500"
    kube.custom.delete_cluster_custom_object(*CALICO, "ippools", "default-ipv4-ippool", dry_run="All")
    assert kube.custom.get_cluster_custom_object(*CALICO, "ippools", "default-ipv4-ippool")
    status, body = refused(
        kube.core.patch_namespaced_config_map,
        "calico-config",
        "kube-system",
        {"data": {"veth_mtu": 1450}},
        dry_run="All",
    )
    assert (status, body["reason"]) == (422, "Invalid")


def test_patch_custom_objects_and_daemonsets(open_cluster) -> None:
    kube = open_cluster("ipam-exhausted")
    pool = kube.custom.patch_cluster_custom_object(
        *CALICO, "ippools", "spare-ipv4-ippool", {"spec": {"disabled": None}}
    )
    assert "disabled" not in pool["spec"] and pool["metadata"]["generation"] == 2
    felix = kube.custom.patch_cluster_custom_object(
        *CALICO, "felixconfigurations", "default", {"spec": {"vxlanMTU": 1450}}
    )
    assert felix["spec"]["vxlanMTU"] == 1450 and felix["spec"]["logSeverityScreen"] == "Info"
    restart = {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}}}}
    ds = kube.apps.patch_namespaced_daemon_set("calico-node", "kube-system", restart)
    assert ds.spec.template.metadata.annotations == {"kubectl.kubernetes.io/restartedAt": "now"}
    assert ds.spec.template.spec.containers[0].name == "calico-node"
    assert ds.metadata.generation == 2


def test_json_patch(open_cluster) -> None:
    kube = open_cluster("mtu-mismatch")
    ops = [
        {"op": "test", "path": "/data/veth_mtu", "value": "1500"},
        {"op": "replace", "path": "/data/veth_mtu", "value": "1450"},
        {"op": "add", "path": "/metadata/labels", "value": {"fixed-by": "cnibot"}},
    ]
    patched = kube.core.patch_namespaced_config_map("calico-config", "kube-system", ops)
    assert patched.data["veth_mtu"] == "1450" and patched.metadata.labels == {"fixed-by": "cnibot"}
    status, _ = refused(
        kube.core.patch_namespaced_config_map,
        "calico-config",
        "kube-system",
        [{"op": "test", "path": "/data/veth_mtu", "value": "1500"}],
    )
    assert status == 422


def test_delete_cluster_scoped_and_namespaced_objects(open_cluster) -> None:
    kube = open_cluster("ipam-exhausted")
    handles = kube.custom.list_cluster_custom_object(*CALICO, "ipamhandles")["items"]
    leaked = next(h for h in handles if h["spec"]["handleID"].startswith("k8s-pod-network."))
    answer = kube.custom.delete_cluster_custom_object(*CALICO, "ipamhandles", leaked["metadata"]["name"])
    assert answer["status"] == "Success" and answer["details"]["uid"] == leaked["metadata"]["uid"]
    assert len(kube.custom.list_cluster_custom_object(*CALICO, "ipamhandles")["items"]) == len(handles) - 1
    status, _ = refused(kube.custom.get_cluster_custom_object, *CALICO, "ipamhandles", leaked["metadata"]["name"])
    assert status == 404
    pod = kube.core.list_namespaced_pod("shop", field_selector="status.phase=Pending").items[0].metadata.name
    gone = kube.core.delete_namespaced_pod(pod, "shop")
    assert gone.metadata.name == pod and gone.metadata.deletion_timestamp is not None
    assert refused(kube.core.read_namespaced_pod, pod, "shop")[0] == 404


def test_create_replace_and_conflicts(open_cluster) -> None:
    kube = open_cluster("flannel-subnet-missing")
    made = kube.core.create_namespaced_config_map("default", {"metadata": {"name": "notes"}, "data": {"a": "1"}})
    assert made.metadata.uid and made.metadata.namespace == "default"
    assert refused(kube.core.create_namespaced_config_map, "default", {"metadata": {"name": "notes"}})[0] == 409
    made.data = {"a": "2"}
    replaced = kube.core.replace_namespaced_config_map("notes", "default", made)
    assert replaced.data == {"a": "2"}
    stale = {"metadata": {"name": "notes", "resourceVersion": made.metadata.resource_version}, "data": {"a": "3"}}
    status, body = refused(kube.core.patch_namespaced_config_map, "notes", "default", stale)
    assert (status, body["reason"]) == (409, "Conflict")
    renamed = {"metadata": {"name": "other"}}
    assert refused(kube.core.patch_namespaced_config_map, "notes", "default", renamed)[0] == 400
    node = kube.core.patch_node("node-3", {"spec": {"podCIDR": "10.244.2.0/24", "podCIDRs": ["10.244.2.0/24"]}})
    assert node.spec.pod_cidr == "10.244.2.0/24"


def test_unsupported_patch_type_is_415(open_cluster) -> None:
    kube = open_cluster("mtu-mismatch")
    status, body = refused(
        kube.core.patch_namespaced_config_map,
        "calico-config",
        "kube-system",
        {"data": {}},
        _content_type="application/apply-patch+yaml",
    )
    assert (status, body["reason"]) == (415, "UnsupportedMediaType")


def test_generated_collections_refuse_writes(tmp_path) -> None:
    sim = SimCluster(scaled_scenario(nodes=20, pods=200, blocks=40), allow_writes=True).start()
    kube = connect(sim, tmp_path)
    try:
        name = kube.core.list_pod_for_all_namespaces(limit=1).items[0]
        status, body = refused(kube.core.delete_namespaced_pod, name.metadata.name, name.metadata.namespace)
        assert status == 405 and "generated" in body["message"]
        kube.core.patch_namespaced_config_map("calico-config", "kube-system", {"data": {"veth_mtu": "1400"}})
    finally:
        kube.close()
        sim.stop()
