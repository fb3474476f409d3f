"""Writes to the simulated cluster (when a scenario allows them): create, replace, merge/JSON patch, delete.

Every write validates like the apiserver's basic checks, bumps resourceVersion and, with dryRun=All, returns
the result without storing it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from bot.sim import errors
from bot.sim.obj import Obj
from bot.sim.objects import hex64, rand_suffix, uid
from bot.sim.resources import ResourceType
from bot.sim.store import StaticCollection

MERGE_TYPES = ("application/merge-patch+json", "application/strategic-merge-patch+json")
JSON_PATCH = "application/json-patch+json"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386. Strategic merge is treated the same way, so lists are replaced rather than merged by key."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise errors.bad_request(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(doc, list):
            doc = doc[int(part)]
        elif isinstance(doc, dict):
            doc = doc[part]
        else:
            raise KeyError(part)
    return doc


def json_patch(doc: Obj, operations: Any) -> Obj:
    """RFC 6902 (add, remove, replace, test, move, copy) on a deep copy of `doc`."""
    if not isinstance(operations, list):
        raise errors.bad_request("a JSON patch must be a list of operations")
    result = copy.deepcopy(doc)
    for op in operations:
        try:
            kind, parts = op["op"], _pointer(op["path"])
            if kind in ("move", "copy"):
                source = _pointer(op["from"])
                value = copy.deepcopy(_walk(result, source))
                if kind == "move":
                    _remove(result, source)
                _add(result, parts, value)
            elif kind == "add":
                _add(result, parts, copy.deepcopy(op["value"]))
            elif kind == "remove":
                _remove(result, parts)
            elif kind == "replace":
                _remove(result, parts)
                _add(result, parts, copy.deepcopy(op["value"]))
            elif kind == "test":
                if _walk(result, parts) != op["value"]:
                    raise errors.ApiError(422, "Invalid", f"the test at {op['path']} failed")
            else:
                raise errors.bad_request(f"unknown JSON patch operation {kind!r}")
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise errors.ApiError(422, "Invalid", f"the JSON patch could not be applied: {op!r}: {exc}") from exc
    if not isinstance(result, dict):
        raise errors.bad_request("the patch replaced the whole object")
    return result


def _add(doc: Any, parts: list[str], value: Any) -> None:
    parent, last = _walk(doc, parts[:-1]), parts[-1]
    if isinstance(parent, list):
        parent.insert(len(parent) if last == "-" else int(last), value)
    else:
        parent[last] = value


def _remove(doc: Any, parts: list[str]) -> None:
    parent, last = _walk(doc, parts[:-1]), parts[-1]
    if isinstance(parent, list):
        del parent[int(last)]
    else:
        del parent[last]


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError as exc:
        raise errors.bad_request(f"the request body is not valid JSON: {exc}") from exc


def _validate(rtype: ResourceType, namespace: str | None, name: str, new: Any, old: Obj | None) -> Obj:
    if not isinstance(new, dict) or not isinstance(new.get("metadata"), dict):
        raise errors.bad_request(f"the body is not a {rtype.kind} object")
    meta = new["metadata"]
    if meta.get("name") != name:
        raise errors.bad_request(
            f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
        )
    if rtype.namespaced and meta.get("namespace", namespace) != namespace:
        raise errors.bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    if new.get("kind", rtype.kind) != rtype.kind or new.get("apiVersion", rtype.api_version) != rtype.api_version:
        raise errors.bad_request(f"the object is not a {rtype.api_version} {rtype.kind}")
    if old is not None and meta.get("uid", old["metadata"]["uid"]) != old["metadata"]["uid"]:
        raise errors.invalid(rtype, name, "metadata.uid: Invalid value: field is immutable")
    if rtype.kind == "ConfigMap":
        for key, value in (new.get("data") or {}).items():
            if not isinstance(value, str):
                raise errors.invalid(rtype, name, f"data[{key}]: Invalid value: must be a string")
    return new


def _stamp(rtype: ResourceType, new: Obj, old: Obj | None, rv: int) -> Obj:
    meta = dict(new["metadata"])
    meta["resourceVersion"] = str(rv)
    if old is not None:
        for key in ("uid", "creationTimestamp"):
            meta[key] = old["metadata"][key]
        if "generation" in old["metadata"]:
            changed = new.get("spec") != old.get("spec")
            meta["generation"] = old["metadata"]["generation"] + (1 if changed else 0)
    new = {**new, "kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": meta}
    return new


class Writer:
    """Applies one write to a static collection; the caller holds the store lock."""

    def __init__(self, scenario: str, next_rv: Callable[[], int], now: Callable[[], str]) -> None:
        self.scenario = scenario
        self.next_rv = next_rv
        self.now = now

    def _precondition(self, rtype: ResourceType, name: str, sent: Any, old: Obj) -> None:
        wanted = sent.get("metadata", {}).get("resourceVersion") if isinstance(sent, dict) else None
        if wanted and wanted != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rtype, name)

    def create(
        self, coll: StaticCollection, rtype: ResourceType, namespace: str | None, body: bytes, dry_run: bool
    ) -> tuple[int, Obj]:
        new = _decode(body)
        if not isinstance(new, dict) or not isinstance(new.get("metadata"), dict):
            raise errors.bad_request(f"the body is not a {rtype.kind} object")
        meta = dict(new["metadata"])
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + rand_suffix(5, self.scenario, self.now(), hex64(body))
        name = str(meta.get("name") or "")
        if not name:
            raise errors.invalid(rtype, "", "metadata.name: Required value: name or generateName is required")
        if rtype.namespaced:
            meta.setdefault("namespace", namespace)
        new = _validate(rtype, namespace, name, {**new, "metadata": meta}, None)
        if coll.get(namespace, name) is not None:
            raise errors.already_exists(rtype, name)
        meta["uid"] = uid(self.scenario, "created", rtype.key, namespace, name, self.now())
        meta["creationTimestamp"] = self.now()
        stored = _stamp(rtype, new, None, self.next_rv())
        if not dry_run:
            coll.put(stored)
        return 201, stored

    def replace(
        self,
        coll: StaticCollection,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        body: bytes,
        dry_run: bool,
    ) -> tuple[int, Obj]:
        old = self._existing(coll, rtype, namespace, name)
        sent = _decode(body)
        self._precondition(rtype, name, sent, old)
        new = _validate(rtype, namespace, name, sent, old)
        stored = _stamp(rtype, new, old, self.next_rv())
        if not dry_run:
            coll.put(stored)
        return 200, stored

    def patch(
        self,
        coll: StaticCollection,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        body: bytes,
        content_type: str,
        dry_run: bool,
    ) -> tuple[int, Obj]:
        old = self._existing(coll, rtype, namespace, name)
        sent = _decode(body)
        if content_type in MERGE_TYPES:
            if not isinstance(sent, dict):
                raise errors.bad_request("a merge patch must be a JSON object")
            self._precondition(rtype, name, sent, old)
            patched = merge_patch(old, sent)
        elif content_type == JSON_PATCH:
            patched = json_patch(old, sent)
        else:
            raise errors.unsupported_media_type(content_type)
        new = _validate(rtype, namespace, name, patched, old)
        stored = _stamp(rtype, new, old, self.next_rv())
        if not dry_run:
            coll.put(stored)
        return 200, stored

    def delete(
        self, coll: StaticCollection, rtype: ResourceType, namespace: str | None, name: str, body: bytes, dry_run: bool
    ) -> tuple[int, Obj]:
        old = self._existing(coll, rtype, namespace, name)
        options = _decode(body) if body else {}
        wanted = (options.get("preconditions") or {}) if isinstance(options, dict) else {}
        for key in ("resourceVersion", "uid"):
            if wanted.get(key) and wanted[key] != old["metadata"].get(key):
                raise errors.conflict(rtype, name)
        if not dry_run:
            coll.remove(namespace, name)
            self.next_rv()
        if rtype.kind == "Pod":
            # pods delete gracefully: the apiserver answers with the pod, marked for deletion
            meta = {**old["metadata"], "deletionTimestamp": self.now(), "deletionGracePeriodSeconds": 30}
            return 200, {**old, "metadata": meta}
        details: dict[str, Any] = {"name": name}
        if rtype.group:
            details["group"] = rtype.group
        details["kind"] = rtype.plural
        details["uid"] = old["metadata"]["uid"]
        return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}

    def _existing(self, coll: StaticCollection, rtype: ResourceType, namespace: str | None, name: str) -> Obj:
        old = coll.get(namespace, name)
        if old is None:
            raise errors.not_found(rtype, name)
        return old
