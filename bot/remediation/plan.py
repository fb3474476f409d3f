"""A plan: the exact API requests a remediation would send, and a hash that only that plan has."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

Risk = Literal["low", "medium", "high"]
Method = Literal["POST", "PUT", "PATCH", "DELETE"]
MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class ApiRequest:
    """One request the executor would send: method, path and body, plus the resourceVersion the object
    had when the plan was made (the executor refuses to run if it changed). `path` names the object for
    PUT, PATCH and DELETE, and the collection for POST."""

    method: Method
    path: str
    body: dict[str, Any] = field(default_factory=dict)
    resource_version: str = ""

    @property
    def content_type(self) -> str:
        return MERGE_PATCH if self.method == "PATCH" else "application/json"

    @property
    def object_path(self) -> str:
        """The object this request changes (for POST: the one it creates)."""
        if self.method == "POST":
            return f"{self.path}/{(self.body.get('metadata') or {}).get('name', '')}"
        return self.path

    def describe(self) -> str:
        return f"{self.method} {self.path}"

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "body": self.body, "resourceVersion": self.resource_version}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ApiRequest:
        return cls(data["method"], data["path"], dict(data.get("body") or {}), str(data.get("resourceVersion") or ""))


@dataclass(frozen=True)
class Plan:
    """`absent_pods` ("namespace/name") must still not exist right before execution: the action's own
    re-check (release-leaked-ips), on top of the resourceVersion of every object it changes."""

    action: str
    cluster: str
    risk: Risk
    requests: tuple[ApiRequest, ...]
    summary: str = ""
    parameters: tuple[tuple[str, str], ...] = ()
    absent_pods: tuple[str, ...] = ()
    runbook: str = ""  # whose risk table and safety notes apply, and whose probes verify the result

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "cluster": self.cluster,
            "risk": self.risk,
            "summary": self.summary,
            "parameters": dict(self.parameters),
            "absent_pods": list(self.absent_pods),
            "runbook": self.runbook,
            "requests": [r.to_json() for r in self.requests],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(
            action=data["action"],
            cluster=data["cluster"],
            risk=data["risk"],
            requests=tuple(ApiRequest.from_json(r) for r in data["requests"]),
            summary=data.get("summary", ""),
            parameters=tuple(sorted((str(k), str(v)) for k, v in (data.get("parameters") or {}).items())),
            absent_pods=tuple(data.get("absent_pods") or ()),
            runbook=str(data.get("runbook") or ""),
        )

    @property
    def digest(self) -> str:
        """sha256 over the canonical JSON of everything that would change: any difference in action,
        cluster, risk, a request, its body or its precondition gives another hash."""
        canonical = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()
