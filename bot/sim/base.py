"""What every scenario's cluster has besides its CNI: nodes, kube-proxy, CoreDNS, Services, kubeadm config."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import cycle
from typing import Any

from bot.sim import logs
from bot.sim.builder import CLUSTER_AGE, ClusterBuilder
from bot.sim.obj import Obj
from bot.sim.pods import RUNNING, UNSCHEDULED, Container

POD_SUBNET = "10.244.0.0/16"
SERVICE_SUBNET = "10.96.0.0/12"
KUBERNETES_VERSION = "v1.29.4"
KUBE_PROXY = Container("kube-proxy", f"registry.k8s.io/kube-proxy:{KUBERNETES_VERSION}")
COREDNS = Container("coredns", "registry.k8s.io/coredns/coredns:v1.11.1", (53, 9153))

# (namespace, name, image, port): the application workloads scenarios draw from.
APPS: dict[str, tuple[str, str, int]] = {
    "web": ("default", "nginx:1.25.4", 80),
    "api": ("default", "ghcr.io/example/api:1.8.2", 8080),
    "frontend": ("shop", "ghcr.io/example/shop-frontend:3.2.0", 8080),
    "cart": ("shop", "ghcr.io/example/cart:2.3.1", 8080),
    "checkout": ("shop", "ghcr.io/example/checkout:2.9.0", 8080),
    "catalog": ("shop", "ghcr.io/example/catalog:1.4.7", 8080),
    "payments": ("shop", "ghcr.io/example/payments:5.0.2", 8443),
    "redis": ("shop", "redis:7.2.4", 6379),
}


def node_name(i: int) -> str:
    return f"node-{i + 1}"


def node_ip(i: int) -> str:
    return f"10.0.0.{11 + i}"


def node_pod_cidr(i: int) -> str:
    return f"10.244.{i}.0/24"


def uplink_annotations() -> dict[str, str]:
    """Where cnibot reads the node's uplink MTU (no API field carries it)."""
    return {"cnibot.io/uplink-mtu": "1500"}


def cluster_config(b: ClusterBuilder, *, pod_subnet: str = POD_SUBNET, proxy_mode: str = "iptables") -> None:
    b.configmap(
        "kube-system",
        "kubeadm-config",
        {
            "ClusterConfiguration": (
                "apiServer:\n  extraArgs:\n    authorization-mode: Node,RBAC\n  timeoutForControlPlane: 4m0s\n"
                "apiVersion: kubeadm.k8s.io/v1beta3\ncertificatesDir: /etc/kubernetes/pki\n"
                "clusterName: kubernetes\ncontrolPlaneEndpoint: 10.0.0.10:6443\ncontrollerManager: {}\n"
                "dns: {}\netcd:\n  local:\n    dataDir: /var/lib/etcd\nimageRepository: registry.k8s.io\n"
                f"kind: ClusterConfiguration\nkubernetesVersion: {KUBERNETES_VERSION}\nnetworking:\n"
                f"  dnsDomain: cluster.local\n  podSubnet: {pod_subnet}\n  serviceSubnet: {SERVICE_SUBNET}\n"
                "scheduler: {}\n"
            )
        },
    )
    b.configmap(
        "kube-system",
        "kube-proxy",
        {
            "config.conf": (
                "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nbindAddress: 0.0.0.0\n"
                f"clusterCIDR: {pod_subnet}\nkind: KubeProxyConfiguration\nmode: {proxy_mode}\n"
                "iptables:\n  masqueradeAll: false\n  minSyncPeriod: 1s\n  syncPeriod: 30s\n"
            ),
            "kubeconfig.conf": (
                "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://10.0.0.10:6443\n"
                "  name: default\n"
            ),
        },
        labels={"app": "kube-proxy"},
    )
    b.configmap(
        "kube-system",
        "coredns",
        {
            "Corefile": (
                ".:53 {\n    errors\n    health {\n       lameduck 5s\n    }\n    ready\n"
                "    kubernetes cluster.local in-addr.arpa ip6.arpa {\n       pods insecure\n"
                "       fallthrough in-addr.arpa ip6.arpa\n       ttl 30\n    }\n"
                "    prometheus :9153\n    forward . /etc/resolv.conf {\n       max_concurrent 1000\n    }\n"
                "    cache 30\n    loop\n    reload\n    loadbalance\n}\n"
            )
        },
    )
    b.service(
        "default",
        "kubernetes",
        "10.96.0.1",
        [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": 6443}],
        labels={"component": "apiserver", "provider": "kubernetes"},
    )
    b.service(
        "kube-system",
        "kube-dns",
        "10.96.0.10",
        [
            {"name": "dns", "protocol": "UDP", "port": 53, "targetPort": 53},
            {"name": "dns-tcp", "protocol": "TCP", "port": 53, "targetPort": 53},
            {"name": "metrics", "protocol": "TCP", "port": 9153, "targetPort": 9153},
        ],
        selector={"k8s-app": "kube-dns"},
        labels={"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"},
    )


def kube_proxy(b: ClusterBuilder) -> None:
    _, pods = b.daemonset(
        "kube-system",
        "kube-proxy",
        labels={"k8s-app": "kube-proxy"},
        containers=(KUBE_PROXY,),
    )
    for pod in pods:
        node = pod["spec"]["nodeName"]
        b.logs.add(
            "kube-system", pod["metadata"]["name"], "kube-proxy", logs.kube_proxy(b.clock, node, b.node_ips[node])
        )


def coredns(b: ClusterBuilder, nodes: list[str | None], *, state: str = RUNNING, **kw: Any) -> list[Obj]:
    message = ""
    if state == UNSCHEDULED:
        message = (
            f"0/{len(b.node_names)} nodes are available: {len(b.node_names)} node(s) had untolerated taint "
            f"{{node.kubernetes.io/not-ready: }}. preemption: 0/{len(b.node_names)} nodes are available: "
            f"{len(b.node_names)} Preemption is not helpful for scheduling."
        )
    _, pods = b.deployment(
        "kube-system",
        "coredns",
        containers=(COREDNS,),
        nodes=nodes,
        labels={"k8s-app": "kube-dns"},
        states=[state] * len(nodes),
        age=CLUSTER_AGE - 2 if state == RUNNING else 25,
        service_account="coredns",
        priority_class="system-cluster-critical",
        unschedulable_message=message,
        **kw,
    )
    for pod in pods:
        if state == RUNNING:
            b.logs.add("kube-system", pod["metadata"]["name"], "coredns", logs.coredns(b.clock))
    return pods


def spread(nodes: list[str]) -> Iterator[str]:
    """Round-robin placement, as the scheduler's spreading roughly does on equal nodes."""
    return cycle(nodes)


def apps(
    b: ClusterBuilder,
    replicas: dict[str, int],
    placement: Iterator[str],
    *,
    states: dict[str, list[str]] | None = None,
    extra: dict[str, int] | None = None,
    age: float = 60 * 24 * 3,
) -> dict[str, list[Obj]]:
    """Application Deployments from APPS with a Service each; pods placed by `placement`."""
    out: dict[str, list[Obj]] = {}
    for n, (name, count) in enumerate(replicas.items()):
        namespace, image, port = APPS[name]
        _, pods = b.deployment(
            namespace,
            name,
            containers=(Container(name, image, (port,)),),
            nodes=[next(placement) for _ in range(count)],
            states=(states or {}).get(name, ()),
            extra_pods=(extra or {}).get(name, 0),
            age=age,
        )
        b.service(
            namespace,
            name,
            f"10.96.{20 + n}.{10 + n * 7}",
            [{"name": "http", "protocol": "TCP", "port": port, "targetPort": port}],
            selector={"app": name},
        )
        for pod in pods:
            if pod["status"]["phase"] == "Running":
                b.logs.add(namespace, pod["metadata"]["name"], name, logs.app(image))
        out[name] = pods
    return out
