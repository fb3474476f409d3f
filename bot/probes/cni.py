"""cni.detect, cni.pods and cni.logs: what CNI runs, whether its agents are healthy, what they log."""

from __future__ import annotations

import re
from typing import Any

from bot.domain.probe import Finding
from bot.probes.base import Outcome
from bot.probes.context import PodInfo, ProbeContext

ERROR_LINE = re.compile(
    r"\[(?:ERROR|WARNING|FATAL)\]|level=(?:error|warn|warning|fatal)|^[EWF]\d{4} |\"level\":\"(?:error|warn)"
    r"|\b(?:error|failed|fatal|unable to|cannot|not ready)\b",
    re.IGNORECASE,
)
# Warnings every healthy agent prints at start-up; reporting them sends people down the wrong path.
HARMLESS_LINE = re.compile(
    r"Neither --kubeconfig nor --master was specified"  # client-go in a pod: in-cluster config is the norm
    r"|could not find any cgroup v1|this might not work",
    re.IGNORECASE,
)
MAX_LOG_PODS = 12
LOG_TAIL = 300
MAX_LOG_LINES = 40


class DetectProbe:
    id = "cni.detect"
    title = "Which CNI is installed"
    commands = ("kubectl get daemonset -A", "kubectl get ippools.crd.projectcalico.org")

    def run(self, ctx: ProbeContext) -> Outcome:
        cni = ctx.cni
        data = {
            "cni": cni.name,
            "version": cni.version,
            "namespace": cni.namespace,
            "daemonset": cni.daemonset,
            "encapsulation": cni.encapsulation,
            "overhead_bytes": cni.overhead,
            **cni.details,
        }
        if cni.name == "none":
            finding = Finding(
                "critical",
                "No CNI DaemonSet found (looked for calico-node, flannel, cilium, weave-net, aws-node, antrea, "
                "kube-router): nodes cannot become Ready without a pod network",
                command="kubectl get daemonset -A",
                runbook="cni-config-uninitialized",
            )
            return Outcome("no CNI installed", [finding], data)
        version = f" {cni.version}" if cni.version else ""
        summary = f"{cni.name}{version} ({cni.namespace}/{cni.daemonset}), encapsulation {cni.encapsulation}"
        return Outcome(summary, [Finding("ok", summary)], data)


class CniPodsProbe:
    id = "cni.pods"
    title = "CNI DaemonSet health"
    commands = ("kubectl get daemonset -A", "kubectl get pods -n <ns> -l <selector> -o wide")

    def run(self, ctx: ProbeContext) -> Outcome:
        cni = ctx.cni
        if cni.name == "none":
            return Outcome("no CNI DaemonSet to check", [], {"cni": "none"}, status="no data")
        ds = ctx.reader.get(f"/apis/apps/v1/namespaces/{cni.namespace}/daemonsets/{cni.daemonset}")
        status = ds.get("status") or {}
        desired = int(status.get("desiredNumberScheduled") or 0)
        ready = int(status.get("numberReady") or 0)
        available = int(status.get("numberAvailable") or 0)
        pods = ctx.cni_pods
        command = f"kubectl get pods -n {cni.namespace} -l {cni.selector} -o wide"
        findings = [self._pod_finding(p, cni.namespace, cni.container) for p in pods if not p.ready]
        findings = [f for f in findings if f is not None]
        restarting = [p for p in pods if p.ready and p.restarts >= 5]
        for p in restarting:
            findings.append(
                Finding(
                    "warning",
                    f"{p.name} on {p.node} is Ready but restarted {p.restarts} times "
                    f"(last: {p.last_terminated or 'unknown'})",
                    command=f"kubectl logs -n {cni.namespace} {p.name} -c {cni.container} --previous",
                    runbook="cni-daemonset-crashloop",
                )
            )
        if ready < desired and not any(f.severity == "critical" for f in findings):
            findings.append(
                Finding(
                    "critical",
                    f"{cni.daemonset}: {ready}/{desired} pods ready",
                    command=f"kubectl -n {cni.namespace} get daemonset {cni.daemonset}",
                )
            )
        data = {
            "daemonset": f"{cni.namespace}/{cni.daemonset}",
            "desired": desired,
            "ready": ready,
            "available": available,
            "not_ready": [
                {
                    "pod": p.name,
                    "node": p.node,
                    "phase": p.phase,
                    "waiting": p.waiting,
                    "restarts": p.restarts,
                    "last_termination": p.last_terminated,
                }
                for p in pods
                if not p.ready
            ],
        }
        summary = f"{cni.daemonset}: desired {desired}, ready {ready}, available {available}"
        if not findings:
            findings.append(Finding("ok", summary, command=command))
        return Outcome(
            summary, findings, data, commands=(command, f"kubectl -n {cni.namespace} get ds {cni.daemonset}")
        )

    @staticmethod
    def _pod_finding(p: PodInfo, namespace: str, container: str) -> Finding:
        if p.waiting == "CrashLoopBackOff":
            what = f"CrashLoopBackOff, {p.restarts} restarts, last termination {p.last_terminated or 'unknown'}"
            runbook = "cni-daemonset-crashloop"
        elif p.phase == "Running":
            what = "Running but not Ready"
            runbook = "calico-node-not-ready" if container == "calico-node" else "cni-daemonset-crashloop"
        else:
            what = f"{p.phase or 'unknown phase'}{', ' + p.waiting if p.waiting else ''}"
            runbook = "cni-daemonset-crashloop"
        return Finding(
            "critical",
            f"{p.name} on {p.node or 'no node'}: {what}",
            evidence=(f"node {p.node}",),
            # --previous only where a container has died; a running one is read as it is now
            command=f"kubectl logs -n {namespace} {p.name} -c {container}"
            + (" --previous" if p.restarts else " --tail=200"),
            runbook=runbook,
        )


class CniLogsProbe:
    id = "cni.logs"
    title = "Recent warnings and errors in CNI pod logs"
    commands = ("kubectl logs -n <ns> <cni-pod> -c <container> --tail=300",)

    def run(self, ctx: ProbeContext) -> Outcome:
        cni = ctx.cni
        if cni.name == "none":
            return Outcome("no CNI pods to read", [], {"cni": "none"}, status="no data")
        pods = ctx.cni_pods
        # troubled pods first; on a 5,000-node cluster reading every agent's log would take minutes
        chosen = sorted(pods, key=lambda p: (p.ready, -p.restarts, p.name))[:MAX_LOG_PODS]
        lines: dict[str, dict[str, Any]] = {}
        for pod in chosen:
            text = ctx.reader.log(cni.namespace, pod.name, container=cni.container, tail_lines=LOG_TAIL)
            for line in text.splitlines():
                if ERROR_LINE.search(line) and not HARMLESS_LINE.search(line):
                    key = _line_key(line)
                    entry = lines.setdefault(key, {"line": line.strip()[:400], "pods": [], "count": 0})
                    entry["count"] += 1
                    if pod.name not in entry["pods"]:
                        entry["pods"].append(pod.name)
        entries = list(lines.values())[:MAX_LOG_LINES]
        runbooks = ctx.runbooks_for([e["line"] for e in entries])
        findings = []
        for entry, runbook in zip(entries, runbooks, strict=True):
            entry["runbook"] = runbook
            findings.append(
                Finding(
                    "warning",
                    entry["line"],
                    evidence=(f"{entry['count']} time(s) in {', '.join(entry['pods'][:3])}",),
                    command=f"kubectl logs -n {cni.namespace} {entry['pods'][0]} -c {cni.container} --tail={LOG_TAIL}",
                    runbook=runbook,
                )
            )
        summary = f"{len(entries)} distinct warning/error lines in {len(chosen)} of {len(pods)} {cni.name} pods"
        data = {"pods_read": [p.name for p in chosen], "lines": entries}
        return Outcome(summary, findings, data, status=None if findings else "ok")


_NOISE = re.compile(r"^\S+\s+\S+\s+|\d+")


def _line_key(line: str) -> str:
    """Lines that differ only in timestamps and numbers count as one."""
    return _NOISE.sub("", line)[:200]
