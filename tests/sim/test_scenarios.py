"""Every scenario is internally consistent (IPs, IPAM, owners, counts, events) and shows what it claims."""

from __future__ import annotations

import ipaddress
from collections import Counter
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from bot.sim.scenarios import SCENARIOS, UnknownScenarioError, build_scenario
from tests.sim.conftest import Kube

CALICO = "/apis/crd.projectcalico.org/v1"
CALICO_SCENARIOS = ["healthy", "ipam-exhausted", "mtu-mismatch", "calico-bgp-down"]


def owners(pod: dict[str, Any]) -> set[str]:
    return {o["uid"] for o in pod["metadata"].get("ownerReferences", [])}


def ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def network_pods(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in pods if not p["spec"].get("hostNetwork") and p["status"].get("podIP")]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_workloads_agree_with_their_pods(clusters: dict[str, Kube], scenario: str) -> None:
    kube = clusters[scenario]
    nodes = kube.items("/api/v1/nodes")
    pods = kube.items("/api/v1/pods")
    node_names = {n["metadata"]["name"] for n in nodes}
    for ds in kube.items("/apis/apps/v1/daemonsets"):
        mine = [p for p in pods if ds["metadata"]["uid"] in owners(p)]
        status = ds["status"]
        assert status["desiredNumberScheduled"] == len(node_names)
        assert status["currentNumberScheduled"] == len(mine) == len(node_names)
        assert status["numberReady"] == sum(map(ready, mine))
        assert status.get("numberAvailable", 0) == status["numberReady"]
        assert status.get("numberUnavailable", 0) == len(node_names) - status["numberReady"]
        assert status["numberMisscheduled"] == 0
        assert {p["spec"]["nodeName"] for p in mine} == node_names
        labels = ds["spec"]["selector"]["matchLabels"]
        assert all(labels.items() <= p["metadata"]["labels"].items() for p in mine)
    for deploy in kube.items("/apis/apps/v1/deployments"):
        selector = deploy["spec"]["selector"]["matchLabels"]
        mine = [
            p
            for p in pods
            if p["metadata"]["namespace"] == deploy["metadata"]["namespace"]
            and selector.items() <= p["metadata"].get("labels", {}).items()
        ]
        assert deploy["spec"]["replicas"] == len(mine)
        assert deploy["status"].get("readyReplicas", 0) == sum(map(ready, mine))
    for pod in pods:
        assert pod["spec"].get("nodeName") in node_names | {None}
        if pod["spec"].get("hostNetwork"):
            node = next(n for n in nodes if n["metadata"]["name"] == pod["spec"]["nodeName"])
            assert pod["status"]["podIP"] == node["status"]["addresses"][0]["address"]
    ips = [p["status"]["podIP"] for p in network_pods(pods)]
    assert len(ips) == len(set(ips)), "pod IPs must be unique"


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_events_are_about_real_pods(clusters: dict[str, Kube], scenario: str) -> None:
    kube = clusters[scenario]
    pods = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in kube.items("/api/v1/pods")}
    events = kube.items("/api/v1/events")
    for event in events:
        ref = event["involvedObject"]
        pod = pods[(ref["namespace"], ref["name"])]
        assert ref["kind"] == "Pod" and ref["uid"] == pod["metadata"]["uid"]
        assert event["metadata"]["namespace"] == ref["namespace"]
        assert event["type"] in ("Normal", "Warning") and event["count"] >= 1
        assert event["firstTimestamp"] <= event["lastTimestamp"]
        if event["source"]["component"] == "kubelet":
            assert event["source"]["host"] == pod["spec"]["nodeName"]


def in_any(ip: str, cidrs: list[str]) -> bool:
    return any(ipaddress.ip_address(ip) in ipaddress.ip_network(c) for c in cidrs)


@pytest.mark.parametrize("scenario", CALICO_SCENARIOS)
def test_calico_ipam_matches_the_pods(clusters: dict[str, Kube], scenario: str) -> None:
    kube = clusters[scenario]
    facts = kube.sim.scenario.facts
    pods = kube.items("/api/v1/pods")
    live = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in pods}
    blocks = kube.items(f"{CALICO}/ipamblocks")
    pools = kube.items(f"{CALICO}/ippools")
    by_ip: dict[str, dict[str, Any]] = {}
    handle_counts: Counter[tuple[str, str]] = Counter()
    allocated = leaked = tunnels = 0
    for block in blocks:
        spec = block["spec"]
        net = ipaddress.ip_network(spec["cidr"])
        assert block["metadata"]["name"] == spec["cidr"].replace(".", "-").replace("/", "-")
        assert any(net.subnet_of(ipaddress.ip_network(p["spec"]["cidr"])) for p in pools)
        assert len(spec["allocations"]) == net.num_addresses == 64
        assert spec["unallocated"] == [i for i, a in enumerate(spec["allocations"]) if a is None]
        assert sorted(a for a in spec["allocations"] if a is not None) == list(range(len(spec["attributes"])))
        for offset, a in enumerate(spec["allocations"]):
            if a is None:
                continue
            allocated += 1
            attr = spec["attributes"][a]
            ip = str(net.network_address + offset)
            by_ip[ip] = {**attr, "affinity": spec["affinity"]}
            handle_counts[(attr["handle_id"], spec["cidr"])] += 1
            secondary = attr["secondary"]
            if "type" in secondary:
                tunnels += 1
                assert spec["affinity"] == f"host:{secondary['node']}"
            elif (secondary["namespace"], secondary["pod"]) not in live:
                leaked += 1
    assert (allocated, leaked, tunnels) == (facts["allocated"], facts["leaked"], facts["tunnel_addresses"])
    for pod in network_pods(pods):
        attr = by_ip[pod["status"]["podIP"]]  # every pod IP is allocated...
        sandbox = pod["metadata"]["annotations"]["cni.projectcalico.org/containerID"]
        assert attr["handle_id"] == f"k8s-pod-network.{sandbox}"  # ...to this very pod...
        assert (attr["secondary"]["namespace"], attr["secondary"]["pod"]) == (
            pod["metadata"]["namespace"],
            pod["metadata"]["name"],
        )
        assert attr["affinity"] == f"host:{pod['spec']['nodeName']}"  # ...in a block of its node
        assert pod["metadata"]["annotations"]["cni.projectcalico.org/podIP"] == f"{pod['status']['podIP']}/32"
    handles = kube.items(f"{CALICO}/ipamhandles")
    assert Counter({(h["spec"]["handleID"], c): n for h in handles for c, n in h["spec"]["block"].items()}) == (
        handle_counts
    )
    affinities = kube.items(f"{CALICO}/blockaffinities")
    assert {(a["spec"]["node"], a["spec"]["cidr"]) for a in affinities} == {
        (b["spec"]["affinity"].removeprefix("host:"), b["spec"]["cidr"]) for b in blocks
    }
    for node in kube.items("/api/v1/nodes"):
        annotations = node["metadata"]["annotations"]
        tunnel = annotations.get("projectcalico.org/IPv4VXLANTunnelAddr") or annotations.get(
            "projectcalico.org/IPv4IPIPTunnelAddr"
        )
        assert by_ip[tunnel]["secondary"] == {
            "node": node["metadata"]["name"],
            "type": "vxlanTunnelAddress" if "VXLAN" in str(annotations) else "ipipTunnelAddress",
        }
        assert in_any(tunnel, [node["spec"]["podCIDR"]])


@pytest.mark.parametrize("scenario", ["flannel-subnet-missing", "cilium-healthy", "cni-not-initialized"])
def test_host_local_ips_lie_in_the_node_pod_cidr(clusters: dict[str, Kube], scenario: str) -> None:
    kube = clusters[scenario]
    cidrs = {n["metadata"]["name"]: n["spec"].get("podCIDRs", []) for n in kube.items("/api/v1/nodes")}
    for pod in network_pods(kube.items("/api/v1/pods")):
        assert in_any(pod["status"]["podIP"], cidrs[pod["spec"]["nodeName"]])


def test_typed_client_models_accept_every_object(clusters: dict[str, Kube]) -> None:
    for kube in clusters.values():
        core, apps = kube.core, kube.apps
        for call in (
            core.list_node,
            core.list_namespace,
            core.list_pod_for_all_namespaces,
            core.list_event_for_all_namespaces,
            core.list_config_map_for_all_namespaces,
            core.list_service_for_all_namespaces,
            apps.list_daemon_set_for_all_namespaces,
            apps.list_deployment_for_all_namespaces,
        ):
            assert call().items is not None


def test_healthy(clusters: dict[str, Kube]) -> None:
    kube = clusters["healthy"]
    nodes = kube.core.list_node().items
    assert [n.metadata.name for n in nodes] == ["node-1", "node-2", "node-3"]
    for i, node in enumerate(nodes):
        conditions = {c.type: c for c in node.status.conditions}
        assert conditions["Ready"].status == "True"
        assert (conditions["NetworkUnavailable"].status, conditions["NetworkUnavailable"].reason) == (
            "False",
            "CalicoIsUp",
        )
        assert node.status.addresses[0].address == f"10.0.0.{11 + i}"
        assert node.spec.pod_cidr == f"10.244.{i}.0/24" and node.spec.pod_cidrs == [node.spec.pod_cidr]
    apps = [p for p in kube.core.list_pod_for_all_namespaces().items if p.metadata.namespace in ("default", "shop")]
    assert len(apps) == 20 and all(p.status.phase == "Running" for p in apps)
    ds = kube.apps.read_namespaced_daemon_set("calico-node", "kube-system")
    assert ds.spec.template.spec.containers[0].image == "docker.io/calico/node:v3.27.2"
    assert kube.apps.read_namespaced_daemon_set("kube-proxy", "kube-system").status.number_ready == 3
    assert kube.apps.read_namespaced_deployment("calico-kube-controllers", "kube-system").status.ready_replicas == 1
    pool = kube.json(f"{CALICO}/ippools/default-ipv4-ippool")["spec"]
    assert (pool["vxlanMode"], pool["ipipMode"], pool["blockSize"], pool["nodeSelector"]) == (
        "Always",
        "Never",
        26,
        "all()",
    )
    block = kube.json(f"{CALICO}/ipamblocks/10-244-0-0-26")["spec"]
    assert block["affinity"] == "host:node-1" and block["strictAffinity"] is False and block["deleted"] is False
    info = kube.json(f"{CALICO}/clusterinformations/default")["spec"]
    assert (info["calicoVersion"], info["clusterType"], info["datastoreReady"]) == (
        "v3.27.2",
        "k8s,bgp,kubeadm,kdd",
        True,
    )
    config = kube.core.read_namespaced_config_map("calico-config", "kube-system").data
    assert (config["veth_mtu"], config["calico_backend"]) == ("1450", "vxlan")
    assert kube.core.read_namespaced_service("kubernetes", "default").spec.cluster_ip == "10.96.0.1"


def test_ipam_exhausted(clusters: dict[str, Kube]) -> None:
    kube = clusters["ipam-exhausted"]
    facts = kube.sim.scenario.facts
    assert (facts["pool_addresses"], facts["blocks"], facts["allocated"]) == (1024, 16, 1024)
    assert (facts["pod_allocations"], facts["leaked"]) == (252, 768)  # a quarter live, the rest leaked
    blocks = kube.items(f"{CALICO}/ipamblocks")
    assert len(blocks) == 16 and all(b["spec"]["unallocated"] == [] for b in blocks)
    assert Counter(b["spec"]["affinity"] for b in blocks) == {f"host:node-{i}": 4 for i in range(1, 5)}
    pools = {p["metadata"]["name"]: p["spec"] for p in kube.items(f"{CALICO}/ippools")}
    assert pools["default-ipv4-ippool"]["cidr"] == "10.244.0.0/22"
    assert pools["spare-ipv4-ippool"]["disabled"] is True and pools["spare-ipv4-ippool"]["cidr"] == "10.245.0.0/24"
    assert not [b for b in blocks if b["spec"]["cidr"].startswith("10.245.")]
    pending = kube.core.list_pod_for_all_namespaces(field_selector="status.phase=Pending").items
    assert len(pending) == 30
    assert all(p.status.container_statuses[0].state.waiting.reason == "ContainerCreating" for p in pending)
    messages = [
        e.message for e in kube.core.list_event_for_all_namespaces(field_selector="reason=FailedCreatePodSandBox").items
    ]
    allocated_only = [m for m in messages if m.endswith("failed to request 1 IPv4 addresses. IPAM allocated only 0")]
    no_ips = [m for m in messages if m.endswith("no IPs available in block")]
    assert len(allocated_only) == 24 and len(no_ips) == 6
    assert all(
        m.startswith(
            'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "'
        )
        for m in messages
    )
    assert all('plugin type="calico" failed (add):' in m for m in messages)


def test_mtu_mismatch(clusters: dict[str, Kube]) -> None:
    kube = clusters["mtu-mismatch"]
    assert kube.core.read_namespaced_config_map("calico-config", "kube-system").data["veth_mtu"] == "1500"
    installation = kube.custom.get_cluster_custom_object("operator.tigera.io", "v1", "installations", "default")
    assert installation["spec"]["calicoNetwork"]["mtu"] == 1500
    assert kube.json(f"{CALICO}/felixconfigurations/default")["spec"]["vxlanMTU"] == 1500
    for node in kube.core.list_node().items:
        annotations = node.metadata.annotations
        assert annotations["cnibot.io/uplink-mtu"] == "1500"
        assert annotations["projectcalico.org/IPv4VXLANTunnelAddr"].startswith("10.244.")
        assert annotations["projectcalico.org/IPv4Address"].endswith("/24")


def test_cni_not_initialized(clusters: dict[str, Kube]) -> None:
    kube = clusters["cni-not-initialized"]
    message = (
        "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
        "message:Network plugin returns error: cni plugin not initialized"
    )
    for node in kube.core.list_node().items:
        condition = next(c for c in node.status.conditions if c.type == "Ready")
        assert (condition.status, condition.reason, condition.message) == ("False", "KubeletNotReady", message)
    assert [d.metadata.name for d in kube.apps.list_daemon_set_for_all_namespaces().items] == ["kube-proxy"]
    with pytest.raises(ApiException) as caught:
        kube.custom.list_cluster_custom_object("crd.projectcalico.org", "v1", "ippools")
    assert caught.value.status == 404
    apps = kube.core.list_pod_for_all_namespaces(label_selector="app").items
    assert apps and all(p.status.phase == "Pending" for p in apps)
    events = kube.core.list_event_for_all_namespaces(field_selector="reason=NetworkNotReady").items
    assert len(events) == len(apps)
    assert all(e.message == f"network is not ready: {message}" for e in events)


def test_calico_bgp_down(clusters: dict[str, Kube]) -> None:
    kube = clusters["calico-bgp-down"]
    pool = kube.json(f"{CALICO}/ippools/default-ipv4-ippool")["spec"]
    assert (pool["ipipMode"], pool["vxlanMode"]) == ("Always", "Never")
    assert kube.core.read_namespaced_config_map("calico-config", "kube-system").data["calico_backend"] == "bird"
    status = kube.apps.read_namespaced_daemon_set("calico-node", "kube-system").status
    assert (status.desired_number_scheduled, status.number_ready, status.number_unavailable) == (3, 1, 2)
    calico = kube.core.list_namespaced_pod("kube-system", label_selector="k8s-app=calico-node").items
    assert {p.spec.node_name for p in calico if p.status.phase == "Running"} == {"node-1", "node-2", "node-3"}
    assert {p.spec.node_name for p in calico if not p.status.container_statuses[0].ready} == {"node-2", "node-3"}
    unhealthy = kube.core.list_event_for_all_namespaces(field_selector="reason=Unhealthy").items
    assert {e.source.host for e in unhealthy} == {"node-2", "node-3"}
    assert all(
        e.message.startswith(
            "Readiness probe failed: calico/node is not ready: BIRD is not ready: BGP not established with 10.0.0."
        )
        for e in unhealthy
    )


def test_flannel_subnet_missing(clusters: dict[str, Kube]) -> None:
    kube = clusters["flannel-subnet-missing"]
    cidrs = {n.metadata.name: n.spec.pod_cidr for n in kube.core.list_node().items}
    assert cidrs == {"node-1": "10.244.0.0/24", "node-2": "10.244.1.0/24", "node-3": None}
    conf = kube.core.read_namespaced_config_map("kube-flannel-cfg", "kube-flannel").data["net-conf.json"]
    assert __import__("json").loads(conf) == {"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan"}}
    ds = kube.apps.read_namespaced_daemon_set("kube-flannel-ds", "kube-flannel")
    assert ds.spec.template.spec.containers[0].image == "docker.io/flannel/flannel:v0.25.1"
    crashing = kube.core.list_namespaced_pod("kube-flannel", field_selector="spec.nodeName=node-3").items[0]
    cs = crashing.status.container_statuses[0]
    assert cs.state.waiting.reason == "CrashLoopBackOff" and cs.restart_count == 14
    assert (cs.last_state.terminated.reason, cs.last_state.terminated.exit_code) == ("Error", 1)
    assert crashing.metadata.labels["app"] == "flannel"
    events = kube.core.list_event_for_all_namespaces(field_selector="reason=FailedCreatePodSandBox").items
    assert events and {e.source.host for e in events} == {"node-3"}
    assert all(
        e.message.endswith(
            'plugin type="flannel" failed (add): loadFlannelSubnetEnv failed: open /run/flannel/subnet.env: '
            "no such file or directory"
        )
        for e in events
    )
    stuck = kube.core.list_pod_for_all_namespaces(field_selector="status.phase=Pending").items
    assert {p.spec.node_name for p in stuck} == {"node-3"} and len(stuck) == len(events)


def test_cilium_healthy(clusters: dict[str, Kube]) -> None:
    kube = clusters["cilium-healthy"]
    config = kube.core.read_namespaced_config_map("cilium-config", "kube-system").data
    assert (config["tunnel-protocol"], config["ipam"]) == ("vxlan", "cluster-pool") and "mtu" not in config
    assert kube.apps.read_namespaced_daemon_set("cilium", "kube-system").spec.selector.match_labels == {
        "k8s-app": "cilium"
    }
    nodes = {n.metadata.name: n for n in kube.core.list_node().items}
    pods = kube.core.list_pod_for_all_namespaces().items
    for cn in kube.custom.list_cluster_custom_object("cilium.io", "v2", "ciliumnodes")["items"]:
        name = cn["metadata"]["name"]
        assert cn["spec"]["ipam"]["podCIDRs"] == [nodes[name].spec.pod_cidr]
        used = cn["status"]["ipam"]["used"]
        on_node = [p for p in pods if p.spec.node_name == name and not p.spec.host_network]
        assert {p.status.pod_ip for p in on_node} <= set(used)
        assert all(used[p.status.pod_ip]["owner"] == f"{p.metadata.namespace}/{p.metadata.name}" for p in on_node)
        assert Counter(v["owner"] for v in used.values())["router"] == 1


def test_unknown_scenario_names_the_choices() -> None:
    with pytest.raises(UnknownScenarioError) as caught:
        build_scenario("nope")
    assert isinstance(caught.value, KeyError)
    assert str(caught.value).startswith("unknown scenario 'nope'; choose one of: healthy, ipam-exhausted")


def test_scenarios_are_deterministic() -> None:
    from tests.sim.conftest import NOW

    first, second = build_scenario("ipam-exhausted", now=NOW), build_scenario("ipam-exhausted", now=NOW)
    assert list(first.items("ipamblocks.crd.projectcalico.org")) == list(
        second.items("ipamblocks.crd.projectcalico.org")
    )
    assert list(first.items("pods")) == list(second.items("pods"))
