"""The request handling of the simulated apiserver, independent of the HTTP server: authentication, RBAC
faults, routing, discovery, lists with selectors and pagination, pod logs, and (when allowed) writes."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from bot.sim import errors
from bot.sim.errors import ApiError
from bot.sim.model import Scenario
from bot.sim.obj import Obj
from bot.sim.resources import ALL_VERBS, BUILT_IN_GROUPS, BY_PATH, ResourceType, resources_in_group
from bot.sim.selectors import SelectorError, parse_field_selector, parse_label_selector
from bot.sim.store import Collection, StaticCollection, select_page
from bot.sim.table import POD_COLUMNS, wants_table
from bot.sim.writes import Writer

JSON = "application/json"
TEXT = "text/plain"
USER = "system:serviceaccount:cnibot:cnibot"
TRUE = ("true", "1")
# Built-in list items carry no kind/apiVersion (the list does); custom resources' items keep theirs.
UNTYPED_ITEM_GROUPS = BUILT_IN_GROUPS


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # names in lower case
    body: bytes = b""

    def param(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[-1] if values else default


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = JSON


@dataclass(frozen=True)
class Target:
    """A resource request: /api/v1/namespaces/kube-system/pods/calico-node-x/log and the like."""

    group: str
    version: str
    plural: str
    namespace: str | None
    name: str | None
    sub: str


def encode(doc: Any) -> bytes:
    return orjson.dumps(doc)


class Api:
    """Answers one Request with one Response; thread-safe (reads and writes share a lock)."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        token: str,
        allow_writes: bool,
        forbidden: frozenset[tuple[str, str]] = frozenset(),
        unauthorized: bool = False,
        user: str = USER,
        writer_token: str = "",
        writer_user: str = "",
    ) -> None:
        self.scenario = scenario
        self.token = token
        # separate credentials, as RBAC gives the bot: with a writer token set, the reader token may only read
        self.writer_token = writer_token
        # in-cluster: the bot's (reader) account may impersonate this user, who may write
        self.writer_user = writer_user
        self.allow_writes = allow_writes
        self.forbidden = forbidden
        self.unauthorized = unauthorized
        self.user = user
        self.lock = threading.RLock()
        self.writer = Writer(scenario.name, self._next_rv, _now)

    def _next_rv(self) -> int:
        self.scenario.resource_version += 1
        return self.scenario.resource_version

    def handle(self, req: Request) -> Response:
        try:
            return self._handle(req)
        except ApiError as exc:
            return Response(exc.code, encode(exc.status()))

    # -- dispatch ----------------------------------------------------------------------------------------

    def _handle(self, req: Request) -> Response:
        sent = req.headers.get("authorization", "")
        as_writer = self.is_writer(req)
        if self.unauthorized or not (as_writer or hmac.compare_digest(sent.encode(), f"Bearer {self.token}".encode())):
            raise errors.unauthorized()
        parts = [p for p in req.path.split("/") if p]
        target = self._parse(parts)
        if target is None:
            if req.method not in ("GET", "HEAD"):
                raise errors.method_not_allowed(f"{req.method} is not allowed on {req.path}")
            return self._non_resource(parts)
        verb = self._verb(req, target)
        self._authorize(verb, target)
        coordination = (target.group, target.plural) == ("coordination.k8s.io", "leases")  # the bot's own Lease
        if (
            (self.writer_token or self.writer_user)
            and req.method not in ("GET", "HEAD")
            and not (as_writer or coordination)
        ):
            raise errors.forbidden(
                self.user, verb, target.group, target.plural, target.name, target.namespace, target.sub
            )
        rtype = self._resolve(target)
        if verb == "watch":
            raise errors.method_not_allowed("watch is not supported by the simulated cluster")
        if req.method in ("GET", "HEAD"):
            if target.name is None:
                return self._list(req, rtype, target.namespace)
            if target.sub == "log" and rtype.plural == "pods":
                return self._log(req, target.namespace, target.name)
            if target.sub and target.sub != "status":
                raise errors.no_resource()
            return Response(200, encode(self._get(rtype, target.namespace, target.name)))
        return self._write(req, rtype, target)

    def is_writer(self, req: Request) -> bool:
        """Sent with the writer token, or with the reader token impersonating the writer user."""
        sent = req.headers.get("authorization", "").encode()
        if self.writer_token and hmac.compare_digest(sent, f"Bearer {self.writer_token}".encode()):
            return True
        impersonating = req.headers.get("impersonate-user", "")
        return (
            bool(self.writer_user)
            and impersonating == self.writer_user
            and hmac.compare_digest(sent, f"Bearer {self.token}".encode())
        )

    def _parse(self, parts: list[str]) -> Target | None:
        """The resource a path names, or None for a non-resource path (/version, discovery)."""
        if len(parts) >= 3 and parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif len(parts) >= 4 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        if rest[0] == "namespaces" and len(rest) >= 3:
            if len(rest) > 5:
                raise errors.no_resource()
            namespace, plural = rest[1], rest[2]
            name = rest[3] if len(rest) > 3 else None
            sub = rest[4] if len(rest) > 4 else ""
            return Target(group, version, plural, namespace, name, sub)
        if len(rest) > 3:
            raise errors.no_resource()
        return Target(
            group, version, rest[0], None, rest[1] if len(rest) > 1 else None, rest[2] if len(rest) > 2 else ""
        )

    def _verb(self, req: Request, target: Target) -> str:
        if req.method in ("GET", "HEAD"):
            if target.name is None:
                return "watch" if req.param("watch").lower() in TRUE else "list"
            return "get"
        if req.method == "DELETE":
            return "delete" if target.name else "deletecollection"
        return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(req.method, req.method.lower())

    def _authorize(self, verb: str, target: Target) -> None:
        resource = f"{target.plural}/{target.sub}" if target.sub else target.plural
        qualified = f"{resource}.{target.group}" if target.group else resource
        refused = {(verb, resource), (verb, qualified), ("*", resource), ("*", qualified), (verb, "*")}
        if refused & self.forbidden:
            raise errors.forbidden(
                self.user, verb, target.group, target.plural, target.name, target.namespace, target.sub
            )

    def _resolve(self, target: Target) -> ResourceType:
        """The resource type, if this scenario serves it; 404 like the apiserver for anything else."""
        rtype = BY_PATH.get((target.group, target.version, target.plural))
        if rtype is None or rtype.group not in self.scenario.groups():
            raise errors.no_resource()
        if target.namespace is not None and not rtype.namespaced:
            raise errors.no_resource()
        if target.namespace is None and rtype.namespaced and target.name is not None:
            raise errors.no_resource()
        if target.sub and target.sub not in rtype.subresources:
            raise errors.no_resource()
        return rtype

    def _collection(self, rtype: ResourceType) -> Collection:
        with self.lock:
            return self.scenario.collection(rtype.key)

    # -- reads -------------------------------------------------------------------------------------------

    def _get(self, rtype: ResourceType, namespace: str | None, name: str) -> Obj:
        with self.lock:
            coll = self._collection(rtype)
            index = coll.index_of(namespace, name)
            if index is None:
                raise errors.not_found(rtype, name)
            return coll.item(index)

    def _list(self, req: Request, rtype: ResourceType, namespace: str | None) -> Response:
        try:
            labels = parse_label_selector(req.param("labelSelector"))
            fields = parse_field_selector(req.param("fieldSelector"), rtype.fields)
        except SelectorError as exc:
            raise errors.bad_request(str(exc)) from exc
        limit = _int_param(req, "limit")
        typed = rtype.group not in UNTYPED_ITEM_GROUPS
        with self.lock:
            rv = self.scenario.resource_version
            start = _decode_continue(req.param("continue"), rv) if req.param("continue") else 0
            coll = self._collection(rtype)
            page = select_page(
                coll, namespace=namespace, labels=labels, fields=fields, start=start, limit=limit or None
            )
            table = rtype.plural == "pods" and wants_table(req.headers.get("accept", ""))
            rows = [coll.table_row(i) for i in page.indexes] if table else []
            if table and req.param("includeObject") == "None":
                rows = [{"cells": row["cells"]} for row in rows]
            items = [] if table else [coll.item_json(i, typed) for i in page.indexes]
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if page.next_start is not None:
            meta["continue"] = _encode_continue(rv, page.next_start)
            if page.remaining is not None:
                meta["remainingItemCount"] = page.remaining
        if table:
            document: dict[str, Any] = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta}
            document |= {"columnDefinitions": POD_COLUMNS, "rows": rows}
            return Response(200, encode(document))
        # items arrive encoded (generated collections render JSON text directly): splice them in
        text = (
            f'{{"kind":"{rtype.list_kind}","apiVersion":"{rtype.api_version}","metadata":{encode(meta).decode()},'
            f'"items":[{",".join(items)}]}}'
        )
        if req.param("pretty").lower() in TRUE:
            return Response(200, json.dumps(json.loads(text), indent=2).encode())
        return Response(200, text.encode())

    def _log(self, req: Request, namespace: str | None, name: str) -> Response:
        assert namespace is not None
        pod = self._get(BY_PATH[("", "v1", "pods")], namespace, name)
        containers = [c["name"] for c in pod["spec"]["containers"]]
        inits = [c["name"] for c in pod["spec"].get("initContainers", [])]
        container = req.param("container")
        if not container:
            if len(containers) != 1:
                raise errors.bad_request(
                    f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
                    + (f" or one of the init containers: [{' '.join(inits)}]" if inits else "")
                )
            container = containers[0]
        if container not in containers + inits:
            raise errors.bad_request(f"container {container} is not valid for pod {name}")
        previous = req.param("previous").lower() in TRUE
        statuses = pod["status"].get("containerStatuses", []) + pod["status"].get("initContainerStatuses", [])
        status = next((s for s in statuses if s["name"] == container), None)
        waiting = ((status or {}).get("state") or {}).get("waiting") or {}
        if previous and not (status and status.get("restartCount")):
            raise errors.bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
        if not previous and (status is None or waiting.get("reason") in ("ContainerCreating", "PodInitializing")):
            reason = waiting.get("reason") or "ContainerCreating"
            raise errors.bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
        text = self.scenario.logs(namespace, name, container, previous) or ""
        tail = _int_param(req, "tailLines")
        if tail is not None:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-tail:]) if tail else ""
        data = text.encode()
        limit = _int_param(req, "limitBytes")
        if limit:
            data = data[:limit]
        return Response(200, data, TEXT)

    # -- writes ------------------------------------------------------------------------------------------

    def _write(self, req: Request, rtype: ResourceType, target: Target) -> Response:
        if not self.allow_writes and rtype.plural != "leases":  # leader election works in every scenario
            raise errors.method_not_allowed(f"the simulated cluster is read-only in scenario {self.scenario.name}")
        dry_run = req.param("dryRun")
        if dry_run not in ("", "All"):
            raise errors.bad_request(f'Invalid dryRun value "{dry_run}": supported values are "All"')
        if target.sub:
            raise errors.method_not_allowed(f"writes to {rtype.plural}/{target.sub} are not supported")
        content_type = req.headers.get("content-type", JSON).split(";")[0].strip()
        with self.lock:
            coll = self._collection(rtype)
            if not isinstance(coll, StaticCollection):
                raise errors.method_not_allowed(
                    f"{rtype.plural} in scenario {self.scenario.name} are generated; writes are not supported"
                )
            namespace, name, dry = target.namespace, target.name, dry_run == "All"
            if req.method == "POST" and name is None:
                code, obj = self.writer.create(coll, rtype, namespace, req.body, dry)
            elif req.method == "PUT" and name:
                code, obj = self.writer.replace(coll, rtype, namespace, name, req.body, dry)
            elif req.method == "PATCH" and name:
                code, obj = self.writer.patch(coll, rtype, namespace, name, req.body, content_type, dry)
            elif req.method == "DELETE" and name:
                code, obj = self.writer.delete(coll, rtype, namespace, name, req.body, dry)
            else:
                raise errors.method_not_allowed(f"{req.method} is not supported on {req.path}")
        return Response(code, encode(obj))

    # -- discovery and other non-resource paths ---------------------------------------------------------

    def _non_resource(self, parts: list[str]) -> Response:
        groups = sorted(g for g in self.scenario.groups() if g)
        if parts == ["version"]:
            return Response(200, encode(_version(self.scenario.kubernetes_version)))
        if parts and parts[0] in ("healthz", "livez", "readyz"):
            return Response(200, b"ok", TEXT)
        if parts == ["api"]:
            return Response(
                200,
                encode(
                    {
                        "kind": "APIVersions",
                        "versions": ["v1"],
                        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "10.0.0.10:6443"}],
                    }
                ),
            )
        if parts == ["apis"]:
            body = {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g) for g in groups]}
            return Response(200, encode(body))
        if len(parts) == 2 and parts[0] == "apis" and parts[1] in groups:
            return Response(200, encode({"kind": "APIGroup", "apiVersion": "v1", **_group(parts[1])}))
        if parts == ["api", "v1"]:
            return Response(200, encode(_resource_list("")))
        if len(parts) == 3 and parts[0] == "apis" and parts[1] in groups and parts[2] == _version_of(parts[1]):
            return Response(200, encode(_resource_list(parts[1])))
        raise errors.no_resource()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_param(req: Request, name: str) -> int | None:
    raw = req.param(name)
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise errors.bad_request(f"invalid value {raw!r} for {name}: must be an integer") from None
    if value < 0:
        raise errors.bad_request(f"invalid value {raw!r} for {name}: must be non-negative")
    return value


def _encode_continue(rv: int, start: int) -> str:
    token = encode({"v": "meta.k8s.io/v1", "rv": rv, "start": start})
    return base64.urlsafe_b64encode(token).decode().rstrip("=")


def _decode_continue(token: str, rv: int) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        start, token_rv = int(data["start"]), int(data["rv"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise errors.bad_request(f"continue key is not valid: {exc}") from exc
    if token_rv != rv:
        raise errors.expired()  # something was written since the first page: that snapshot is gone
    return start


def _version_of(group: str) -> str:
    return resources_in_group(group)[0].version


def _group(group: str) -> dict[str, Any]:
    gv = {"groupVersion": f"{group}/{_version_of(group)}", "version": _version_of(group)}
    return {"name": group, "versions": [gv], "preferredVersion": gv}


def _resource_list(group: str) -> dict[str, Any]:
    resources: list[dict[str, Any]] = []
    for r in resources_in_group(group):
        entry: dict[str, Any] = {
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": list(ALL_VERBS),
        }
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        resources.append(entry)
        for sub in r.subresources:
            verbs = ["get"] if sub == "log" else ["get", "patch", "update"]
            resources.append(
                {
                    "name": f"{r.plural}/{sub}",
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": verbs,
                }
            )
    version = resources_in_group(group)[0].api_version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": version, "resources": resources}


def _version(git_version: str) -> dict[str, str]:
    major, minor = git_version.lstrip("v").split(".")[:2]
    return {
        "major": major,
        "minor": minor,
        "gitVersion": git_version,
        "gitCommit": "55019c83b0fd51ef4ced8c29eec2c4847f896e74",
        "gitTreeState": "clean",
        "buildDate": "2024-04-16T15:03:11Z",
        "goVersion": "go1.21.9",
        "compiler": "gc",
        "platform": "linux/amd64",
    }
