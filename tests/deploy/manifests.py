"""What `kubectl apply -k deploy/` would send, resolved in Python (no kustomize binary installs from a
registry here), and an RBAC authorizer with the apiserver's rule semantics, to ask of the built objects
whether an account may make a request."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NAMESPACE = "cnibot"
BOT = ("cnibot", "cnibot")  # (namespace, ServiceAccount)
REMEDIATOR = ("cnibot", "cnibot-remediator")
REMEDIATOR_USER = "system:serviceaccount:cnibot:cnibot-remediator"
# Kustomization fields this resolver implements; any other field fails the build rather than being ignored.
SUPPORTED = {"apiVersion", "kind", "resources", "patches", "images"}
# Files in deploy/ that are not resources of the kustomization, on purpose.
NOT_RESOURCES = {
    "slack-app-manifest.yaml",  # Slack's app manifest, pasted at api.slack.com
    "secret.template.yaml",  # applied once by hand: `apply -k` must never overwrite the real tokens
}


class KustomizeError(Exception):
    pass


def load_documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def object_id(doc: dict[str, Any]) -> tuple[str, str, str, str]:
    meta = doc.get("metadata") or {}
    return (
        doc["apiVersion"].split("/")[0] if "/" in doc["apiVersion"] else "",
        doc["kind"],
        meta.get("namespace") or "",
        meta["name"],
    )


def merge(target: dict[str, Any], patch: dict[str, Any], where: str) -> None:
    """A strategic merge patch limited to maps: a list in a patch is refused (its merge keys are not modelled)."""
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value, f"{where}.{key}")
        elif isinstance(value, list):
            raise KustomizeError(f"{where}.{key}: list patches are not supported by this resolver")
        else:
            target[key] = value


def build(directory: Path = DEPLOY) -> list[dict[str, Any]]:
    """The objects `kustomize build directory` prints, for the fields in SUPPORTED."""
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{directory}/kustomization.yaml: unsupported fields {sorted(unknown)}")
    objects: list[dict[str, Any]] = []
    for entry in spec.get("resources") or []:
        path = (directory / entry).resolve()
        if path.is_dir():
            objects += build(path)
        elif path.is_file():
            if directory.resolve() not in path.parents:
                raise KustomizeError(f"{entry}: kustomize refuses files outside the kustomization's folder")
            objects += load_documents(path)
        else:
            raise KustomizeError(f"{directory}/kustomization.yaml: resource {entry} does not exist")
    seen: set[tuple[str, str, str, str]] = set()
    for doc in objects:
        if object_id(doc) in seen:
            raise KustomizeError(f"{object_id(doc)} is defined twice")
        seen.add(object_id(doc))
    for entry in spec.get("patches") or []:
        if set(entry) - {"patch", "path"}:
            raise KustomizeError(f"patch {entry}: only patch/path strategic merge patches are supported")
        text = entry["patch"] if "patch" in entry else (directory / entry["path"]).read_text(encoding="utf-8")
        patch = copy.deepcopy(yaml.safe_load(text))
        delete = patch.pop("$patch", None) == "delete"
        targets = [d for d in objects if object_id(d) == object_id(patch)]
        if len(targets) != 1:
            raise KustomizeError(f"patch {object_id(patch)} matches {len(targets)} objects")
        if delete:
            objects.remove(targets[0])
        else:
            merge(targets[0], patch, object_id(patch)[1])
    for image in spec.get("images") or []:
        for doc in objects:
            for container in pod_spec(doc).get("containers", []) if pod_spec(doc) else []:
                name, _, _ = container["image"].partition(":")
                if name == image["name"]:
                    container["image"] = f"{image.get('newName', name)}:{image['newTag']}"
    return objects


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return dict(doc["spec"]["template"]["spec"])
    return {}


def the(objects: Iterable[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in objects if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} objects"
    return found[0]


# -- RBAC ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attributes:
    """What the apiserver authorizes: a resource request (verb, group, resource[/subresource], namespace, name)."""

    verb: str
    group: str
    resource: str  # "pods" or "pods/log"
    namespace: str = ""
    name: str = ""


def rule_allows(rule: dict[str, Any], a: Attributes) -> bool:
    if "nonResourceURLs" in rule and not rule.get("resources"):
        return False
    verbs, groups, resources = rule.get("verbs", []), rule.get("apiGroups", []), rule.get("resources", [])
    names = rule.get("resourceNames") or []
    base, _, sub = a.resource.partition("/")
    resource_ok = a.resource in resources or "*" in resources or (bool(sub) and f"*/{sub}" in resources)
    return (
        (a.verb in verbs or "*" in verbs)
        and (a.group in groups or "*" in groups)
        and resource_ok
        and (not names or a.name in names)
        and bool(base)
    )


def rules_of(objects: list[dict[str, Any]], account: tuple[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """(scope, rule) for every rule bound to the ServiceAccount: scope "" is cluster-wide, else a namespace."""
    namespace, name = account
    out: list[tuple[str, dict[str, Any]]] = []
    for binding in objects:
        if binding["kind"] not in ("ClusterRoleBinding", "RoleBinding"):
            continue
        if not any(
            s.get("kind") == "ServiceAccount" and s.get("name") == name and s.get("namespace") == namespace
            for s in binding.get("subjects") or []
        ):
            continue
        ref = binding["roleRef"]
        scope = binding["metadata"].get("namespace", "") if binding["kind"] == "RoleBinding" else ""
        if ref["kind"] == "ClusterRole":
            role = the(objects, "ClusterRole", ref["name"])
        else:
            role = next(
                d
                for d in objects
                if d["kind"] == "Role" and d["metadata"]["name"] == ref["name"] and d["metadata"]["namespace"] == scope
            )
        out += [(scope, rule) for rule in role.get("rules") or []]
    return out


def allowed(objects: list[dict[str, Any]], account: tuple[str, str], a: Attributes) -> bool:
    """RBAC's answer: some bound rule allows it; a namespaced grant only in its namespace (a RoleBinding
    never covers cluster-scoped objects)."""
    return any(
        (not scope or scope == a.namespace) and rule_allows(rule, a) for scope, rule in rules_of(objects, account)
    )


PATH = re.compile(r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))(?P<rest>(?:/[^/]+)*)/?$")
VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


def attributes(method: str, path: str, query: str = "") -> Attributes:
    """The RBAC attributes the apiserver derives from a request (its RequestInfo), for resource paths."""
    m = PATH.match(path)
    if not m or not m.group("rest"):
        raise ValueError(f"{method} {path}: not a resource request")
    group = m.group("group") or ""
    parts = m.group("rest").strip("/").split("/")
    namespace = ""
    if parts[0] == "namespaces" and len(parts) >= 3:
        namespace, parts = parts[1], parts[2:]
    elif parts[0] == "namespaces" and len(parts) == 2:
        namespace = parts[1]  # a Namespace object is in itself, as far as RBAC is concerned
    resource, name = parts[0], parts[1] if len(parts) > 1 else ""
    if len(parts) > 2:
        resource = f"{resource}/{parts[2]}"
    if method in ("GET", "HEAD"):
        verb = "get" if name else ("watch" if re.search(r"(^|&)watch=(true|1)", query) else "list")
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = VERBS[method]
    return Attributes(verb, group, resource, namespace, name)
