"""What a probe returns: a status, findings with evidence and the command a human would run, and data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, cast

Status = Literal["ok", "warning", "critical", "error", "no data"]
STATUS_ORDER: dict[str, int] = {"ok": 0, "no data": 1, "warning": 2, "error": 3, "critical": 4}


@dataclass(frozen=True)
class Finding:
    severity: Literal["ok", "warning", "critical"]
    summary: str
    evidence: tuple[str, ...] = ()
    command: str = ""  # the equivalent command a human would run to see the same
    runbook: str | None = None


@dataclass(frozen=True)
class ProbeResult:
    probe: str
    title: str
    status: Status
    summary: str
    findings: tuple[Finding, ...] = ()
    commands: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    request: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "probe": self.probe,
            "title": self.title,
            "status": self.status,
            "summary": self.summary,
            "findings": [
                {
                    "severity": f.severity,
                    "summary": f.summary,
                    "evidence": list(f.evidence),
                    "command": f.command,
                    "runbook": f.runbook,
                }
                for f in self.findings
            ],
            "commands": list(self.commands),
            "data": self.data,
            "error": self.error,
            "request": self.request,
            "seconds": round(self.seconds, 3),
        }


def worst(statuses: list[str]) -> Status:
    """The most serious of several statuses ("ok" for none)."""
    if not statuses:
        return "ok"
    top = max(statuses, key=lambda s: STATUS_ORDER[s])
    return cast(Status, top)


@dataclass(frozen=True)
class ClusterInfo:
    """Which cluster an answer is about; `simulated` is never left for the reader to guess."""

    description: str
    server: str
    simulated: bool = False
    scenario: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "source": self.description,
            "simulated": self.simulated,
            "scenario": self.scenario or None,
        }


@dataclass(frozen=True)
class ProbeReport:
    """A probe run: the cluster, each probe's result, or one reason why the cluster could not be asked."""

    cluster: ClusterInfo
    results: tuple[ProbeResult, ...]
    cluster_error: str | None = None
    cluster_request: str | None = None
    not_run: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        """Nothing useful came back: the cluster could not be asked, or every probe failed."""
        return self.cluster_error is not None or all(r.status == "error" for r in self.results)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"cluster": self.cluster.to_json(), "results": [r.to_json() for r in self.results]}
        if self.cluster_error is not None:
            data["error"] = self.cluster_error
            data["request"] = self.cluster_request
            data["not_run"] = list(self.not_run)
        return data
