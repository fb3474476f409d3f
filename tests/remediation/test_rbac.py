"""deploy/remediator-rbac.yaml grants what the catalogue's plans send, and no more: each (group,
resource, verb) comes from real plans built against the simulated scenarios."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.remediation.conftest import Rig

ROOT = Path(__file__).resolve().parents[2]
VERB = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
# grants for paths no scenario takes: set-mtu on a manifest install (calico-config and FelixConfiguration),
# and release-leaked-ips on a handle that keeps other addresses (updated, not deleted)
NOT_IN_A_SCENARIO = {
    ("", "configmaps", "get"),
    ("", "configmaps", "patch"),
    ("crd.projectcalico.org", "felixconfigurations", "get"),
    ("crd.projectcalico.org", "felixconfigurations", "patch"),
    ("crd.projectcalico.org", "ipamhandles", "update"),
}
PATH = re.compile(r"^/(?:api/v1|apis/(?P<group>[^/]+)/[^/]+)/(?:namespaces/[^/]+/)?(?P<resource>[a-z]+)")


def granted(kind_name: str) -> set[tuple[str, str, str]]:
    documents = list(yaml.safe_load_all((ROOT / "deploy" / "remediator-rbac.yaml").read_text(encoding="utf-8")))
    role = next(d for d in documents if d["kind"] == "ClusterRole" and d["metadata"]["name"] == kind_name)
    return {
        (g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]
    }


def needed(r: Rig, action: str, params: dict[str, str]) -> set[tuple[str, str, str]]:
    plan = r.app.remediation.plan(action, params).plan
    out = set()
    for request in plan.requests:
        m = PATH.match(request.path)
        assert m, request.path
        group, resource = m.group("group") or "", m.group("resource")
        out |= {(group, resource, VERB[request.method]), (group, resource, "get")}
    if plan.absent_pods:
        out |= {("", "pods", "list")}
    return out


def test_the_remediator_role_grants_exactly_what_the_plans_send(rig) -> None:
    ipam, mtu, cilium = rig("ipam-exhausted"), rig("mtu-mismatch"), rig("cilium-healthy")
    wanted = (
        needed(ipam, "restart-cni", {})
        | needed(ipam, "delete-stuck-pods", {"node": "node-1"})
        | needed(ipam, "add-ippool", {})
        | needed(ipam, "release-leaked-ips", {})
        | needed(mtu, "set-mtu", {})
        | needed(cilium, "set-mtu", {"mtu": "1400"})
    )
    role = granted("cnibot-remediator")
    assert wanted <= role, wanted - role
    assert role - wanted - NOT_IN_A_SCENARIO == set()


def test_the_bot_may_impersonate_the_remediator_and_no_one_else() -> None:
    documents = list(yaml.safe_load_all((ROOT / "deploy" / "remediator-rbac.yaml").read_text(encoding="utf-8")))
    role = next(
        d for d in documents if d["metadata"]["name"] == "cnibot-impersonate-remediator" and d["kind"] == "Role"
    )
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["serviceaccounts"],
            "resourceNames": ["cnibot-remediator"],
            "verbs": ["impersonate"],
        }
    ]
    assert role["metadata"]["namespace"] == "cnibot"  # the remediator's namespace: a Role, not a ClusterRole
