"""ClusterBuilder: assembles a small scenario object by object, keeping owners, IPs and counts consistent."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from bot.sim.model import LogBook, Scenario
from bot.sim.obj import Obj
from bot.sim.objects import Clock, NodeSpec, build_event, build_node, hex64, meta, owner_ref, rand_suffix, uid
from bot.sim.pods import (
    CRASHLOOP,
    CREATING,
    RUNNING,
    UNSCHEDULED,
    Container,
    PodSpec,
    build_pod,
    daemonset_object,
    daemonset_status,
    deployment_status,
    pod_ready,
    pod_template,
)
from bot.sim.resources import BY_KEY
from bot.sim.store import StaticCollection

CLUSTER_AGE = 60 * 24 * 30  # minutes: the cluster was built a month before "now"
SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")

# Allocates a pod IP: (node, namespace, pod, sandbox id) -> (ip, annotations the CNI adds to the pod).
IpAllocator = Callable[[str, str, str, str], tuple[str, dict[str, str]]]


class HostLocal:
    """host-local IPAM as Flannel and Cilium's cluster-pool use it: sequential addresses from the node's
    podCIDR, skipping the first `first` addresses (the gateway / router)."""

    def __init__(self, pod_cidrs: dict[str, str], first: int = 2) -> None:
        self.pod_cidrs = pod_cidrs
        self.next: dict[str, int] = defaultdict(lambda: first)

    def __call__(self, node: str, namespace: str, pod: str, sandbox: str) -> tuple[str, dict[str, str]]:
        net = ipaddress.IPv4Network(self.pod_cidrs[node])
        ip = str(net[self.next[node]])
        self.next[node] += 1
        return ip, {}


class ClusterBuilder:
    def __init__(self, scenario: str, clock: Clock, *, kubelet: str = "v1.29.4") -> None:
        self.scenario = scenario
        self.clock = clock
        self.kubelet = kubelet
        self.objects: dict[str, list[Obj]] = defaultdict(list)
        self.logs = LogBook()
        self.node_ips: dict[str, str] = {}
        self.pod_cidrs: dict[str, str] = {}
        self._rv = 4000
        self.allocate: IpAllocator | None = None

    # -- plumbing ---------------------------------------------------------------------------------

    def rv(self) -> int:
        self._rv += 17  # etcd revisions of unrelated writes interleave, so gaps look natural
        return self._rv

    def uid(self, *parts: object) -> str:
        return uid(self.scenario, *parts)

    def object_meta(
        self, kind: str, name: str, namespace: str | None, *, age: float = CLUSTER_AGE, **extra: Any
    ) -> Obj:
        """Metadata of a new object: a uid derived from kind/namespace/name, the next resourceVersion."""
        ids = (kind, namespace, name) if namespace is not None else (kind, name)
        return meta(name, namespace, uid_=self.uid(*ids), rv=self.rv(), created=self.clock.ts(age), **extra)

    def add(self, key: str, obj: Obj) -> Obj:
        self.objects[key].append(obj)
        return obj

    def find(self, key: str, namespace: str | None, name: str) -> Obj:
        for obj in self.objects.get(key, []):
            if obj["metadata"]["name"] == name and obj["metadata"].get("namespace") == namespace:
                return obj
        raise KeyError(f"{key} {namespace}/{name}")

    # -- cluster-scoped -----------------------------------------------------------------------------

    def node(self, name: str, ip: str, *, pod_cidr: str | None, **kw: Any) -> Obj:
        self.node_ips[name] = ip
        if pod_cidr:
            self.pod_cidrs[name] = pod_cidr
        spec = NodeSpec(
            name=name,
            ip=ip,
            uid=self.uid("Node", name),
            rv=self.rv(),
            created=self.clock.ts(CLUSTER_AGE),
            heartbeat=self.clock.ts(0.5),
            pod_cidr=pod_cidr,
            kubelet=self.kubelet,
            **kw,
        )
        return self.add("nodes", build_node(spec))

    @property
    def node_names(self) -> list[str]:
        return list(self.node_ips)

    def custom(self, key: str, obj: Obj) -> Obj:
        return self.add(key, obj)

    # -- pods and workloads ---------------------------------------------------------------------------

    def pod(
        self,
        namespace: str,
        name: str,
        *,
        node: str | None,
        containers: tuple[Container, ...],
        labels: dict[str, str],
        state: str = RUNNING,
        age: float = CLUSTER_AGE - 5,
        host_network: bool = False,
        owner: Obj | None = None,
        generate_name: str | None = None,
        **kw: Any,
    ) -> Obj:
        """One pod; its IP comes from the node (host network) or the scenario's IP allocator."""
        ip: str | None = None
        annotations: dict[str, str] = dict(kw.pop("annotations", None) or {})
        sandbox = hex64("sandbox", self.scenario, namespace, name)
        if node and state not in (CREATING, UNSCHEDULED):
            if host_network:
                ip = self.node_ips[node]
            else:
                assert self.allocate is not None, "set builder.allocate before adding pod-network pods"
                ip, extra = self.allocate(node, namespace, name, sandbox)
                annotations.update(extra)
        restarts = kw.pop("restarts", 14 if state == CRASHLOOP else 0)
        spec = PodSpec(
            namespace=namespace,
            name=name,
            uid=self.uid("Pod", namespace, name),
            rv=self.rv(),
            created=self.clock.ts(age),
            started=self.clock.ts(min(age, 2.5) if state == CRASHLOOP else age - 0.2),
            node=node,
            host_ip=self.node_ips.get(node) if node else None,
            ip=ip,
            containers=containers,
            labels=labels,
            state=state,
            owner=owner,
            generate_name=generate_name,
            annotations=annotations or None,
            host_network=host_network,
            restarts=restarts,
            ids_seed=f"{self.scenario}/{namespace}/{name}",
            **kw,
        )
        return self.add("pods", build_pod(spec))

    def daemonset(
        self,
        namespace: str,
        name: str,
        *,
        labels: dict[str, str],
        containers: tuple[Container, ...],
        states: dict[str, str] | None = None,
        init_containers: tuple[Container, ...] = (),
        host_network: bool = True,
        service_account: str | None = None,
        **pod_kw: Any,
    ) -> tuple[Obj, list[Obj]]:
        """A DaemonSet with one pod per node (state per node, default Running) and a status that counts them."""
        ds_uid = self.uid("DaemonSet", namespace, name)
        owner = owner_ref("apps/v1", "DaemonSet", name, ds_uid)
        revision = rand_suffix(10, self.scenario, namespace, name, "revision")
        pods = []
        for node in self.node_names:
            pod_name = f"{name}-{rand_suffix(5, self.scenario, namespace, name, node)}"
            pods.append(
                self.pod(
                    namespace,
                    pod_name,
                    node=node,
                    containers=containers,
                    init_containers=init_containers,
                    labels={**labels, "controller-revision-hash": revision, "pod-template-generation": "1"},
                    state=(states or {}).get(node, RUNNING),
                    host_network=host_network,
                    owner=owner,
                    generate_name=f"{name}-",
                    service_account=service_account or name,
                    priority_class="system-node-critical",
                    **pod_kw,
                )
            )
        ds = daemonset_object(
            namespace,
            name,
            uid_=ds_uid,
            rv=self.rv(),
            created=self.clock.ts(CLUSTER_AGE),
            labels=labels,
            containers=containers,
            status=daemonset_status(len(self.node_names), len(pods), sum(1 for p in pods if pod_ready(p))),
            host_network=host_network,
        )
        self.add("daemonsets", ds)
        return ds, pods

    def deployment(
        self,
        namespace: str,
        name: str,
        *,
        containers: tuple[Container, ...],
        nodes: Iterable[str | None],
        labels: dict[str, str] | None = None,
        states: Iterable[str] = (),
        age: float = 60 * 24 * 3,
        extra_pods: int = 0,
        **pod_kw: Any,
    ) -> tuple[Obj, list[Obj]]:
        """A Deployment whose ReplicaSet put one pod on each of `nodes` (in order), with `states` per pod
        (Running by default). `extra_pods` more replicas are wanted than placed, as during a scale-up."""
        labels = labels or {"app": name}
        template_hash = rand_suffix(10, self.scenario, namespace, name, "rs")
        rs_name = f"{name}-{template_hash}"
        owner = owner_ref("apps/v1", "ReplicaSet", rs_name, self.uid("ReplicaSet", namespace, rs_name))
        state_list = list(states)
        pods = []
        for i, node in enumerate(nodes):
            pod_name = f"{rs_name}-{rand_suffix(5, self.scenario, namespace, name, i)}"
            pods.append(
                self.pod(
                    namespace,
                    pod_name,
                    node=node,
                    containers=containers,
                    labels={**labels, "pod-template-hash": template_hash},
                    state=state_list[i] if i < len(state_list) else RUNNING,
                    age=age if i >= len(state_list) or state_list[i] == RUNNING else 20,
                    owner=owner,
                    generate_name=f"{rs_name}-",
                    **pod_kw,
                )
            )
        replicas = len(pods) + extra_pods
        deploy = {
            "kind": "Deployment",
            "apiVersion": "apps/v1",
            "metadata": self.object_meta(
                "Deployment",
                name,
                namespace,
                age=age,
                labels=dict(labels),
                annotations={"deployment.kubernetes.io/revision": "1"},
                generation=1,
            ),
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": dict(labels)},
                "template": pod_template(labels, containers, host_network=bool(pod_kw.get("host_network"))),
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600,
            },
            "status": deployment_status(replicas, pods, self.clock.ts(age)),
        }
        self.add("deployments", deploy)
        return deploy, pods

    # -- the rest ----------------------------------------------------------------------------------------

    def event(
        self,
        involved: Obj,
        reason: str,
        message: str,
        *,
        type_: str = "Warning",
        count: int = 1,
        first_ago: float = 20,
        last_ago: float = 1,
        component: str = "kubelet",
        host: str | None = None,
        field_path: str | None = None,
    ) -> Obj:
        if host is None and component == "kubelet":
            host = involved.get("spec", {}).get("nodeName") or involved["metadata"]["name"]
        return self.add(
            "events",
            build_event(
                involved,
                reason=reason,
                message=message,
                type_=type_,
                count=count,
                first=self.clock.ts(first_ago),
                last=self.clock.ts(last_ago),
                component=component,
                host=host,
                rv=self.rv(),
                field_path=field_path,
            ),
        )

    def configmap(self, namespace: str, name: str, data: dict[str, str], labels: dict[str, str] | None = None) -> Obj:
        return self.add(
            "configmaps",
            {
                "kind": "ConfigMap",
                "apiVersion": "v1",
                "metadata": self.object_meta(
                    "ConfigMap",
                    name,
                    namespace,
                    labels=labels,
                ),
                "data": data,
            },
        )

    def service(
        self,
        namespace: str,
        name: str,
        cluster_ip: str,
        ports: list[Obj],
        *,
        selector: dict[str, str] | None = None,
        labels: dict[str, str] | None = None,
    ) -> Obj:
        spec: Obj = {"ports": ports}
        if selector:
            spec["selector"] = selector
        spec.update(
            {
                "clusterIP": cluster_ip,
                "clusterIPs": [cluster_ip],
                "type": "ClusterIP",
                "sessionAffinity": "None",
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "internalTrafficPolicy": "Cluster",
            }
        )
        return self.add(
            "services",
            {
                "kind": "Service",
                "apiVersion": "v1",
                "metadata": self.object_meta(
                    "Service",
                    name,
                    namespace,
                    labels=labels,
                ),
                "spec": spec,
                "status": {"loadBalancer": {}},
            },
        )

    def _namespaces(self) -> list[Obj]:
        names = set(SYSTEM_NAMESPACES)
        for key, objs in self.objects.items():
            if BY_KEY[key].namespaced:
                names.update(o["metadata"]["namespace"] for o in objs)
        return [
            {
                "kind": "Namespace",
                "apiVersion": "v1",
                "metadata": self.object_meta(
                    "Namespace",
                    ns,
                    None,
                    labels={"kubernetes.io/metadata.name": ns},
                ),
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }
            for ns in sorted(names)
        ]

    def build(self, description: str, *, allow_writes: bool, facts: dict[str, int | str]) -> Scenario:
        self.objects["namespaces"] = self._namespaces()
        return Scenario(
            name=self.scenario,
            description=description,
            allow_writes=allow_writes,
            objects={key: StaticCollection(BY_KEY[key], objs) for key, objs in self.objects.items()},
            logs=self.logs,
            resource_version=self._rv,
            kubernetes_version=self.kubelet,
            facts=facts,
        )
