"""The remediation catalogue: every action cnibot can carry out through the Kubernetes API once approved,
its risk from the guide's risk tables, and the runbooks whose steps it carries out. Kept free of imports
so `cnibot runbook check` can validate runbooks' `action:` references quickly."""

from __future__ import annotations

from dataclasses import dataclass

from bot.remediation.plan import Risk


@dataclass(frozen=True)
class Action:
    id: str
    risk: Risk
    approvals: int
    summary: str
    parameters: str
    runbooks: tuple[str, ...]


ACTIONS: dict[str, Action] = {
    a.id: a
    for a in (
        Action(
            "restart-cni",
            "medium",
            1,
            "Rollout restart of the detected CNI DaemonSet (calico-node, kube-flannel-ds, cilium), as "
            "`kubectl rollout restart` does: a pod-template annotation.",
            "",
            ("calico-node-not-ready", "cni-daemonset-crashloop", "flannel-not-ready", "cilium-agent-unhealthy"),
        ),
        Action(
            "delete-stuck-pods",
            "medium",
            1,
            "Delete pods stuck on sandbox/network errors on a node, only those a controller recreates.",
            "node=NAME [namespace=NS]",
            ("ipam-exhausted", "cni-config-uninitialized", "cni-plugin-missing"),
        ),
        Action(
            "set-mtu",
            "high",
            2,
            "Set the pod MTU for the CNI in use (FelixConfiguration/Installation, or calico-config veth_mtu), "
            "computed from the node MTU and the encapsulation, then the restart it needs.",
            "[mtu=N]",
            ("mtu-mismatch",),
        ),
        Action(
            "add-ippool",
            "high",
            2,
            "Create a Calico IPPool with a CIDR checked against pools, node addresses, podCIDRs and Services.",
            "cidr=CIDR [block_size=26]",
            ("ipam-exhausted",),
        ),
        Action(
            "release-leaked-ips",
            "high",
            2,
            "Release the leaked Calico IPAM allocations ipam.usage found, as `calicoctl ipam release` does, "
            "each re-checked to have no pod right before.",
            "",
            ("ipam-exhausted",),
        ),
    )
}
