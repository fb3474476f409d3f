"""The probe ids runbooks may name in their diagnosis steps, with one line on what each reads.

Kept free of imports so that `cnibot runbook check` stays fast; a test asserts it equals the registry."""

from __future__ import annotations

PROBE_DESCRIPTIONS: dict[str, str] = {
    "cni.detect": "Which CNI is installed (Calico, Flannel, Cilium, other) and its version.",
    "cni.pods": "CNI DaemonSet health: desired/ready/available, pods not Ready, crash loops, per node.",
    "nodes.network": "Nodes NotReady or NetworkUnavailable, with the condition's reason and message.",
    "pods.sandbox_failures": "FailedCreatePodSandBox / NetworkNotReady events and pods stuck creating.",
    "pods.ips": "Running pods without an IP, and duplicate pod IPs.",
    "ipam.usage": "IP pool usage per pool, node and block; leaked addresses; full blocks.",
    "ipam.pools": "IP pool utilization only (no pod list, no leak check): the alert check between reports.",
    "config.mtu": "The CNI's configured MTU against the encapsulation in use and the node MTU.",
    "config.pod_cidr": "Cluster pod CIDR, node podCIDRs and IP pools against each other and Services.",
    "cni.logs": "Recent warning and error lines from the CNI pods, matched to runbooks.",
}
