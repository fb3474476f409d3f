"""Server-side printing of pods as a meta.k8s.io/v1 Table, as the apiserver answers
`Accept: application/json;as=Table;v=v1;g=meta.k8s.io` (what `kubectl get pods -o wide` asks for)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from bot.sim.obj import Obj

POD_COLUMNS: list[Obj] = [
    {"name": "Name", "type": "string", "format": "name", "description": "Name of the pod", "priority": 0},
    {"name": "Ready", "type": "string", "format": "", "description": "The aggregate readiness state", "priority": 0},
    {"name": "Status", "type": "string", "format": "", "description": "The aggregate status of the pod", "priority": 0},
    {"name": "Restarts", "type": "string", "format": "", "description": "Container restarts", "priority": 0},
    {"name": "Age", "type": "string", "format": "", "description": "CreationTimestamp", "priority": 0},
    {"name": "IP", "type": "string", "format": "", "description": "The pod's IP", "priority": 1},
    {"name": "Node", "type": "string", "format": "", "description": "The node the pod runs on", "priority": 1},
    {"name": "Nominated Node", "type": "string", "format": "", "description": "Nominated node", "priority": 1},
    {"name": "Readiness Gates", "type": "string", "format": "", "description": "Readiness gates", "priority": 1},
]
NONE = "<none>"


@lru_cache(maxsize=4096)
def age(created: str) -> str:
    """kubectl's short age: 45s, 12m, 5h, 3d."""
    try:
        then = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return NONE
    seconds = max(0, int((datetime.now(UTC) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "m" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def partial_metadata(namespace: str, name: str, uid: str, rv: Any, created: str, labels: dict[str, str]) -> Obj:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid,
            "resourceVersion": str(rv),
            "creationTimestamp": created,
            "labels": labels,
        },
    }


def row_from_object(pod: Obj) -> Obj:
    """A Table row from a full pod object, following kubectl's printPod."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    total = len(spec.get("containers") or [])
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount") or 0) for c in statuses)
    reason = str(status.get("reason") or status.get("phase") or "Unknown")
    for c in statuses:
        state = c.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif (state.get("terminated") or {}).get("reason"):
            reason = state["terminated"]["reason"]
    if meta.get("deletionTimestamp"):
        reason = "Terminating"
    cells = [
        meta.get("name", ""),
        f"{ready}/{total}",
        reason,
        str(restarts),
        age(str(meta.get("creationTimestamp") or "")),
        status.get("podIP") or NONE,
        spec.get("nodeName") or NONE,
        NONE,
        NONE,
    ]
    return {
        "cells": cells,
        "object": partial_metadata(
            str(meta.get("namespace") or ""),
            str(meta.get("name") or ""),
            str(meta.get("uid") or ""),
            meta.get("resourceVersion", ""),
            str(meta.get("creationTimestamp") or ""),
            dict(meta.get("labels") or {}),
        ),
    }


def wants_table(accept: str) -> bool:
    """Whether the client asked for server-side printing (the first acceptable type says as=Table)."""
    first = accept.split(",", 1)[0]
    return "as=Table" in first and "g=meta.k8s.io" in first
