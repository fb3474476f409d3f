"""nodes.network: nodes NotReady or NetworkUnavailable, with the condition's reason and message."""

from __future__ import annotations

from typing import Any

from bot.domain.probe import Finding
from bot.probes.base import Outcome
from bot.probes.context import ProbeContext


def condition(node: dict[str, Any], kind: str) -> dict[str, str] | None:
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return {k: str(v) for k, v in c.items()}
    return None


class NodesNetworkProbe:
    id = "nodes.network"
    title = "Node readiness and network conditions"
    commands = ("kubectl get nodes -o wide", "kubectl describe node <node>")

    def run(self, ctx: ProbeContext) -> Outcome:
        nodes = ctx.nodes
        findings: list[Finding] = []
        rows = []
        messages: list[str] = []
        for node in nodes:
            name = str(node["metadata"]["name"])
            ready = condition(node, "Ready") or {}
            network = condition(node, "NetworkUnavailable")
            problem = None
            if ready.get("status") != "True":
                problem = f"NotReady: {ready.get('reason', 'unknown')}: {ready.get('message', '')}".strip()
            elif network and network.get("status") == "True":
                problem = f"NetworkUnavailable: {network.get('reason', '')}: {network.get('message', '')}".strip()
            rows.append(
                {
                    "node": name,
                    "ready": ready.get("status", "Unknown"),
                    "reason": ready.get("reason", ""),
                    "message": ready.get("message", ""),
                    "network_unavailable": (network or {}).get("status", "Unknown"),
                    "network_reason": (network or {}).get("reason", ""),
                }
            )
            if problem:
                messages.append(problem)
                findings.append(Finding("critical", f"{name} {problem}", command=f"kubectl describe node {name}"))
        runbooks = ctx.runbooks_for(messages)
        findings = [
            Finding(f.severity, f.summary, f.evidence, f.command, runbook)
            for f, runbook in zip(findings, runbooks, strict=True)
        ]
        bad = len(findings)
        summary = f"{len(nodes) - bad}/{len(nodes)} nodes Ready with the network available"
        if not findings:
            findings.append(Finding("ok", summary, command="kubectl get nodes -o wide"))
        problems = [r for r in rows if r["ready"] != "True" or r["network_unavailable"] == "True"]
        return Outcome(summary, findings, {"nodes": len(nodes), "problems": problems})
