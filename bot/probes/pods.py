"""pods.sandbox_failures and pods.ips: pods the network failed, grouped by node and error."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from bot.domain.probe import Finding
from bot.knowledge.normalize import normalize
from bot.probes.base import Outcome
from bot.probes.context import PodInfo, ProbeContext

SANDBOX_REASONS = ("FailedCreatePodSandBox", "NetworkNotReady")
MAX_GROUPS = 20


class SandboxFailuresProbe:
    id = "pods.sandbox_failures"
    title = "Pod sandbox and network-not-ready failures"
    commands = (
        "kubectl get events -A --field-selector reason=FailedCreatePodSandBox",
        "kubectl get pods -A --field-selector status.phase=Pending -o wide",
    )

    def run(self, ctx: ProbeContext) -> Outcome:
        events = [e for reason in SANDBOX_REASONS for e in ctx.events(reason)]
        groups: dict[tuple[str, str], dict[str, Any]] = {}
        for e in events:
            obj = e.get("involvedObject") or {}
            pod = f"{obj.get('namespace', '')}/{obj.get('name', '')}"
            node = str((e.get("source") or {}).get("host") or "") or ctx.node_of_pod.get(pod, "")
            message = str(e.get("message") or "")
            key = (node, normalize(message)[:300])
            group = groups.setdefault(
                key, {"node": node, "reason": e.get("reason"), "error": message[:500], "count": 0, "pods": []}
            )
            group["count"] += int(e.get("count") or 1)
            if pod not in group["pods"]:
                group["pods"].append(pod)
        stuck = [p for p in ctx.pods if p.phase == "Pending" and p.node and p.waiting in ("", "ContainerCreating")]
        stuck_by_node = Counter(p.node for p in stuck)
        ordered = sorted(groups.values(), key=lambda g: -g["count"])[:MAX_GROUPS]
        runbooks = ctx.runbooks_for([g["error"] for g in ordered])
        findings = []
        for group, runbook in zip(ordered, runbooks, strict=True):
            group["runbook"] = runbook
            pods = group["pods"]
            findings.append(
                Finding(
                    "critical",
                    f"{group['node'] or 'unknown node'}: {len(pods)} pod(s), {group['count']} event(s): "
                    f"{normalize(group['error'])[:200]}",
                    evidence=(f"pods: {', '.join(pods[:3])}{' …' if len(pods) > 3 else ''}",),
                    command=f"kubectl describe pod -n {pods[0].split('/')[0]} {pods[0].split('/')[1]}",
                    runbook=runbook,
                )
            )
        data = {
            "groups": ordered,
            "stuck_pods": len(stuck),
            "stuck_by_node": dict(stuck_by_node.most_common(50)),
            "by_error": self._by_error(ordered),
        }
        events_total = sum(g["count"] for g in groups.values())
        summary = f"{events_total} sandbox/network events in {len(groups)} group(s); {len(stuck)} pods stuck creating"
        if not findings and stuck:
            findings.append(
                Finding(
                    "warning",
                    f"{len(stuck)} pods Pending on a node with no sandbox events",
                    evidence=tuple(f"{n}: {c}" for n, c in stuck_by_node.most_common(5)),
                    command="kubectl get pods -A --field-selector status.phase=Pending -o wide",
                )
            )
        return Outcome(summary, findings, data, status=None if findings else "ok")

    @staticmethod
    def _by_error(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
        merged: dict[str, dict[str, Any]] = defaultdict(lambda: {"count": 0, "nodes": []})
        for g in groups:
            entry = merged[normalize(g["error"])[:300]]
            entry["error"] = g["error"]
            entry["runbook"] = g.get("runbook")
            entry["count"] += g["count"]
            if g["node"] not in entry["nodes"]:
                entry["nodes"].append(g["node"])
        return sorted(merged.values(), key=lambda e: -e["count"])


class PodIpsProbe:
    id = "pods.ips"
    title = "Pods without an IP and duplicate pod IPs"
    commands = ("kubectl get pods -A -o wide",)

    def run(self, ctx: ProbeContext) -> Outcome:
        running = [p for p in ctx.pods if p.phase == "Running" and not p.host_network and not p.deleting]
        no_ip = [p for p in running if not p.pod_ip]
        # first owner of each IP in a plain dict; only a clash (rare) builds a list
        first: dict[str, PodInfo] = {}
        clashes: dict[str, list[str]] = {}
        for p in running:
            for ip in p.pod_ips:
                seen = first.setdefault(ip, p)
                if seen is not p:
                    clashes.setdefault(ip, [seen.key]).append(p.key)
        duplicates = clashes
        findings = []
        if no_ip:
            findings.append(
                Finding(
                    "critical",
                    f"{len(no_ip)} running pod(s) have no IP",
                    evidence=tuple(f"{p.key} on {p.node}" for p in no_ip[:10]),
                    command="kubectl get pods -A -o wide | awk '$7==\"<none>\"'",
                    runbook="ipam-exhausted",
                )
            )
        for ip, keys in list(duplicates.items())[:20]:
            findings.append(
                Finding(
                    "critical",
                    f"{ip} is used by {len(keys)} pods",
                    evidence=tuple(keys[:5]),
                    command=f"kubectl get pods -A -o wide | grep -w {ip}",
                    runbook="pod-cidr-conflict",
                )
            )
        summary = f"{len(running)} running pods: {len(no_ip)} without an IP, {len(duplicates)} duplicated IP(s)"
        data = {
            "running": len(running),
            "without_ip": [{"pod": p.key, "node": p.node} for p in no_ip[:200]],
            "duplicates": [{"ip": ip, "pods": keys} for ip, keys in list(duplicates.items())[:200]],
        }
        if not findings:
            findings.append(Finding("ok", summary, command="kubectl get pods -A -o wide"))
        return Outcome(summary, findings, data)
