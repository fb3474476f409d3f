"""The Calico scenarios: healthy, ipam-exhausted, mtu-mismatch and calico-bgp-down."""

from __future__ import annotations

from dataclasses import dataclass, field
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
from bot.sim.builder import CLUSTER_AGE, ClusterBuilder
from bot.sim.calico import (
    CALICO_VERSION,
    CalicoIpam,
    cluster_information_spec,
    crd_object,
    felix_spec,
    ip_pool_spec,
)
from bot.sim.model import Scenario
from bot.sim.obj import Obj
from bot.sim.objects import Clock, meta, uid
from bot.sim.pods import UNREADY, Container

CALICO_NODE = Container("calico-node", f"docker.io/calico/node:{CALICO_VERSION}")
CALICO_INIT = (
    Container("upgrade-ipam", f"docker.io/calico/cni:{CALICO_VERSION}"),
    Container("install-cni", f"docker.io/calico/cni:{CALICO_VERSION}"),
    Container("mount-bpffs", f"docker.io/calico/node:{CALICO_VERSION}"),
)
KUBE_CONTROLLERS = Container("calico-kube-controllers", f"docker.io/calico/kube-controllers:{CALICO_VERSION}")
CNI_NETWORK_CONFIG = """{
  "name": "k8s-pod-network",
  "cniVersion": "0.3.1",
  "plugins": [
    {
      "type": "calico",
      "log_level": "info",
      "log_file_path": "/var/log/calico/cni/cni.log",
      "datastore_type": "kubernetes",
      "nodename": "__KUBERNETES_NODE_NAME__",
      "mtu": __CNI_MTU__,
      "ipam": {
          "type": "calico-ipam"
      },
      "policy": {
          "type": "k8s"
      },
      "kubernetes": {
          "kubeconfig": "__KUBECONFIG_FILEPATH__"
      }
    },
    {
      "type": "portmap",
      "snat": true,
      "capabilities": {"portMappings": true}
    },
    {
      "type": "bandwidth",
      "capabilities": {"bandwidth": true}
    }
  ]
}"""


@dataclass
class CalicoSetup:
    mode: str = "vxlan"  # or "ipip" (BGP-routed, IP-in-IP)
    pool: str = POD_SUBNET
    nodes: int = 3
    veth_mtu: str = "1450"
    felix_mtus: dict[str, int] = field(default_factory=dict)
    node_states: dict[str, str] = field(default_factory=dict)  # calico-node pod state per node


class CalicoCluster:
    """A ClusterBuilder with Calico installed as the manifest installs it, IPAM included."""

    def __init__(self, name: str, clock: Clock, setup: CalicoSetup) -> None:
        self.setup = setup
        b = self.b = ClusterBuilder(name, clock)
        self.ipam = CalicoIpam(setup.pool, clock)
        kind = "vxlanTunnelAddress" if setup.mode == "vxlan" else "ipipTunnelAddress"
        tunnel_annotation = (
            "projectcalico.org/IPv4VXLANTunnelAddr" if setup.mode == "vxlan" else "projectcalico.org/IPv4IPIPTunnelAddr"
        )
        for i in range(setup.nodes):
            tunnel = self.ipam.assign_tunnel(node_name(i), kind, prefer=node_pod_cidr(i))
            b.node(
                node_name(i),
                node_ip(i),
                pod_cidr=node_pod_cidr(i),
                network=(False, "CalicoIsUp", "Calico is running on this node"),
                annotations={
                    "projectcalico.org/IPv4Address": f"{node_ip(i)}/24",
                    tunnel_annotation: tunnel,
                    **uplink_annotations(),
                },
            )
        b.allocate = self.allocate
        cluster_config(b)
        kube_proxy(b)
        _, self.calico_pods = b.daemonset(
            "kube-system",
            "calico-node",
            labels={"k8s-app": "calico-node"},
            containers=(CALICO_NODE,),
            init_containers=CALICO_INIT,
            states=setup.node_states,
        )
        bgp = setup.mode != "vxlan"
        for pod in self.calico_pods:
            node = pod["spec"]["nodeName"]
            text = logs.calico_node_healthy(b.clock, node, b.node_ips[node], bgp=bgp)
            b.logs.add("kube-system", pod["metadata"]["name"], "calico-node", text)
        _, controllers = b.deployment(
            "kube-system",
            "calico-kube-controllers",
            containers=(KUBE_CONTROLLERS,),
            nodes=[node_name(0)],
            labels={"k8s-app": "calico-kube-controllers"},
            age=CLUSTER_AGE - 1,
            service_account="calico-kube-controllers",
            priority_class="system-cluster-critical",
        )
        b.logs.add(
            "kube-system",
            controllers[0]["metadata"]["name"],
            "calico-kube-controllers",
            logs.calico_kube_controllers(b.clock),
        )
        b.configmap(
            "kube-system",
            "calico-config",
            {
                "calico_backend": "vxlan" if setup.mode == "vxlan" else "bird",
                "cni_network_config": CNI_NETWORK_CONFIG,
                "typha_service_name": "none",
                "veth_mtu": setup.veth_mtu,
            },
        )
        created = b.clock.ts(CLUSTER_AGE)
        vxlan, ipip = ("Always", "Never") if setup.mode == "vxlan" else ("Never", "Always")
        self.crd("ippools", "IPPool", "default-ipv4-ippool", ip_pool_spec(setup.pool, vxlan=vxlan, ipip=ipip))
        self.crd("felixconfigurations", "FelixConfiguration", "default", felix_spec(**setup.felix_mtus))
        # the manifest install reports "bgp" in clusterType even when BIRD is off (VXLAN)
        self.crd(
            "clusterinformations", "ClusterInformation", "default", cluster_information_spec("k8s,bgp,kubeadm,kdd")
        )
        self.crd("ipamconfigs", "IPAMConfig", "default", {"autoAllocateBlocks": True, "strictAffinity": False})
        if bgp:
            self.crd(
                "bgpconfigurations",
                "BGPConfiguration",
                "default",
                {"asNumber": 64512, "logSeverityScreen": "Info", "nodeToNodeMeshEnabled": True},
            )
        self._created = created

    def crd(self, plural: str, kind: str, name: str, spec: Obj) -> Obj:
        obj = crd_object(kind, name, spec, rv=self.b.rv(), created=self.b.clock.ts(CLUSTER_AGE))
        return self.b.custom(f"{plural}.crd.projectcalico.org", obj)

    def allocate(self, node: str, namespace: str, pod: str, sandbox: str) -> tuple[str, dict[str, str]]:
        ip = self.ipam.assign_pod(node, namespace, pod, sandbox, prefer=self.b.pod_cidrs.get(node))
        return ip, {
            "cni.projectcalico.org/containerID": sandbox,
            "cni.projectcalico.org/podIP": f"{ip}/32",
            "cni.projectcalico.org/podIPs": f"{ip}/32",
        }

    def finish(self, description: str, *, allow_writes: bool, facts: dict[str, int | str] | None = None) -> Scenario:
        b = self.b
        for key, objs in self.ipam.objects(b.rv, self._created).items():
            b.objects[key] = objs
        live = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in b.objects["pods"]}
        allocated = tunnel = leaked = 0
        for block in self.ipam.blocks:
            for a in block.allocations:
                if a is None:
                    continue
                allocated += 1
                secondary = block.attributes[a]["secondary"]
                if "type" in secondary:
                    tunnel += 1
                elif (secondary["namespace"], secondary["pod"]) not in live:
                    leaked += 1
        summary: dict[str, int | str] = {
            "cni": "calico",
            "pool": str(self.ipam.pool),
            "pool_addresses": self.ipam.pool.num_addresses,
            "blocks": len(self.ipam.blocks),
            "allocated": allocated,
            "tunnel_addresses": tunnel,
            "pod_allocations": allocated - tunnel - leaked,
            "leaked": leaked,
        }
        return b.build(description, allow_writes=allow_writes, facts={**summary, **(facts or {})})


def _normal_start_events(b: ClusterBuilder, pods: list[Obj], image: str) -> None:
    for pod in pods:
        node = pod["spec"]["nodeName"]
        name = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
        container = pod["spec"]["containers"][0]["name"]
        path = f"spec.containers{{{container}}}"
        b.event(
            pod,
            "Scheduled",
            f"Successfully assigned {name} to {node}",
            type_="Normal",
            component="default-scheduler",
            host="",
            first_ago=35,
            last_ago=35,
        )
        b.event(
            pod,
            "Pulled",
            f'Container image "{image}" already present on machine',
            type_="Normal",
            first_ago=34.9,
            last_ago=34.9,
            field_path=path,
        )
        b.event(
            pod,
            "Created",
            f"Created container {container}",
            type_="Normal",
            first_ago=34.9,
            last_ago=34.9,
            field_path=path,
        )
        b.event(
            pod,
            "Started",
            f"Started container {container}",
            type_="Normal",
            first_ago=34.8,
            last_ago=34.8,
            field_path=path,
        )


HEALTHY_APPS = {"web": 3, "frontend": 3, "cart": 3, "checkout": 3, "catalog": 3, "payments": 2, "redis": 1}


def _calico_apps(c: CalicoCluster) -> None:
    b = c.b
    coredns(b, [node_name(0), node_name(1)])
    placement = spread(b.node_names)
    apps(b, HEALTHY_APPS, placement)
    recent = apps(b, {"api": 2}, placement, age=35)
    _normal_start_events(b, recent["api"], "ghcr.io/example/api:1.8.2")


def healthy(now: datetime | None = None) -> Scenario:
    c = CalicoCluster("healthy", Clock.at(now), CalicoSetup())
    _calico_apps(c)
    return c.finish(
        "A healthy 3-node cluster: Calico v3.27.2 in VXLAN mode, one /26 block per node, 20 app pods.",
        allow_writes=False,
    )


def mtu_mismatch(now: datetime | None = None) -> Scenario:
    c = CalicoCluster("mtu-mismatch", Clock.at(now), CalicoSetup(veth_mtu="1500", felix_mtus={"vxlanMTU": 1500}))
    _calico_apps(c)
    b = c.b
    b.custom(
        "installations.operator.tigera.io",
        {
            "apiVersion": "operator.tigera.io/v1",
            "kind": "Installation",
            "metadata": meta(
                "default",
                None,
                uid_=uid("mtu-mismatch", "Installation", "default"),
                rv=b.rv(),
                created=b.clock.ts(CLUSTER_AGE),
                generation=3,
            ),
            "spec": {
                "calicoNetwork": {
                    "bgp": "Disabled",
                    "hostPorts": "Enabled",
                    "ipPools": [
                        {
                            "blockSize": 26,
                            "cidr": POD_SUBNET,
                            "disableBGPExport": False,
                            "encapsulation": "VXLAN",
                            "natOutgoing": "Enabled",
                            "nodeSelector": "all()",
                        }
                    ],
                    "linuxDataplane": "Iptables",
                    "mtu": 1500,
                    "multiInterfaceMode": "None",
                    "nodeAddressAutodetectionV4": {"firstFound": True},
                },
                "cni": {"ipam": {"type": "Calico"}, "type": "Calico"},
                "controlPlaneReplicas": 2,
                "flexVolumePath": "/usr/libexec/kubernetes/kubelet-plugins/volume/exec/",
                "kubeletVolumePluginPath": "/var/lib/kubelet",
                "nonPrivileged": "Disabled",
                "variant": "Calico",
            },
            "status": {
                "calicoVersion": CALICO_VERSION,
                "mtu": 1500,
                "variant": "Calico",
                "conditions": [
                    {
                        "lastTransitionTime": b.clock.ts(60 * 24),
                        "message": "All Objects Available",
                        "observedGeneration": 3,
                        "reason": "AllObjectsAvailable",
                        "status": "True",
                        "type": "Ready",
                    }
                ],
            },
        },
    )
    return c.finish(
        "Calico VXLAN with the pod MTU set to 1500 (ConfigMap, Installation and FelixConfiguration) on 1500-byte "
        "node uplinks: VXLAN's 50 bytes do not fit, so large packets between nodes are dropped.",
        allow_writes=True,
        facts={"veth_mtu": 1500, "uplink_mtu": 1500, "expected_mtu": 1450},
    )


def calico_bgp_down(now: datetime | None = None) -> Scenario:
    down = [node_name(1), node_name(2)]
    c = CalicoCluster(
        "calico-bgp-down",
        Clock.at(now),
        CalicoSetup(mode="ipip", veth_mtu="1480", node_states=dict.fromkeys(down, UNREADY)),
    )
    _calico_apps(c)
    b = c.b
    ips = [node_ip(i) for i in range(3)]
    for pod in c.calico_pods:
        node = pod["spec"]["nodeName"]
        if node not in down:
            continue
        me = b.node_ips[node]
        peers = [ip for ip in ips if ip != me]
        b.logs.add(
            "kube-system",
            pod["metadata"]["name"],
            "calico-node",
            logs.calico_node_bgp_down(b.clock, node, me, peers),
        )
        b.event(
            pod,
            "Unhealthy",
            f"Readiness probe failed: calico/node is not ready: BIRD is not ready: BGP not established with "
            f"{','.join(peers)}",
            count=268,
            first_ago=45,
            last_ago=0.2,
            field_path="spec.containers{calico-node}",
        )
    return c.finish(
        "Calico in BGP mode (IP-in-IP, node-to-node mesh): BIRD on node-2 and node-3 cannot establish its BGP "
        "sessions (TCP 179 refused), so their calico-node pods are Running but not Ready (DaemonSet 1/3 ready).",
        allow_writes=True,
        facts={"calico_node_ready": 1, "calico_node_desired": 3},
    )
