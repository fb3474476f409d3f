"""deploy/ as `kubectl apply -k` sees it: every object valid against the Kubernetes schemas (offline, the
schemas bundled in kubernetes-validate), every file accounted for, and the Deployment, settings, Secret,
NetworkPolicy and the two-replica overlay as the README describes them."""

from __future__ import annotations

import copy
import json
import socket
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from bot.cli import build_parser
from bot.config import KNOWN_SETTINGS, Settings
from tests.deploy.manifests import DEPLOY, NOT_RESOURCES, REMEDIATOR, ROOT, build, load_documents, pod_spec, the

SLACK_SECRETS = {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"}
BASE, HA = build(DEPLOY), build(DEPLOY / "ha")
TEMPLATE = load_documents(DEPLOY / "secret.template.yaml")


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the schema check tried the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def container(objects: list[dict[str, Any]], kind: str = "Deployment") -> dict[str, Any]:
    (only,) = pod_spec(the(objects, kind, "cnibot"))["containers"]
    return dict(only)


@pytest.mark.usefixtures("no_network")
def test_every_object_validates_against_the_kubernetes_schemas_offline() -> None:
    version = kubernetes_validate.latest_version()
    for doc in BASE + HA + TEMPLATE:
        kubernetes_validate.validate(doc, version, strict=True)
    # strict: a misspelt field is an error, so the check above can fail
    broken = copy.deepcopy(the(BASE, "Deployment", "cnibot"))
    broken["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, version, strict=True)


def test_every_file_in_deploy_is_a_resource_of_the_kustomization_or_listed_as_not_one() -> None:
    for folder in (DEPLOY, DEPLOY / "ha"):
        spec = load_documents(folder / "kustomization.yaml")[0]
        listed = {r for r in spec["resources"] if (folder / r).is_file()}
        files = {p.name for p in folder.glob("*.yaml")} - {"kustomization.yaml"}
        assert files - listed == (NOT_RESOURCES if folder == DEPLOY else set())
    assert {d["kind"] for d in BASE} >= {
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "ConfigMap",
        "PersistentVolumeClaim",
        "Service",
        "NetworkPolicy",
        "Deployment",
    }
    assert all(d["metadata"].get("namespace") == "cnibot" for d in BASE if not d["kind"].startswith(("Cluster", "Nam")))


def test_the_deployment_runs_one_locked_down_replica_on_its_volume() -> None:
    deployment = the(BASE, "Deployment", "cnibot")
    spec, pod = deployment["spec"], pod_spec(deployment)
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}
    assert pod["serviceAccountName"] == "cnibot"
    assert (
        pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    )
    c = container(BASE)
    assert c["securityContext"] == {
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    # the image's entrypoint (`cnibot serve`) with these arguments parses, on the port the probes use
    assert entrypoint()[0] == "cnibot" and "command" not in c
    args = build_parser().parse_args([*entrypoint()[1:], *c["args"]])
    (port,) = c["ports"]
    assert args.command == "serve" and args.port == port["containerPort"] == 3000 and port["name"] == "http"
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    resources = c["resources"]
    assert set(resources) == {"requests", "limits"} and all(set(v) == {"cpu", "memory"} for v in resources.values())
    assert mebibytes(resources["requests"]["memory"]) <= mebibytes(resources["limits"]["memory"])
    # what the bot writes is on a volume: SQLite on the claim, HOME and temp on an emptyDir
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: volumes[m["volumeName" if "volumeName" in m else "name"]] for m in c["volumeMounts"]}
    env = {e["name"]: e for e in c["env"]}
    settings = the(BASE, "ConfigMap", "cnibot-settings")["data"]
    db = settings["CNIBOT_DB"]
    assert (
        mounted(mounts, db)["persistentVolumeClaim"]["claimName"]
        == the(BASE, "PersistentVolumeClaim", "cnibot-data")["metadata"]["name"]
    )
    for name in ("HOME", "TMPDIR", "MPLCONFIGDIR"):
        assert "emptyDir" in mounted(mounts, env[name]["value"]), name
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["POD_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    sources = {next(iter(s)): next(iter(s.values()))["name"] for s in c["envFrom"]}
    assert sources == {"configMapRef": "cnibot-settings", "secretRef": secret()["metadata"]["name"]}


def entrypoint() -> list[str]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    (line,) = [line for line in text.splitlines() if line.startswith("ENTRYPOINT ")]
    return list(json.loads(line.removeprefix("ENTRYPOINT ")))


def mounted(mounts: dict[str, dict[str, Any]], path: str) -> dict[str, Any]:
    owners = [v for m, v in mounts.items() if Path(path).is_relative_to(m)]
    assert owners, f"{path} is on the read-only root filesystem"
    return owners[0]


def mebibytes(quantity: str) -> float:
    units = {"Mi": 1, "Gi": 1024, "Ki": 1 / 1024}
    return float(quantity[:-2]) * units[quantity[-2:]]


def secret() -> dict[str, Any]:
    (only,) = [d for d in TEMPLATE if d["kind"] == "Secret"]
    return only


def test_settings_are_known_names_that_the_bot_accepts_and_the_tokens_are_only_in_the_secret() -> None:
    data = the(BASE, "ConfigMap", "cnibot-settings")["data"]
    assert set(data) <= KNOWN_SETTINGS - SLACK_SECRETS, set(data) - KNOWN_SETTINGS
    settings = Settings.from_env(data)
    namespace, account = REMEDIATOR
    assert settings.remediation.impersonate == f"system:serviceaccount:{namespace}:{account}"
    assert not settings.remediation.all_approvers  # remediation stays off until approvers are named
    lease = the(BASE, "Role", "cnibot-leader-election")["rules"][0]
    assert [data["CNIBOT_LEASE_NAME"]] == lease["resourceNames"] and data["CNIBOT_LEADER_ELECTION"] == "0"
    assert set(secret()["stringData"]) <= SLACK_SECRETS and secret()["metadata"]["namespace"] == "cnibot"
    assert not any(d["kind"] == "Secret" for d in BASE + HA), "apply -k would overwrite the real tokens"
    assert the(TEMPLATE, "Namespace", "cnibot") == the(BASE, "Namespace", "cnibot")


def test_the_network_policy_allows_only_dns_the_apiserver_and_slack() -> None:
    policy = the(BASE, "NetworkPolicy", "cnibot")["spec"]
    pod_labels = the(BASE, "Deployment", "cnibot")["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    assert policy["ingress"] == [{"ports": [{"protocol": "TCP", "port": 3000}]}]
    dns, apiserver, slack = policy["egress"]
    assert {(p["protocol"], p["port"]) for p in dns["ports"]} == {("UDP", 53), ("TCP", 53)}
    assert [t["podSelector"]["matchLabels"] for t in dns["to"]] == [{"k8s-app": "kube-dns"}]
    private = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
    assert [t["ipBlock"]["cidr"] for t in apiserver["to"]] == private
    assert {(p["protocol"], p["port"]) for p in apiserver["ports"]} == {("TCP", 443), ("TCP", 6443)}
    assert slack["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": private}}]
    assert slack["ports"] == [{"protocol": "TCP", "port": 443}]
    service = the(BASE, "Service", "cnibot")["spec"]
    assert service["selector"].items() <= pod_labels.items() and service["ports"][0]["targetPort"] == "http"


def test_two_replicas_are_a_statefulset_with_a_store_each_and_leader_election() -> None:
    assert not [d for d in HA if d["kind"] in ("Deployment", "PersistentVolumeClaim")]
    sts = the(HA, "StatefulSet", "cnibot")["spec"]
    assert sts["replicas"] == 2
    (claim,) = sts["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data" and claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert container(HA, "StatefulSet") == container(BASE), "the two pod templates must not drift apart"
    base_pod, ha_pod = pod_spec(the(BASE, "Deployment", "cnibot")), pod_spec(the(HA, "StatefulSet", "cnibot"))
    for key in ("serviceAccountName", "securityContext"):
        assert ha_pod[key] == base_pod[key]
    assert [v["name"] for v in ha_pod["volumes"]] == ["tmp"]
    assert the(HA, "ConfigMap", "cnibot-settings")["data"]["CNIBOT_LEADER_ELECTION"] == "1"
    rest = {k: v for k, v in the(HA, "ConfigMap", "cnibot-settings")["data"].items() if k != "CNIBOT_LEADER_ELECTION"}
    assert rest.items() <= the(BASE, "ConfigMap", "cnibot-settings")["data"].items()
