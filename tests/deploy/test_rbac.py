"""The RBAC of deploy/, asked of every request the bot really makes. The probes and the remediation actions
run against the simulated apiserver as they would in the cluster (the bot's token, and for approved writes
that token impersonating cnibot-remediator); its request log is then authorized, request by request, with
the apiserver's RBAC rules (tests/deploy/manifests.py) against the objects `kubectl apply -k deploy/` creates."""

from __future__ import annotations

import re
from itertools import product
from pathlib import Path

import pytest

from bot.config import ClusterSettings, Settings, StoreSettings
from bot.probes.detect import KNOWN_DAEMONSETS, find_cni_daemonset
from bot.probes.registry import PROBES
from bot.sim.resources import RESOURCES
from bot.sim.scenarios import SCENARIOS, build_scenario
from bot.sim.server import RequestRecord, SimCluster
from bot.wiring import App
from tests.deploy.manifests import (
    BOT,
    NAMESPACE,
    REMEDIATOR,
    REMEDIATOR_USER,
    ROOT,
    Attributes,
    allowed,
    attributes,
    build,
    rules_of,
    the,
)

OBJECTS = build()
READ_VERBS = {"get", "list", "watch"}
# (scenario, action, parameters): every catalogue action, on every CNI whose path differs
ACTIONS = (
    ("ipam-exhausted", "restart-cni", {}),
    ("flannel-subnet-missing", "restart-cni", {}),
    ("cilium-healthy", "restart-cni", {}),
    ("ipam-exhausted", "delete-stuck-pods", {"node": "node-1"}),
    ("ipam-exhausted", "add-ippool", {}),
    ("ipam-exhausted", "release-leaked-ips", {}),
    ("mtu-mismatch", "set-mtu", {}),
    ("cilium-healthy", "set-mtu", {"mtu": "1400"}),
)


def probe_requests(tmp_path: Path) -> list[tuple[str, RequestRecord]]:
    """Every request `probe all` makes, on every scenario, through the bot's real client."""
    out = []
    for name in SCENARIOS:
        sim = SimCluster(build_scenario(name)).start()
        try:
            kubeconfig = sim.write_kubeconfig(tmp_path / f"kubeconfig-{name}")
            settings = Settings(
                cluster=ClusterSettings(kubeconfig=str(kubeconfig), home=tmp_path),
                store=StoreSettings(path=tmp_path / f"{name}.db"),
            )
            app = App(settings)
            try:
                report = app.probing.run(list(PROBES))
            finally:
                app.close()
            assert len(report.results) == len(PROBES), (name, report)
            assert not [r for r in report.results if r.status == "error"], (name, report.results)
            out += [(name, r) for r in sim.requests]
        finally:
            sim.stop()
    return out


@pytest.fixture(scope="module")
def probes_log(tmp_path_factory) -> list[tuple[str, RequestRecord]]:
    return probe_requests(tmp_path_factory.mktemp("probes"))


@pytest.fixture
def executed(rig) -> list[tuple[str, RequestRecord]]:
    """Each action proposed, approved and carried out, its writes sent as the in-cluster bot sends them:
    the bot's own token with Impersonate-User (CNIBOT_REMEDIATION_IMPERSONATE), not a second credential."""
    out = []
    for scenario, action, params in ACTIONS:
        r = rig(scenario, writer_user=REMEDIATOR_USER, context="", impersonate=REMEDIATOR_USER)
        r.sim.api.allow_writes = True  # cilium-healthy is read-only by default; here the cluster takes writes
        remediation = r.app.remediation
        pid = remediation.propose(action, params, requester="alice").proposal.id
        _, view = remediation.approve(pid, user="bob")
        if view.proposal.state == "proposed":  # high risk: a second approver
            _, view = remediation.approve(pid, user="carol")
        assert view.proposal.state == "done", (scenario, action, view.message)
        real = [w for w in r.writes() if not w.dry_run]
        assert real and all(w.writer and w.status < 400 for w in real), (scenario, action, real)
        out += [(f"{scenario} {action}", record) for record in r.sim.requests]
    return out


def described(a: Attributes) -> str:
    where = f" in {a.namespace}" if a.namespace else ""
    return f"{a.verb} {a.group or 'core'}/{a.resource}{f' {a.name}' if a.name else ''}{where}"


def test_the_reader_role_has_no_write_verb_and_no_wildcard() -> None:
    role = the(OBJECTS, "ClusterRole", "cnibot-reader")
    for rule in role["rules"]:
        assert set(rule["verbs"]) <= READ_VERBS, rule
        assert "*" not in rule["verbs"] + rule["apiGroups"] + rule["resources"] + rule.get("resourceNames", []), rule
        assert not {"secrets", "serviceaccounts"} & set(rule["resources"]), rule


def test_every_request_the_probes_make_is_allowed_to_the_bots_account(probes_log) -> None:
    assert len(probes_log) > 100 and {s for s, _ in probes_log} == set(SCENARIOS)
    refused = set()
    for scenario, r in probes_log:
        assert r.method in ("GET", "HEAD"), (scenario, r)
        a = attributes(r.method, r.path, r.query)
        if not allowed(OBJECTS, BOT, a):
            refused.add((scenario, described(a)))
    assert refused == set()


def test_the_reader_role_grants_only_what_the_probes_use(probes_log) -> None:
    """Exactly: each (group, resource, verb) the role grants is one some probe request used, and each named
    grant names what the code asks for (names used by no scenario, e.g. canal-config, come from the code)."""
    used = {(a.group, a.resource, a.verb) for a in (attributes(r.method, r.path, r.query) for _, r in probes_log)}
    role = the(OBJECTS, "ClusterRole", "cnibot-reader")
    granted = {
        (g, res, v)
        for rule in role["rules"]
        for g in rule["apiGroups"]
        for res in rule["resources"]
        for v in rule["verbs"]
    }
    # release-leaked-ips' planner lists IPAM handles through the reader (ipam.usage reads blocks only)
    planner_only = {("crd.projectcalico.org", "ipamhandles", "list")}
    assert granted - used - planner_only == set()
    sources = " ".join(p.read_text(encoding="utf-8") for p in (ROOT / "bot" / "probes").glob("*.py"))
    sources += (ROOT / "bot" / "services" / "plans.py").read_text(encoding="utf-8")
    asked = set(re.findall(r"configmap\([^,()]+, \"([a-z0-9-]+)\"\)", sources))
    named = {
        (rule["resources"][0], tuple(sorted(rule["resourceNames"])))
        for rule in role["rules"]
        if "resourceNames" in rule
    }
    assert ("configmaps", tuple(sorted(asked))) in named, (asked, named)
    assert ("services", ("kubernetes",)) in named and ("installations", ("default",)) in named


def test_every_request_each_remediation_makes_is_the_remediators_and_its_writes_not_the_readers(executed) -> None:
    writes = [(where, r) for where, r in executed if r.writer and r.method not in ("GET", "HEAD")]
    assert {where for where, _ in writes} == {f"{s} {a}" for s, a, _ in ACTIONS}, "an action wrote nothing"
    impersonation = Attributes("impersonate", "", "serviceaccounts", *REMEDIATOR)
    assert allowed(OBJECTS, BOT, impersonation)
    problems = set()
    for where, r in executed:
        a = attributes(r.method, r.path, r.query)
        if not r.writer:  # planning, re-checks and the verification probes: the bot's own account
            if r.method not in ("GET", "HEAD") or not allowed(OBJECTS, BOT, a):
                problems.add((where, "bot may not", described(a)))
            continue
        if not allowed(OBJECTS, REMEDIATOR, a):
            problems.add((where, "remediator may not", described(a)))
        if r.method not in ("GET", "HEAD") and allowed(OBJECTS, BOT, a):
            problems.add((where, "the reader may also", described(a)))
    assert problems == set()


def test_the_remediators_daemonset_names_are_the_cni_agents_cnibot_detects() -> None:
    role = the(OBJECTS, "ClusterRole", "cnibot-remediator")
    (rule,) = [r for r in role["rules"] if r["resources"] == ["daemonsets"]]
    names = rule["resourceNames"]
    detected = {name: find_cni_daemonset([{"metadata": {"name": name}}]) for name in names}
    assert all(detected.values()), detected  # no name that is not a CNI agent
    assert {found[0] for found in detected.values() if found} == {cni for cni, _, _ in KNOWN_DAEMONSETS}


WRITES = ("create", "update", "patch", "delete", "deletecollection", "impersonate", "bind", "escalate", "approve")
KINDS = [(r.group, r.plural) for r in RESOURCES] + [
    ("", "secrets"),
    ("", "serviceaccounts"),
    ("", "serviceaccounts/token"),
    ("", "pods/exec"),
    ("", "pods/eviction"),
    ("apps", "daemonsets/status"),
    ("rbac.authorization.k8s.io", "clusterroles"),
    ("rbac.authorization.k8s.io", "rolebindings"),
    ("authentication.k8s.io", "tokenreviews"),
    ("certificates.k8s.io", "certificatesigningrequests"),
]


def test_the_bots_own_account_can_only_read_and_impersonate_the_remediator() -> None:
    """Every bound rule is a read, the impersonation of cnibot-remediator, or the leader-election Lease, and
    the authorizer refuses every other write on every resource, in every namespace, under any name.

    The Lease is the one exception, and a deliberate one: with CNIBOT_LEADER_ELECTION=1 (more than one
    replica) the bot itself must hold a coordination.k8s.io Lease in its own namespace, which means creating
    it and renewing it. Those writes touch only the Lease (get/update by resourceName cnibot-leader; create
    cannot be limited by name in RBAC) and only in namespace cnibot; they are not cluster changes, and
    doing them as the remediator would put the remediator's write access in every pod's hands all the time."""
    lease_create = Attributes("create", "coordination.k8s.io", "leases", NAMESPACE, "")
    lease_update = Attributes("update", "coordination.k8s.io", "leases", NAMESPACE, "cnibot-leader")
    impersonation = Attributes("impersonate", "", "serviceaccounts", *REMEDIATOR)
    for scope, rule in rules_of(OBJECTS, BOT):
        verbs = set(rule["verbs"])
        if verbs <= READ_VERBS:
            continue
        if rule["resources"] == ["serviceaccounts"]:
            assert scope == NAMESPACE and rule["resourceNames"] == ["cnibot-remediator"] and verbs == {"impersonate"}
        else:
            assert (
                scope == NAMESPACE and rule["apiGroups"] == ["coordination.k8s.io"] and rule["resources"] == ["leases"]
            )
            assert verbs <= {"get", "update", "create"}, rule
            assert verbs == {"create"} or rule["resourceNames"] == ["cnibot-leader"], rule
    found = set()
    for (group, resource), verb, namespace, name in product(
        KINDS, WRITES, ("", NAMESPACE, "kube-system", "default"), ("", "cnibot-leader", "cnibot-remediator", "x")
    ):
        a = Attributes(verb, group, resource, namespace, name)
        if allowed(OBJECTS, BOT, a):
            found.add(a)
    # a create is authorized before its object has a name: any name, but only leases, only in cnibot
    creates = {
        a
        for a in found
        if (a.verb, a.group, a.resource, a.namespace) == ("create", "coordination.k8s.io", "leases", NAMESPACE)
    }
    assert found - creates == {lease_update, impersonation}
    assert lease_create in creates
    # and nothing secret is readable
    assert not allowed(OBJECTS, BOT, Attributes("get", "", "secrets", NAMESPACE, "cnibot-slack"))
    assert not allowed(OBJECTS, BOT, Attributes("list", "", "secrets", "kube-system"))


def test_the_remediator_cannot_grant_impersonate_or_read_secrets() -> None:
    for scope, rule in rules_of(OBJECTS, REMEDIATOR):
        assert not set(rule["verbs"]) & {"impersonate", "bind", "escalate", "*"}, rule
        assert not set(rule["resources"]) & {"secrets", "serviceaccounts", "*"}, rule
        assert scope == "" and "nonResourceURLs" not in rule
    assert rules_of(OBJECTS, ("cnibot", "default")) == []
