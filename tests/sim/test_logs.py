"""Pod logs: plain text per container, tailLines, previous, and the apiserver's refusals."""

from __future__ import annotations

import json

import pytest
from kubernetes.client.exceptions import ApiException

from tests.sim.conftest import Kube


def pod_on(kube: Kube, node: str, selector: str, namespace: str = "kube-system") -> str:
    pods = kube.core.list_namespaced_pod(namespace, label_selector=selector, field_selector=f"spec.nodeName={node}")
    assert len(pods.items) == 1
    return str(pods.items[0].metadata.name)


def test_bgp_down_logs_show_bird_failing_only_on_the_broken_nodes(clusters: dict[str, Kube]) -> None:
    kube = clusters["calico-bgp-down"]
    broken = kube.core.read_namespaced_pod_log(pod_on(kube, "node-3", "k8s-app=calico-node"), "kube-system")
    assert "bird: Mesh_10_0_0_12: Socket error: bind header: connect: Connection refused" in broken
    assert "bird: Mesh_10_0_0_11: Socket error" in broken
    assert "[INFO][88] confd/client.go 1050:" in broken
    healthy = kube.core.read_namespaced_pod_log(pod_on(kube, "node-1", "k8s-app=calico-node"), "kube-system")
    assert "Socket error" not in healthy and "WARNING" not in healthy and "ERROR" not in healthy
    assert "State changed to up" in healthy


def test_tail_lines_and_container(clusters: dict[str, Kube]) -> None:
    kube = clusters["healthy"]
    name = pod_on(kube, "node-1", "k8s-app=calico-node")
    whole = kube.core.read_namespaced_pod_log(name, "kube-system", container="calico-node")
    tail = kube.core.read_namespaced_pod_log(name, "kube-system", tail_lines=2)
    assert tail.splitlines() == whole.splitlines()[-2:]
    assert kube.core.read_namespaced_pod_log(name, "kube-system", tail_lines=0) == ""
    raw = kube.core.read_namespaced_pod_log(name, "kube-system", _preload_content=False)
    assert raw.headers["Content-Type"].startswith("text/plain")
    assert raw.data.decode() == whole


def test_previous_log_of_a_crash_looping_pod(clusters: dict[str, Kube]) -> None:
    kube = clusters["flannel-subnet-missing"]
    name = pod_on(kube, "node-3", "app=flannel", "kube-flannel")
    current = kube.core.read_namespaced_pod_log(name, "kube-flannel")
    previous = kube.core.read_namespaced_pod_log(name, "kube-flannel", previous=True)
    lease = 'main.go:343] Error registering network: failed to acquire lease: node "node-3" pod cidr not assigned'
    assert lease in current and lease in previous and current != previous
    assert any(line.startswith("E1127 ") and lease in line for line in current.splitlines())


def error(call, *args, **kwargs) -> tuple[int, str]:
    with pytest.raises(ApiException) as caught:
        call(*args, **kwargs)
    return caught.value.status, json.loads(caught.value.body)["message"]


def test_log_refusals(clusters: dict[str, Kube]) -> None:
    kube = clusters["flannel-subnet-missing"]
    read = kube.core.read_namespaced_pod_log
    healthy = pod_on(kube, "node-1", "app=flannel", "kube-flannel")
    assert error(read, healthy, "kube-flannel", previous=True) == (
        400,
        f'previous terminated container "kube-flannel" in pod "{healthy}" not found',
    )
    assert error(read, healthy, "kube-flannel", container="nope") == (
        400,
        f"container nope is not valid for pod {healthy}",
    )
    stuck = kube.core.list_pod_for_all_namespaces(field_selector="status.phase=Pending").items[0]
    assert error(read, stuck.metadata.name, stuck.metadata.namespace) == (
        400,
        f'container "{stuck.spec.containers[0].name}" in pod "{stuck.metadata.name}" is waiting to start: '
        "ContainerCreating",
    )
    assert error(read, "nope", "kube-flannel") == (404, 'pods "nope" not found')
    # init containers have logs of their own (empty here)
    assert read(healthy, "kube-flannel", container="install-cni") == ""
