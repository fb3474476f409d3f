"""Pods and the workload statuses derived from them, shaped as the kubelet and controllers report them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.sim.obj import Obj
from bot.sim.objects import condition, hex64, meta


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    ports: tuple[int, ...] = ()


# How a pod's containers are doing; the scenarios need these five.
RUNNING = "running"  # Running and Ready
UNREADY = "unready"  # Running, readiness probe failing
CRASHLOOP = "crashloop"  # CrashLoopBackOff after exiting 1 (or OOMKilled)
CREATING = "creating"  # Pending in ContainerCreating: the sandbox cannot get a network
UNSCHEDULED = "unschedulable"  # Pending, no node fits


@dataclass(frozen=True)
class PodSpec:
    """Everything that varies between the scenarios' pods; `build_pod` turns it into the API shape."""

    namespace: str
    name: str
    uid: str
    rv: int | str
    created: str  # creationTimestamp
    started: str  # when the current container instance started
    node: str | None
    host_ip: str | None
    ip: str | None
    containers: tuple[Container, ...]
    labels: dict[str, str]
    state: str = RUNNING
    owner: Obj | None = None
    generate_name: str | None = None
    annotations: dict[str, str] | None = None
    init_containers: tuple[Container, ...] = ()
    host_network: bool = False
    service_account: str = "default"
    priority_class: str | None = None
    restarts: int = 0
    exit_reason: str = "Error"
    exit_code: int = 1
    waiting_message: str = ""
    unschedulable_message: str = ""
    ids_seed: str = ""  # seeds container ids; defaults to namespace/name


_TOLERATIONS_DEFAULT = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {
        "key": "node.kubernetes.io/unreachable",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    },
]
_TOLERATIONS_DAEMON = [
    {"operator": "Exists", "effect": "NoSchedule"},
    {"operator": "Exists", "effect": "NoExecute"},
    {"key": "CriticalAddonsOnly", "operator": "Exists"},
]


def image_id(image: str, seed: str) -> str:
    repo = image.split(":")[0]
    if "/" not in repo:
        repo = f"docker.io/library/{repo}"
    elif "." not in repo.split("/")[0]:
        repo = f"docker.io/{repo}"
    return f"{repo}@sha256:{hex64('image', image, seed)}"


def _container_spec(c: Container) -> Obj:
    spec: Obj = {"name": c.name, "image": c.image}
    if c.ports:
        spec["ports"] = [{"containerPort": p, "protocol": "TCP"} for p in c.ports]
    spec["resources"] = {}
    spec["terminationMessagePath"] = "/dev/termination-log"
    spec["terminationMessagePolicy"] = "File"
    spec["imagePullPolicy"] = "IfNotPresent"
    return spec


def pod_ids(p: PodSpec) -> dict[str, str]:
    """The ids build_pod derives (container and image ids), by slot: cid0, iid0 for containers, icid0, iiid0
    for init containers. A stencil (bench.scaled) swaps them like the pod's own fields."""
    seed = p.ids_seed or f"{p.namespace}/{p.name}"
    ids: dict[str, str] = {}
    for k, c in enumerate(p.containers):
        ids[f"cid{k}"] = f"containerd://{hex64('ctr', seed, c.name, p.restarts)}"
        ids[f"iid{k}"] = image_id(c.image, seed)
    for k, c in enumerate(p.init_containers):
        ids[f"icid{k}"] = f"containerd://{hex64('init', seed, c.name)}"
        ids[f"iiid{k}"] = image_id(c.image, seed)
    return ids


def _container_status(p: PodSpec, c: Container, cid: str, iid: str) -> Obj:
    status: Obj = {"name": c.name}
    if p.state in (RUNNING, UNREADY):
        status["state"] = {"running": {"startedAt": p.started}}
        status["lastState"] = {}
        status["ready"] = p.state == RUNNING
        status["restartCount"] = p.restarts
        status["image"] = c.image
        status["imageID"] = iid
        status["containerID"] = cid
        status["started"] = True
    elif p.state == CRASHLOOP:
        message = p.waiting_message or (
            f"back-off 5m0s restarting failed container={c.name} pod={p.name}_{p.namespace}({p.uid})"
        )
        status["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": message}}
        status["lastState"] = {
            "terminated": {
                "exitCode": p.exit_code,
                "reason": p.exit_reason,
                "startedAt": p.started,
                "finishedAt": p.started,
                "containerID": cid,
            }
        }
        status["ready"] = False
        status["restartCount"] = p.restarts
        status["image"] = c.image
        status["imageID"] = iid
        status["containerID"] = cid
        status["started"] = False
    else:  # CREATING
        status["state"] = {"waiting": {"reason": "ContainerCreating"}}
        status["lastState"] = {}
        status["ready"] = False
        status["restartCount"] = 0
        status["image"] = c.image
        status["imageID"] = ""
        status["started"] = False
    return status


def _init_status(c: Container, p: PodSpec, cid: str, iid: str) -> Obj:
    return {
        "name": c.name,
        "state": {
            "terminated": {
                "exitCode": 0,
                "reason": "Completed",
                "startedAt": p.created,
                "finishedAt": p.created,
                "containerID": cid,
            }
        },
        "lastState": {},
        "ready": True,
        "restartCount": 0,
        "image": c.image,
        "imageID": iid,
        "containerID": cid,
        "started": False,
    }


def build_pod(p: PodSpec) -> Obj:
    ids = pod_ids(p)
    spec: Obj = {}
    if p.init_containers:
        spec["initContainers"] = [_container_spec(c) for c in p.init_containers]
    spec["containers"] = [_container_spec(c) for c in p.containers]
    spec["restartPolicy"] = "Always"
    spec["terminationGracePeriodSeconds"] = 30
    spec["dnsPolicy"] = "ClusterFirstWithHostNet" if p.host_network else "ClusterFirst"
    spec["serviceAccountName"] = p.service_account
    spec["serviceAccount"] = p.service_account
    if p.node:
        spec["nodeName"] = p.node
    if p.host_network:
        spec["hostNetwork"] = True
    spec["securityContext"] = {}
    spec["schedulerName"] = "default-scheduler"
    spec["tolerations"] = _TOLERATIONS_DAEMON if p.host_network else _TOLERATIONS_DEFAULT
    if p.priority_class:
        spec["priorityClassName"] = p.priority_class
        spec["priority"] = 2000001000 if p.priority_class == "system-node-critical" else 2000000000
    else:
        spec["priority"] = 0
    spec["enableServiceLinks"] = True
    spec["preemptionPolicy"] = "PreemptLowerPriority"

    ready = p.state == RUNNING
    status: Obj = {}
    if p.state == UNSCHEDULED:
        status["phase"] = "Pending"
        status["conditions"] = [condition("PodScheduled", False, p.created, "Unschedulable", p.unschedulable_message)]
        status["qosClass"] = "BestEffort"
        return _pod(p, spec, status)
    status["phase"] = "Pending" if p.state == CREATING else "Running"
    sandbox_ok = p.state != CREATING
    not_ready = "" if ready else f"containers with unready status: [{' '.join(c.name for c in p.containers)}]"
    status["conditions"] = [
        condition("PodReadyToStartContainers", sandbox_ok, p.started),
        condition("Initialized", True, p.created),
        condition("Ready", ready, p.started, "" if ready else "ContainersNotReady", not_ready),
        condition("ContainersReady", ready, p.started, "" if ready else "ContainersNotReady", not_ready),
        condition("PodScheduled", True, p.created),
    ]
    if p.host_ip:
        status["hostIP"] = p.host_ip
        status["hostIPs"] = [{"ip": p.host_ip}]
    if p.ip:
        status["podIP"] = p.ip
        status["podIPs"] = [{"ip": p.ip}]
    status["startTime"] = p.created
    if p.init_containers:
        status["initContainerStatuses"] = [
            _init_status(c, p, ids[f"icid{k}"], ids[f"iiid{k}"]) for k, c in enumerate(p.init_containers)
        ]
    status["containerStatuses"] = [
        _container_status(p, c, ids[f"cid{k}"], ids[f"iid{k}"]) for k, c in enumerate(p.containers)
    ]
    status["qosClass"] = "BestEffort"
    return _pod(p, spec, status)


def _pod(p: PodSpec, spec: Obj, status: Obj) -> Obj:
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": meta(
            p.name,
            p.namespace,
            uid_=p.uid,
            rv=p.rv,
            created=p.created,
            labels=p.labels,
            annotations=p.annotations,
            owner=p.owner,
            generate_name=p.generate_name,
        ),
        "spec": spec,
        "status": status,
    }


def pod_ready(pod: Obj) -> bool:
    for c in pod["status"].get("conditions", []):
        if c["type"] == "Ready":
            return bool(c["status"] == "True")
    return False


def pod_template(labels: dict[str, str], containers: tuple[Container, ...], *, host_network: bool) -> Obj:
    spec: Obj = {"containers": [_container_spec(c) for c in containers]}
    spec["restartPolicy"] = "Always"
    spec["terminationGracePeriodSeconds"] = 30
    spec["dnsPolicy"] = "ClusterFirstWithHostNet" if host_network else "ClusterFirst"
    if host_network:
        spec["hostNetwork"] = True
    spec["securityContext"] = {}
    spec["schedulerName"] = "default-scheduler"
    return {"metadata": {"creationTimestamp": None, "labels": dict(labels)}, "spec": spec}


def daemonset_status(desired: int, current: int, ready: int, generation: int = 1) -> Obj:
    """Counts as the DaemonSet controller reports them; zero-valued omitempty fields are left out."""
    status: Obj = {
        "currentNumberScheduled": current,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": desired,
        "numberReady": ready,
        "observedGeneration": generation,
    }
    if current:
        status["updatedNumberScheduled"] = current
    if ready:
        status["numberAvailable"] = ready
    if desired - ready > 0:
        status["numberUnavailable"] = desired - ready
    return status


def daemonset_object(
    namespace: str,
    name: str,
    *,
    uid_: str,
    rv: int,
    created: str,
    labels: dict[str, str],
    containers: tuple[Container, ...],
    status: Obj,
    host_network: bool = True,
) -> Obj:
    return {
        "kind": "DaemonSet",
        "apiVersion": "apps/v1",
        "metadata": meta(
            name,
            namespace,
            uid_=uid_,
            rv=rv,
            created=created,
            labels=dict(labels),
            annotations={"deprecated.daemonset.template.generation": "1"},
            generation=1,
        ),
        "spec": {
            "selector": {"matchLabels": dict(labels)},
            "template": pod_template(labels, containers, host_network=host_network),
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
            "revisionHistoryLimit": 10,
        },
        "status": status,
    }


def deployment_status(replicas: int, pods: list[Obj], when: str, generation: int = 1) -> Obj:
    """Counts and conditions as the Deployment controller reports them."""
    ready = sum(1 for p in pods if pod_ready(p))
    status: Obj = {"observedGeneration": generation}
    if len(pods):
        status["replicas"] = len(pods)
        status["updatedReplicas"] = len(pods)
    if ready:
        status["readyReplicas"] = ready
        status["availableReplicas"] = ready
    if replicas - ready > 0:
        status["unavailableReplicas"] = replicas - ready
    available = ready >= replicas
    status["conditions"] = [
        {
            "type": "Available",
            "status": "True" if available else "False",
            "lastUpdateTime": when,
            "lastTransitionTime": when,
            "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
            "message": "Deployment has minimum availability."
            if available
            else "Deployment does not have minimum availability.",
        },
        {
            "type": "Progressing",
            "status": "True",
            "lastUpdateTime": when,
            "lastTransitionTime": when,
            "reason": "NewReplicaSetAvailable" if available else "ReplicaSetUpdated",
            "message": "ReplicaSet has successfully progressed.",
        },
    ]
    return status
