"""Lists: label and field selectors, limit/continue pagination, and their error answers."""

from __future__ import annotations

import json

import pytest
from kubernetes.client.exceptions import ApiException

from tests.sim.conftest import Kube

LISTS = [
    ("healthy", "/api/v1/pods"),
    ("healthy", "/api/v1/events"),
    ("healthy", "/api/v1/namespaces/shop/pods"),
    ("ipam-exhausted", "/api/v1/pods"),
    ("ipam-exhausted", "/apis/crd.projectcalico.org/v1/ipamhandles"),
    ("ipam-exhausted", "/apis/crd.projectcalico.org/v1/ipamblocks"),
    ("ipam-exhausted", "/api/v1/events"),
    ("flannel-subnet-missing", "/api/v1/configmaps"),
]


def names(items: list) -> list[str]:
    return [f"{i.metadata.namespace}/{i.metadata.name}" for i in items]


def test_label_selectors(clusters: dict[str, Kube]) -> None:
    core = clusters["healthy"].core
    calico = core.list_pod_for_all_namespaces(label_selector="k8s-app=calico-node").items
    assert len(calico) == 3 and {p.spec.node_name for p in calico} == {"node-1", "node-2", "node-3"}
    both = core.list_pod_for_all_namespaces(label_selector="k8s-app in (calico-node, kube-proxy)").items
    assert len(both) == 6
    assert len(core.list_namespaced_pod("kube-system", label_selector="k8s-app==kube-proxy").items) == 3
    everything = core.list_pod_for_all_namespaces().items
    others = core.list_pod_for_all_namespaces(label_selector="k8s-app!=calico-node").items
    assert len(others) == len(everything) - 3
    owned = core.list_pod_for_all_namespaces(label_selector="pod-template-hash").items
    daemons = core.list_pod_for_all_namespaces(label_selector="!pod-template-hash").items
    assert len(owned) == 23 and len(daemons) == 6
    assert len(core.list_pod_for_all_namespaces(label_selector="app notin (web,cart),app").items) == 14
    assert len(core.list_pod_for_all_namespaces(label_selector="app=web,pod-template-hash").items) == 3
    nodes = core.list_node(label_selector="kubernetes.io/hostname=node-2").items
    assert [n.metadata.name for n in nodes] == ["node-2"]


def test_field_selectors(clusters: dict[str, Kube]) -> None:
    core = clusters["healthy"].core
    on_node_2 = core.list_pod_for_all_namespaces(field_selector="spec.nodeName=node-2").items
    assert on_node_2 and all(p.spec.node_name == "node-2" for p in on_node_2)
    not_node_2 = core.list_pod_for_all_namespaces(field_selector="spec.nodeName!=node-2").items
    assert len(on_node_2) + len(not_node_2) == len(core.list_pod_for_all_namespaces().items)
    assert [n.metadata.name for n in core.list_node(field_selector="metadata.name==node-3").items] == ["node-3"]
    shop = core.list_pod_for_all_namespaces(field_selector="metadata.namespace=shop,status.phase=Running").items
    assert shop and {p.metadata.namespace for p in shop} == {"shop"}
    host = core.list_pod_for_all_namespaces(field_selector="spec.hostNetwork=true").items
    assert {p.metadata.labels["k8s-app"] for p in host} == {"calico-node", "kube-proxy"}
    exhausted = clusters["ipam-exhausted"].core
    pending = exhausted.list_pod_for_all_namespaces(field_selector="status.phase=Pending").items
    assert len(pending) == 30


def test_event_field_selectors(clusters: dict[str, Kube]) -> None:
    core = clusters["ipam-exhausted"].core
    failures = core.list_event_for_all_namespaces(field_selector="reason=FailedCreatePodSandBox,type=Warning").items
    assert len(failures) == 30
    event = failures[0]
    assert event.involved_object.kind == "Pod" and event.source.component == "kubelet" and event.source.host
    assert event.count >= 1 and event.first_timestamp <= event.last_timestamp
    about = core.list_namespaced_event(
        "shop",
        field_selector=f"involvedObject.kind=Pod,involvedObject.name={event.involved_object.name},"
        "involvedObject.namespace=shop",
    ).items
    assert {e.reason for e in about} == {"Scheduled", "FailedCreatePodSandBox"}
    normal = core.list_event_for_all_namespaces(field_selector="type!=Warning").items
    assert {e.reason for e in normal} == {"Scheduled"}
    scheduler = core.list_event_for_all_namespaces(field_selector="source=default-scheduler").items
    assert len(scheduler) == len(normal)


@pytest.mark.parametrize(("scenario", "path"), LISTS)
def test_pagination_returns_every_item_exactly_once(clusters: dict[str, Kube], scenario: str, path: str) -> None:
    kube = clusters[scenario]
    whole = kube.json(path)
    assert "continue" not in whole["metadata"]
    seen: list[str] = []
    query: dict[str, object] = {"limit": 7}
    pages = 0
    while True:
        page = kube.json(path, **query)
        pages += 1
        assert len(page["items"]) <= 7
        seen += [json.dumps(item["metadata"]["uid"]) for item in page["items"]]
        token = page["metadata"].get("continue")
        if not token:
            assert "remainingItemCount" not in page["metadata"]
            break
        assert page["metadata"]["remainingItemCount"] == len(whole["items"]) - len(seen)
        assert page["metadata"]["resourceVersion"] == whole["metadata"]["resourceVersion"]
        query["continue"] = token
    assert seen == [json.dumps(item["metadata"]["uid"]) for item in whole["items"]]
    assert len(set(seen)) == len(seen)
    assert pages == -(-len(whole["items"]) // 7)


def test_pagination_with_selectors(clusters: dict[str, Kube]) -> None:
    kube = clusters["ipam-exhausted"]
    selected = kube.json("/api/v1/pods", labelSelector="app in (api,cart)", fieldSelector="spec.nodeName!=node-1")
    paged = kube.items("/api/v1/pods", labelSelector="app in (api,cart)", fieldSelector="spec.nodeName!=node-1")
    assert [p["metadata"]["name"] for p in paged] == [p["metadata"]["name"] for p in selected["items"]]
    assert len(paged) > 50  # several pages
    first = kube.json("/api/v1/pods", limit=10, labelSelector="app=api")
    assert "remainingItemCount" not in first["metadata"]  # unknown with selectors, as on a real apiserver


def test_limit_through_the_client(clusters: dict[str, Kube]) -> None:
    core = clusters["ipam-exhausted"].core
    first = core.list_pod_for_all_namespaces(limit=100)
    assert len(first.items) == 100 and first.metadata._continue and first.metadata.remaining_item_count == 190
    rest = core.list_pod_for_all_namespaces(limit=1000, _continue=first.metadata._continue)
    assert len(rest.items) == 190 and not rest.metadata._continue
    assert set(names(first.items)).isdisjoint(names(rest.items))


def test_selector_and_paging_errors_are_400(clusters: dict[str, Kube]) -> None:
    core = clusters["healthy"].core
    for kwargs in (
        {"field_selector": "spec.bogus=1"},
        {"field_selector": "nonsense"},
        {"label_selector": "app in (web"},
        {"label_selector": "a b"},
        {"_continue": "not-a-token"},
    ):
        with pytest.raises(ApiException) as caught:
            core.list_pod_for_all_namespaces(**kwargs)
        assert caught.value.status == 400, kwargs
        assert json.loads(caught.value.body)["reason"] == "BadRequest"
    with pytest.raises(ApiException) as unsupported:
        core.list_pod_for_all_namespaces(field_selector="spec.bogus=1")
    assert json.loads(unsupported.value.body)["message"] == "field label not supported: spec.bogus"


def test_lists_in_a_missing_namespace_are_empty(clusters: dict[str, Kube]) -> None:
    assert clusters["healthy"].core.list_namespaced_pod("does-not-exist").items == []


def test_a_write_between_pages_expires_the_token(open_cluster) -> None:
    kube = open_cluster("ipam-exhausted", allow_writes=True)
    first = kube.core.list_pod_for_all_namespaces(limit=10)
    kube.core.patch_namespaced_config_map("calico-config", "kube-system", {"data": {"veth_mtu": "1440"}})
    with pytest.raises(ApiException) as caught:
        kube.core.list_pod_for_all_namespaces(limit=10, _continue=first.metadata._continue)
    assert caught.value.status == 410 and json.loads(caught.value.body)["reason"] == "Expired"
