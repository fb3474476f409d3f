"""The non-Calico scenarios: cni-not-initialized, flannel-subnet-missing and cilium-healthy."""

from __future__ import annotations

import json
from datetime import datetime

from bot.sim import logs
from bot.sim.base import (
    POD_SUBNET,
    apps,
    cluster_config,
    coredns,
    kube_proxy,
    node_ip,
    node_name,
    node_pod_cidr,
    spread,
    uplink_annotations,
)
from bot.sim.builder import CLUSTER_AGE, ClusterBuilder, HostLocal
from bot.sim.model import Scenario
from bot.sim.obj import Obj
from bot.sim.objects import Clock, hex64, meta, uid
from bot.sim.pods import CRASHLOOP, CREATING, RUNNING, UNSCHEDULED, Container

NOT_INITIALIZED = (
    "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
    "message:Network plugin returns error: cni plugin not initialized"
)


def cni_not_initialized(now: datetime | None = None) -> Scenario:
    b = ClusterBuilder("cni-not-initialized", Clock.at(now))
    for i in range(3):
        b.node(
            node_name(i),
            node_ip(i),
            pod_cidr=node_pod_cidr(i),
            ready=False,
            ready_reason="KubeletNotReady",
            ready_message=NOT_INITIALIZED,
            taints=({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"},),
            annotations=uplink_annotations(),
        )
    cluster_config(b)
    kube_proxy(b)
    for pod in coredns(b, [None, None], state=UNSCHEDULED):
        b.event(
            pod,
            "FailedScheduling",
            pod["status"]["conditions"][0]["message"],
            component="default-scheduler",
            host="",
            count=12,
            first_ago=25,
            last_ago=1,
        )
    pods = apps(
        b,
        {"web": 3, "frontend": 2, "cart": 2},
        spread(b.node_names),
        states={"web": [CREATING] * 3, "frontend": [CREATING] * 2, "cart": [CREATING] * 2},
        age=25,
    )
    for group in pods.values():
        for pod in group:
            b.event(pod, "NetworkNotReady", f"network is not ready: {NOT_INITIALIZED}", count=13, first_ago=24)
    return b.build(
        "Three NotReady nodes: no CNI is installed (no CNI DaemonSet, no config in /etc/cni/net.d), so the "
        "kubelet reports NetworkPluginNotReady, app pods wait in ContainerCreating and CoreDNS cannot schedule.",
        allow_writes=False,
        facts={"cni": "none", "not_ready_nodes": 3, "pending_pods": 9},
    )


FLANNEL = Container("kube-flannel", "docker.io/flannel/flannel:v0.25.1")
FLANNEL_INIT = (
    Container("install-cni-plugin", "docker.io/flannel/flannel-cni-plugin:v1.4.0-flannel1"),
    Container("install-cni", "docker.io/flannel/flannel:v0.25.1"),
)
FLANNEL_CNI_CONF = """{
  "name": "cbr0",
  "cniVersion": "0.3.1",
  "plugins": [
    {
      "type": "flannel",
      "delegate": {
        "hairpinMode": true,
        "isDefaultGateway": true
      }
    },
    {
      "type": "portmap",
      "capabilities": {
        "portMappings": true
      }
    }
  ]
}
"""
FLANNEL_NET_CONF = json.dumps({"Network": POD_SUBNET, "Backend": {"Type": "vxlan"}}, indent=2) + "\n"


def flannel_subnet_missing(now: datetime | None = None) -> Scenario:
    b = ClusterBuilder("flannel-subnet-missing", Clock.at(now))
    broken = node_name(2)
    for i in range(3):
        name = node_name(i)
        annotations = uplink_annotations()
        if name != broken:
            mac = ":".join(hex64("vtep", name)[k : k + 2] for k in range(0, 12, 2))
            annotations |= {
                "flannel.alpha.coreos.com/backend-data": json.dumps({"VNI": 1, "VtepMAC": mac}, separators=(",", ":")),
                "flannel.alpha.coreos.com/backend-type": "vxlan",
                "flannel.alpha.coreos.com/kube-subnet-manager": "true",
                "flannel.alpha.coreos.com/public-ip": node_ip(i),
            }
        b.node(
            name,
            node_ip(i),
            # node-3 joined while kube-controller-manager ran without --allocate-node-cidrs
            pod_cidr=None if name == broken else node_pod_cidr(i),
            network=None if name == broken else (False, "FlannelIsUp", "Flannel is running on this node"),
            annotations=annotations,
        )
    b.allocate = HostLocal(b.pod_cidrs)
    cluster_config(b)
    kube_proxy(b)
    b.configmap(
        "kube-flannel",
        "kube-flannel-cfg",
        {"cni-conf.json": FLANNEL_CNI_CONF, "net-conf.json": FLANNEL_NET_CONF},
        labels={"app": "flannel", "k8s-app": "flannel", "tier": "node"},
    )
    _, flannel = b.daemonset(
        "kube-flannel",
        "kube-flannel-ds",
        labels={"app": "flannel", "k8s-app": "flannel"},
        containers=(FLANNEL,),
        init_containers=FLANNEL_INIT,
        states={broken: CRASHLOOP},
        service_account="flannel",
    )
    for pod in flannel:
        node, name = pod["spec"]["nodeName"], pod["metadata"]["name"]
        if node == broken:
            b.logs.add("kube-flannel", name, "kube-flannel", logs.flannel_no_pod_cidr(b.clock, node, 2.5))
            b.logs.add("kube-flannel", name, "kube-flannel", logs.flannel_no_pod_cidr(b.clock, node, 8), previous=True)
            b.event(
                pod,
                "BackOff",
                f"Back-off restarting failed container kube-flannel in pod {name}_kube-flannel"
                f"({pod['metadata']['uid']})",
                count=61,
                first_ago=50,
                last_ago=0.5,
                field_path="spec.containers{kube-flannel}",
            )
        else:
            text = logs.flannel_ok(b.clock, node, b.node_ips[node], b.pod_cidrs[node])
            b.logs.add("kube-flannel", name, "kube-flannel", text)
    coredns(b, [node_name(0), node_name(1)])
    placement = [node_name(i % 3) for i in range(11)]
    replicas = {"web": 3, "api": 2, "frontend": 3, "cart": 3}
    states: dict[str, list[str]] = {}
    at = 0
    for app_name, count in replicas.items():
        states[app_name] = [CREATING if placement[at + k] == broken else RUNNING for k in range(count)]
        at += count
    pods = apps(b, replicas, iter(placement), states=states)
    stuck = [p for group in pods.values() for p in group if p["status"]["phase"] == "Pending"]
    for pod in stuck:
        sandbox = hex64("failed-sandbox", pod["metadata"]["name"])
        b.event(
            pod,
            "FailedCreatePodSandBox",
            "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "
            f'"{sandbox}": plugin type="flannel" failed (add): loadFlannelSubnetEnv failed: open '
            "/run/flannel/subnet.env: no such file or directory",
            count=37,
            first_ago=50,
            last_ago=0.7,
        )
    return b.build(
        "Flannel (vxlan) where node-3 has no spec.podCIDR: its kube-flannel pod crash-loops with 'pod cidr not "
        "assigned', /run/flannel/subnet.env is never written, and pods on node-3 stay in ContainerCreating.",
        allow_writes=True,
        facts={"cni": "flannel", "nodes_without_pod_cidr": 1, "pending_pods": len(stuck)},
    )


CILIUM_VERSION = "v1.15.6"
CILIUM_AGENT = Container("cilium-agent", f"quay.io/cilium/cilium:{CILIUM_VERSION}")
CILIUM_INIT = (
    Container("config", f"quay.io/cilium/cilium:{CILIUM_VERSION}"),
    Container("mount-cgroup", f"quay.io/cilium/cilium:{CILIUM_VERSION}"),
    Container("apply-sysctl-overwrites", f"quay.io/cilium/cilium:{CILIUM_VERSION}"),
    Container("mount-bpf-fs", f"quay.io/cilium/cilium:{CILIUM_VERSION}"),
    Container("clean-cilium-state", f"quay.io/cilium/cilium:{CILIUM_VERSION}"),
    Container("install-cni-binaries", f"quay.io/cilium/cilium:{CILIUM_VERSION}"),
)
CILIUM_CONFIG = {
    "agent-not-ready-taint-key": "node.cilium.io/agent-not-ready",
    "auto-direct-node-routes": "false",
    "cluster-name": "default",
    "cluster-pool-ipv4-cidr": POD_SUBNET,
    "cluster-pool-ipv4-mask-size": "24",
    "debug": "false",
    "enable-bpf-masquerade": "false",
    "enable-endpoint-health-checking": "true",
    "enable-health-checking": "true",
    "enable-ipv4": "true",
    "enable-ipv4-masquerade": "true",
    "enable-ipv6": "false",
    "enable-l7-proxy": "true",
    "identity-allocation-mode": "crd",
    "ipam": "cluster-pool",
    "kube-proxy-replacement": "false",
    "monitor-aggregation": "medium",
    "routing-mode": "tunnel",
    "tunnel-protocol": "vxlan",
}


def cilium_healthy(now: datetime | None = None) -> Scenario:
    b = ClusterBuilder("cilium-healthy", Clock.at(now))
    for i in range(3):
        b.node(
            node_name(i),
            node_ip(i),
            pod_cidr=node_pod_cidr(i),
            network=(False, "CiliumIsUp", "Cilium is running on this node"),
            annotations=uplink_annotations(),
        )
    host_local = HostLocal(b.pod_cidrs, first=10)
    used: dict[str, dict[str, Obj]] = {n: {} for n in b.node_names}
    internal: dict[str, tuple[str, str]] = {}
    for n in b.node_names:  # the agent takes the router (cilium_host) and health addresses first
        router, _ = host_local(n, "", "router", "")
        health, _ = host_local(n, "", "health", "")
        internal[n] = (router, health)
        used[n][router] = {"owner": "router"}
        used[n][health] = {"owner": "health"}

    def allocate(node: str, namespace: str, pod: str, sandbox: str) -> tuple[str, dict[str, str]]:
        ip, extra = host_local(node, namespace, pod, sandbox)
        used[node][ip] = {"owner": f"{namespace}/{pod}", "resource": f"{namespace}/{pod}"}
        return ip, extra

    b.allocate = allocate
    cluster_config(b)
    kube_proxy(b)
    b.configmap("kube-system", "cilium-config", CILIUM_CONFIG)
    _, agents = b.daemonset(
        "kube-system",
        "cilium",
        labels={"k8s-app": "cilium"},
        containers=(CILIUM_AGENT,),
        init_containers=CILIUM_INIT,
    )
    for pod in agents:
        node = pod["spec"]["nodeName"]
        text = logs.cilium_agent(b.clock, node, b.pod_cidrs[node])
        b.logs.add("kube-system", pod["metadata"]["name"], "cilium-agent", text)
    b.deployment(
        "kube-system",
        "cilium-operator",
        containers=(Container("cilium-operator", f"quay.io/cilium/operator-generic:{CILIUM_VERSION}"),),
        nodes=[node_name(0)],
        labels={"io.cilium/app": "operator", "name": "cilium-operator"},
        age=CLUSTER_AGE - 1,
        host_network=True,
        service_account="cilium-operator",
        priority_class="system-cluster-critical",
    )
    coredns(b, [node_name(0), node_name(1)])
    apps(b, {"web": 3, "frontend": 3, "cart": 3, "checkout": 3}, spread(b.node_names))
    for n in b.node_names:
        node_obj = b.find("nodes", None, n)
        router, health = internal[n]
        b.custom(
            "ciliumnodes.cilium.io",
            {
                "apiVersion": "cilium.io/v2",
                "kind": "CiliumNode",
                "metadata": {
                    **meta(
                        n,
                        None,
                        uid_=uid("cilium-healthy", "CiliumNode", n),
                        rv=b.rv(),
                        created=b.clock.ts(CLUSTER_AGE),
                        labels=dict(node_obj["metadata"]["labels"]),
                        generation=1,
                    ),
                    "ownerReferences": [
                        {"apiVersion": "v1", "kind": "Node", "name": n, "uid": node_obj["metadata"]["uid"]}
                    ],
                },
                "spec": {
                    "addresses": [
                        {"ip": b.node_ips[n], "type": "InternalIP"},
                        {"ip": router, "type": "CiliumInternalIP"},
                    ],
                    "alibaba-cloud": {},
                    "azure": {},
                    "bootid": uid("boot", n),
                    "encryption": {},
                    "eni": {},
                    "health": {"ipv4": health},
                    "ingress": {},
                    "ipam": {"podCIDRs": [b.pod_cidrs[n]], "pools": {}},
                },
                "status": {
                    "alibaba-cloud": {},
                    "azure": {},
                    "eni": {},
                    "ipam": {"operator-status": {}, "used": used[n]},
                },
            },
        )
    return b.build(
        "A healthy 3-node cluster on Cilium 1.15 (VXLAN tunnel, cluster-pool IPAM, one /24 per node).",
        allow_writes=False,
        facts={"cni": "cilium", "pod_addresses": sum(len(u) for u in used.values())},
    )
