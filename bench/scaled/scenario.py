"""scaled_scenario: a large generated Calico cluster for benchmarks (see scaled_layout for its arithmetic)."""

from __future__ import annotations

from datetime import datetime

from bench.scaled.chain import ChainCollection
from bench.scaled.ipam import Affinities, Blocks, Handles
from bench.scaled.layout import NAME, SYSTEM_BIT, Layout
from bench.scaled.pods import DaemonPods, Nodes, TenantPods
from bot.sim import logs
from bot.sim.base import COREDNS, KUBE_PROXY, cluster_config
from bot.sim.builder import CLUSTER_AGE, ClusterBuilder
from bot.sim.calico import cluster_information_spec, crd_object, felix_spec, ip_pool_spec
from bot.sim.model import LogBook, Scenario
from bot.sim.obj import Obj
from bot.sim.objects import Clock, build_event, hex64, meta, owner_ref, uid
from bot.sim.pods import (
    Container,
    PodSpec,
    build_pod,
    daemonset_object,
    daemonset_status,
    deployment_status,
    pod_template,
)
from bot.sim.resources import BY_KEY
from bot.sim.scenarios_calico import CALICO_NODE, CNI_NETWORK_CONFIG, KUBE_CONTROLLERS
from bot.sim.store import Collection, StaticCollection


def _system_pods(lay: Layout, b: ClusterBuilder) -> list[Obj]:
    """calico-kube-controllers and CoreDNS: real dicts, with addresses from the slots after each node's leaks."""
    pods = []
    for x, (name, container, n) in enumerate(lay.system):
        slot = 1 + lay.pods_on(n) + lay.leaks(n) + sum(1 for y in lay.system_on(n) if y < x)
        ip = lay.slot_ip(n, slot)
        rs = name.rsplit("-", 1)[0]
        app = "calico-kube-controllers" if container != "coredns" else "kube-dns"
        sandbox = lay.sandbox(x, SYSTEM_BIT)
        pods.append(
            build_pod(
                PodSpec(
                    namespace="kube-system",
                    name=name,
                    uid=uid(NAME, "Pod", "kube-system", name),
                    rv=b.rv(),
                    created=lay.clock.ts(CLUSTER_AGE - 1),
                    started=lay.clock.ts(CLUSTER_AGE - 1.1),
                    node=lay.node_name(n),
                    host_ip=lay.node_ip(n),
                    ip=ip,
                    containers=(KUBE_CONTROLLERS,) if container != "coredns" else (COREDNS,),
                    labels={"k8s-app": app, "pod-template-hash": rs.rsplit("-", 1)[1]},
                    owner=owner_ref("apps/v1", "ReplicaSet", rs, uid(NAME, "ReplicaSet", rs)),
                    generate_name=f"{rs}-",
                    annotations={
                        "cni.projectcalico.org/containerID": sandbox,
                        "cni.projectcalico.org/podIP": f"{ip}/32",
                        "cni.projectcalico.org/podIPs": f"{ip}/32",
                    },
                    service_account="coredns" if container == "coredns" else "calico-kube-controllers",
                    priority_class="system-cluster-critical",
                )
            )
        )
    return pods


def _deployment(b: ClusterBuilder, name: str, labels: dict[str, str], container: Container, pods: list[Obj]) -> Obj:
    created = b.clock.ts(CLUSTER_AGE)
    return {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": meta(
            name,
            "kube-system",
            uid_=uid(NAME, "Deployment", name),
            rv=b.rv(),
            created=created,
            labels=labels,
            annotations={"deployment.kubernetes.io/revision": "1"},
            generation=1,
        ),
        "spec": {
            "replicas": len(pods),
            "selector": {"matchLabels": dict(labels)},
            "template": pod_template(labels, (container,), host_network=False),
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
        "status": deployment_status(len(pods), pods, created),
    }


def _logs(lay: Layout, daemon: DaemonPods, tenants: TenantPods, clock: Clock) -> LogBook:
    def generate(namespace: str, pod: str, container: str, previous: bool) -> str | None:
        if namespace == "kube-system":
            index = daemon.index_of(namespace, pod)
            if index is None:
                return None
            n = index % lay.nodes
            node, ip = lay.node_name(n), lay.node_ip(n)
            if container == "kube-proxy":
                return None if previous else logs.kube_proxy(clock, node, ip)
            if container != "calico-node":
                return None
            if lay.is_bad(n):
                return logs.calico_node_oom(clock, node, ip)
            return None if previous else logs.calico_node_healthy(clock, node, ip, bgp=False)
        i = tenants.index_of(namespace, pod)
        return None if i is None or previous else logs.app(container)

    return LogBook(generate)


def scaled_scenario(nodes: int, pods: int, blocks: int, *, now: datetime | None = None) -> Scenario:
    """A Calico VXLAN cluster of `nodes` nodes, `pods` application pods (plus one calico-node and one
    kube-proxy per node and 3 kube-system pods) and `blocks` /26 IPAM blocks, every object generated on
    demand. Raises ValueError when the blocks cannot hold the pods."""
    clock = Clock.at(now)
    lay = Layout(nodes, pods, blocks, clock)
    lay.validate()
    b = ClusterBuilder(NAME, clock)
    cluster_config(b, pod_subnet=lay.pool_cidr)
    b.configmap(
        "kube-system",
        "calico-config",
        {
            "calico_backend": "vxlan",
            "cni_network_config": CNI_NETWORK_CONFIG,
            "typha_service_name": "calico-typha",
            "veth_mtu": "1450",
        },
    )
    created = clock.ts(CLUSTER_AGE)
    for plural, kind, spec in (
        ("ippools", "IPPool", ip_pool_spec(lay.pool_cidr, vxlan="Always")),
        ("felixconfigurations", "FelixConfiguration", felix_spec()),
        ("clusterinformations", "ClusterInformation", cluster_information_spec("k8s,bgp,kubeadm,kdd,typha")),
        ("ipamconfigs", "IPAMConfig", {"autoAllocateBlocks": True, "strictAffinity": False}),
    ):
        name = "default-ipv4-ippool" if plural == "ippools" else "default"
        b.custom(f"{plural}.crd.projectcalico.org", crd_object(kind, name, spec, rv=b.rv(), created=created))
    bad = len(range(13, nodes, 100))
    for ds, containers, ready in (
        ("calico-node", (CALICO_NODE,), nodes - bad),
        ("kube-proxy", (KUBE_PROXY,), nodes),
    ):
        b.add(
            "daemonsets",
            daemonset_object(
                "kube-system",
                ds,
                uid_=uid(NAME, "DaemonSet", "kube-system", ds),
                rv=b.rv(),
                created=created,
                labels={"k8s-app": ds},
                containers=containers,
                status=daemonset_status(nodes, nodes, ready),
            ),
        )
    system = _system_pods(lay, b)
    b.objects["deployments"] = [
        _deployment(b, "calico-kube-controllers", {"k8s-app": "calico-kube-controllers"}, KUBE_CONTROLLERS, system[:1]),
        _deployment(b, "coredns", {"k8s-app": "kube-dns"}, COREDNS, system[1:]),
    ]
    for pod in system:
        container = pod["spec"]["containers"][0]["name"]
        text = logs.coredns(clock) if container == "coredns" else logs.calico_kube_controllers(clock)
        b.logs.add("kube-system", pod["metadata"]["name"], container, text)

    daemon, tenants = DaemonPods(lay), TenantPods(lay)
    for i in lay.stuck:
        pod = tenants.item(i)
        b.add(
            "events",
            build_event(
                pod,
                reason="FailedCreatePodSandBox",
                message="Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for "
                f'sandbox "{hex64("failed", i)}": plugin type="calico" failed (add): stat /var/lib/calico/nodename: '
                "no such file or directory: check that the calico/node container is running and has mounted "
                "/var/lib/calico/",
                type_="Warning",
                count=11,
                first=clock.ts(19),
                last=clock.ts(0.5),
                component="kubelet",
                host=pod["spec"]["nodeName"],
                rv=b.rv(),
            ),
        )
    for n in range(13, nodes, 100):
        pod = daemon.item(n)
        name = pod["metadata"]["name"]
        b.add(
            "events",
            build_event(
                pod,
                reason="BackOff",
                message=f"Back-off restarting failed container calico-node in pod {name}_kube-system"
                f"({pod['metadata']['uid']})",
                type_="Warning",
                count=40,
                first=clock.ts(45),
                last=clock.ts(0.3),
                component="kubelet",
                host=pod["spec"]["nodeName"],
                rv=b.rv(),
                field_path="spec.containers{calico-node}",
            ),
        )
    namespaces = ["default", "kube-node-lease", "kube-public", "kube-system"]
    namespaces += [f"tenant-{k:03d}" for k in range(lay.namespaces)]
    b.objects["namespaces"] = [
        {
            "kind": "Namespace",
            "apiVersion": "v1",
            "metadata": meta(
                ns,
                None,
                uid_=uid(NAME, "Namespace", ns),
                rv=b.rv(),
                created=created,
                labels={"kubernetes.io/metadata.name": ns},
            ),
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }
        for ns in namespaces
    ]
    objects: dict[str, Collection] = {key: StaticCollection(BY_KEY[key], objs) for key, objs in b.objects.items()}
    objects["nodes"] = Nodes(lay)
    objects["pods"] = ChainCollection([StaticCollection(BY_KEY["pods"], system), daemon, tenants])
    objects["ipamblocks.crd.projectcalico.org"] = Blocks(lay)
    objects["blockaffinities.crd.projectcalico.org"] = Affinities(lay)
    objects["ipamhandles.crd.projectcalico.org"] = Handles(lay)
    book = _logs(lay, daemon, tenants, clock)
    book.entries.update(b.logs.entries)
    live = pods - len(lay.stuck)
    allocated = nodes + live + lay.leaked_total + len(lay.system)
    return Scenario(
        name=NAME,
        description=f"A generated Calico VXLAN cluster: {nodes} nodes, {pods} application pods, {blocks} /26 "
        f"blocks in {lay.pool_cidr}; {bad} nodes with calico-node OOM-killed and {len(lay.stuck)} pods stuck "
        f"in ContainerCreating; {lay.leaked_total} leaked addresses.",
        allow_writes=False,
        objects=objects,
        logs=book,
        resource_version=b.rv(),
        facts={
            "cni": "calico",
            "pool": lay.pool_cidr,
            "pool_addresses": 2 ** (32 - lay.pool_prefix),
            "blocks": blocks,
            "allocated": allocated,
            "tunnel_addresses": nodes,
            "pod_allocations": live + len(lay.system),
            "leaked": lay.leaked_total,
            "pending_pods": len(lay.stuck),
            "calico_node_not_ready": bad,
        },
    )
