"""A plan: the exact API requests a remediation would send, and a hash that only that plan has."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

Risk = Literal["low", "medium", "high"]


@dataclass(frozen=True)
class ApiRequest:
    """One request the executor would send: method, path and body, plus the resourceVersion the object
    had when the plan was made (the executor refuses to run if it changed)."""

    method: Literal["POST", "PUT", "PATCH", "DELETE"]
    path: str
    body: dict[str, Any] = field(default_factory=dict)
    resource_version: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "body": self.body, "resourceVersion": self.resource_version}


@dataclass(frozen=True)
class Plan:
    action: str
    cluster: str
    risk: Risk
    requests: tuple[ApiRequest, ...]
    summary: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "cluster": self.cluster,
            "risk": self.risk,
            "summary": self.summary,
            "requests": [r.to_json() for r in self.requests],
        }

    @property
    def digest(self) -> str:
        """sha256 over the canonical JSON of everything that would change: any difference in action,
        cluster, risk, a request, its body or its precondition gives another hash."""
        canonical = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()
