"""ipam.usage: address usage per pool, node and block; leaked addresses; full nodes; disabled pools."""

from __future__ import annotations

from bot.domain.probe import Finding
from bot.probes.base import Outcome
from bot.probes.context import ProbeContext
from bot.probes.detect import flannel_net_conf
from bot.probes.ipam_math import (
    IpamReport,
    by_node_ips,
    calico_usage,
    cilium_usage,
    full_nodes,
    host_local_usage,
    short_cidr_list,
)

WARN_AT = 0.80
CRITICAL_AT = 0.95


class IpamUsageProbe:
    id = "ipam.usage"
    title = "IPAM usage and leaked addresses"
    commands = (
        "calicoctl ipam show --show-blocks",
        "calicoctl ipam check",
        "kubectl get nodes -o custom-columns=NAME:.metadata.name,CIDR:.spec.podCIDR",
    )

    def run(self, ctx: ProbeContext) -> Outcome:
        report = self._report(ctx)
        findings: list[Finding] = []
        command = self.commands[0] if report.backend == "calico" else self.commands[2]
        for pool in report.pools:
            share = f"{pool.allocated}/{pool.capacity} ({pool.utilization:.0%})"
            if pool.disabled:
                findings.append(
                    Finding(
                        "warning",
                        f"pool {pool.name} {pool.cidr} is disabled: no new pod gets an address from it",
                        command="calicoctl get ippool -o wide",
                    )
                )
            elif pool.utilization >= CRITICAL_AT:
                findings.append(
                    Finding(
                        "critical",
                        f"pool {pool.name} {pool.cidr} is {share} used",
                        command=command,
                        runbook="ipam-exhausted",
                    )
                )
            elif pool.utilization >= WARN_AT:
                findings.append(
                    Finding(
                        "warning",
                        f"pool {pool.name} {pool.cidr} is {share} used",
                        command=command,
                        runbook="ipam-exhausted",
                    )
                )
        if report.leaked_total:
            sample = tuple(
                f"{x['ip']} {x['namespace']}/{x['pod']} on {x['node']} ({x['handle'][:40]})" for x in report.leaked[:5]
            )
            findings.append(
                Finding(
                    "critical" if any(p.utilization >= CRITICAL_AT for p in report.pools) else "warning",
                    f"{report.leaked_total} leaked address(es): allocated to pods that no longer exist",
                    evidence=sample,
                    command="calicoctl ipam check --show-problem-ips",
                    runbook="ipam-exhausted",
                )
            )
        enabled_room = sum(p.free for p in report.pools if not p.disabled)
        full = full_nodes(report)
        if full and enabled_room > 0 and report.backend == "calico":
            findings.append(
                Finding(
                    "warning",
                    f"{len(full)} node(s) have every block full while the pools still have "
                    f"{enabled_room} free addresses",
                    evidence=tuple(f"{n.node}: {n.blocks} block(s), {n.allocated}/{n.capacity}" for n in full[:5]),
                    command="calicoctl ipam show --show-blocks",
                    runbook="ipam-exhausted",
                )
            )
        elif full:
            findings.append(
                Finding(
                    "critical" if report.backend != "calico" else "warning",
                    f"{len(full)} node(s) have no free pod address",
                    evidence=tuple(
                        f"{n.node}: {n.allocated}/{n.capacity} in {short_cidr_list(n.cidrs)}" for n in full[:5]
                    ),
                    command=command,
                    runbook="ipam-exhausted",
                )
            )
        for note in report.notes:
            if "no podCIDR" in note:
                findings.append(Finding("critical", note, command=self.commands[2], runbook="pod-cidr-conflict"))
        # the headline counts what pods can get: a disabled pool hands out nothing, so it is named apart
        enabled = [p for p in report.pools if not p.disabled]
        disabled = len(report.pools) - len(enabled)
        total_alloc = sum(p.allocated for p in enabled)
        total_cap = sum(p.capacity for p in enabled)
        summary = (
            f"{report.backend}: {total_alloc}/{total_cap} addresses allocated in {len(enabled)} enabled pool(s), "
            f"{report.leaked_total} leaked" + (f"; {disabled} disabled pool(s) not counted" if disabled else "")
        )
        if not findings:
            findings.append(Finding("ok", summary, command=command))
        return Outcome(
            summary,
            findings,
            report.to_json(),
            commands=self.commands if report.backend == "calico" else self.commands[2:],
        )

    @staticmethod
    def _report(ctx: ProbeContext) -> IpamReport:
        pools = ctx.calico("ippools")
        if pools is not None:
            blocks = ctx.calico("ipamblocks") or []
            return calico_usage(pools, blocks, {p.key for p in ctx.pods})
        cilium_nodes = ctx.cilium_nodes()
        if cilium_nodes:
            return cilium_usage(cilium_nodes, by_node_ips(ctx.pods))
        cni = ctx.cni
        cluster_cidr = ""
        if cni.name == "flannel":
            cluster_cidr = str(flannel_net_conf(ctx.configmap(cni.namespace, "kube-flannel-cfg")).get("Network") or "")
        return host_local_usage(ctx.nodes, by_node_ips(ctx.pods), cluster_cidr)


class IpamPoolsProbe:
    """The light check between reports: each pool's allocation, without the pod list that the leak
    check needs (on Calico two lists, IPPools and IPAMBlocks, instead of pods too)."""

    id = "ipam.pools"
    title = "IP pool utilization (no leak check)"
    commands = ("calicoctl ipam show",)

    def run(self, ctx: ProbeContext) -> Outcome:
        pools = ctx.calico("ippools")
        if pools is not None:
            report = calico_usage(pools, ctx.calico("ipamblocks") or [], set())
            report.leaked, report.leaked_total, report.leaked_by = [], 0, {}  # not checked: no pod list read
        else:
            report = IpamUsageProbe._report(ctx)
        findings = [
            Finding(
                "critical" if p.utilization >= CRITICAL_AT else "warning",
                f"pool {p.name} {p.cidr} is {p.allocated}/{p.capacity} ({p.utilization:.0%}) used",
                runbook="ipam-exhausted",
            )
            for p in report.pools
            if not p.disabled and p.utilization >= WARN_AT
        ]
        summary = ", ".join(f"{p.name} {p.utilization:.0%}" for p in report.pools) or "no IP pools"
        if not findings:
            findings.append(Finding("ok", summary))
        data = report.to_json()
        data.pop("leaked", None)
        return Outcome(f"{report.backend}: {summary}", findings, data, commands=self.commands)
