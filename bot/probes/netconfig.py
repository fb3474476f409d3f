"""config.mtu and config.pod_cidr: the CNI's configuration checked against itself and the nodes."""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from typing import Any

import yaml

from bot.domain.probe import Finding
from bot.probes.base import Outcome
from bot.probes.context import ProbeContext
from bot.probes.detect import flannel_net_conf
from bot.probes.ipam_math import contains, parse_network

UPLINK_MTU_ANNOTATION = "cnibot.io/uplink-mtu"
ASSUMED_UPLINK_MTU = 1500
WASTEFUL_MARGIN = 100


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def configured_mtus(ctx: ProbeContext) -> dict[str, int]:
    """Every place this CNI's pod MTU can be set, with the value found (0 means auto-detect)."""
    cni = ctx.cni
    found: dict[str, int] = {}
    if cni.name in ("calico", "canal"):
        cm = ctx.configmap(cni.namespace, "calico-config") or ctx.configmap(cni.namespace, "canal-config") or {}
        if (v := _int((cm.get("data") or {}).get("veth_mtu"))) is not None:
            found["calico-config veth_mtu"] = v
        installation = ctx.installation()
        if (
            installation
            and (v := _int(((installation.get("spec") or {}).get("calicoNetwork") or {}).get("mtu"))) is not None
        ):
            found["Installation default spec.calicoNetwork.mtu"] = v
        for felix in ctx.calico("felixconfigurations") or []:
            spec = felix.get("spec") or {}
            for key in ("vxlanMTU", "ipipMTU", "wireguardMTU", "mtu"):
                if (v := _int(spec.get(key))) is not None:
                    found[f"FelixConfiguration {felix['metadata']['name']} {key}"] = v
    elif cni.name == "flannel":
        backend = flannel_net_conf(ctx.configmap(cni.namespace, "kube-flannel-cfg")).get("Backend") or {}
        if (v := _int(backend.get("MTU"))) is not None:
            found["kube-flannel-cfg net-conf.json Backend.MTU"] = v
    elif cni.name == "cilium":
        cm = ctx.configmap(cni.namespace, "cilium-config") or {}
        if (v := _int((cm.get("data") or {}).get("mtu"))) is not None:
            found["cilium-config mtu"] = v
    return found


class MtuProbe:
    id = "config.mtu"
    title = "Pod MTU against encapsulation and node MTU"
    commands = (
        "kubectl get cm -n kube-system calico-config -o yaml",
        "ip link show eth0  # on a node",
        "ping -M do -s 1472 <pod-ip>",
    )

    def run(self, ctx: ProbeContext) -> Outcome:
        cni = ctx.cni
        if cni.name == "none":
            return Outcome("no CNI detected", [], {"cni": "none"}, status="no data")
        overhead = cni.overhead
        uplinks = {
            str(n["metadata"]["name"]): v
            for n in ctx.nodes
            if (v := _int(((n.get("metadata") or {}).get("annotations") or {}).get(UPLINK_MTU_ANNOTATION))) is not None
        }
        node_mtu = min(uplinks.values()) if uplinks else ASSUMED_UPLINK_MTU
        mtus = configured_mtus(ctx)
        explicit = {k: v for k, v in mtus.items() if v > 0}
        data: dict[str, Any] = {
            "cni": cni.name,
            "encapsulation": cni.encapsulation,
            "overhead_bytes": overhead,
            "node_mtu": node_mtu,
            "node_mtu_source": f"node annotation {UPLINK_MTU_ANNOTATION}"
            if uplinks
            else f"assumed {ASSUMED_UPLINK_MTU}",
            "configured": mtus,
        }
        findings: list[Finding] = []
        if len(set(uplinks.values())) > 1:
            counts = Counter(uplinks.values())
            findings.append(
                Finding(
                    "warning",
                    f"nodes disagree on the uplink MTU: {dict(counts)}",
                    command="ip link show  # on each node",
                    runbook="mtu-mismatch",
                )
            )
        if overhead is None:
            return Outcome(
                f"encapsulation {cni.encapsulation!r} unknown; MTU not checked",
                findings,
                data,
                status="no data",
            )
        expected = node_mtu - overhead
        data["expected_pod_mtu"] = expected
        if not explicit:
            summary = f"pod MTU auto-detected by {cni.name} (expected {node_mtu} - {overhead} = {expected})"
            return Outcome(summary, findings or [Finding("ok", summary)], data)
        if len(set(explicit.values())) > 1:
            findings.append(
                Finding(
                    "warning",
                    "MTU settings disagree: " + ", ".join(f"{k}={v}" for k, v in explicit.items()),
                    runbook="mtu-mismatch",
                )
            )
        for source, mtu in explicit.items():
            if mtu > expected:
                findings.append(
                    Finding(
                        "critical",
                        f"{source} is {mtu}: {mtu} + {cni.encapsulation} {overhead} = {mtu + overhead} "
                        f"> node MTU {node_mtu}; packets over {expected} bytes are dropped (small requests work, "
                        f"large transfers hang); set it to {expected}",
                        evidence=(f"ping -M do -s {expected - 28} <pod-ip> should pass, -s {mtu - 28} fails",),
                        command=f"ping -M do -s {mtu - 28} <pod-ip-on-another-node>",
                        runbook="mtu-mismatch",
                    )
                )
            elif mtu < expected - WASTEFUL_MARGIN:
                findings.append(
                    Finding(
                        "warning",
                        f"{source} is {mtu}, well below the {expected} this path allows: safe but wastes throughput",
                        runbook="mtu-mismatch",
                    )
                )
        summary = (
            f"{cni.name} {cni.encapsulation} (+{overhead} bytes) on node MTU {node_mtu}: "
            f"pod MTU should be <= {expected}; configured " + ", ".join(f"{k}={v}" for k, v in explicit.items())
        )
        if not findings:
            findings.append(Finding("ok", summary))
        return Outcome(summary, findings, data)


def kubeadm_networking(ctx: ProbeContext) -> dict[str, str]:
    cm = ctx.configmap("kube-system", "kubeadm-config") or {}
    raw = (cm.get("data") or {}).get("ClusterConfiguration") or ""
    try:
        data = yaml.safe_load(raw) or {}
    except yaml.YAMLError:
        return {}
    networking = data.get("networking") if isinstance(data, dict) else None
    return {k: str(v) for k, v in (networking or {}).items() if isinstance(v, str | int)}


class PodCidrProbe:
    id = "config.pod_cidr"
    title = "Pod CIDRs against each other, node addresses and Services"
    commands = (
        "kubectl get nodes -o custom-columns=NAME:.metadata.name,CIDR:.spec.podCIDR,IP:.status.addresses[0].address",
        "kubectl get cm -n kube-system kubeadm-config -o yaml",
    )

    def run(self, ctx: ProbeContext) -> Outcome:
        cni = ctx.cni
        sources: dict[str, Any] = {}
        networking = kubeadm_networking(ctx)
        if networking.get("podSubnet"):
            sources["kubeadm podSubnet"] = parse_network(networking["podSubnet"])
        if cni.name == "flannel":
            network = flannel_net_conf(ctx.configmap(cni.namespace, "kube-flannel-cfg")).get("Network")
            if network:
                sources["flannel Network"] = parse_network(network)
        for pool in ctx.calico("ippools") or []:
            sources[f"IPPool {pool['metadata']['name']}"] = parse_network((pool.get("spec") or {}).get("cidr"))
        sources = {k: v for k, v in sources.items() if v is not None}
        service_net = parse_network(networking.get("serviceSubnet")) if networking.get("serviceSubnet") else None
        kubernetes_svc = ctx.reader.get_optional("/api/v1/namespaces/default/services/kubernetes") or {}
        service_ip = (kubernetes_svc.get("spec") or {}).get("clusterIP")
        node_cidrs: dict[str, Any] = {}
        node_ips: dict[str, str] = {}
        for node in ctx.nodes:
            name = str(node["metadata"]["name"])
            if (net := parse_network((node.get("spec") or {}).get("podCIDR"))) is not None:
                node_cidrs[name] = net
            for addr in (node.get("status") or {}).get("addresses") or []:
                if addr.get("type") == "InternalIP":
                    node_ips[name] = str(addr.get("address"))
        findings: list[Finding] = []
        cmd = self.commands[0]

        def flag(summary: str, runbook: str = "pod-cidr-conflict", severity: str = "critical") -> None:
            findings.append(Finding(severity, summary, command=cmd, runbook=runbook))  # type: ignore[arg-type]

        for (a, na), (b, nb) in combinations(sources.items(), 2):
            if a.startswith("IPPool") and b.startswith("IPPool") and na.version == nb.version and na.overlaps(nb):
                flag(f"{a} {na} overlaps {b} {nb}")
        pod_nets = [(k, v) for k, v in sources.items() if not k.startswith("IPPool")]
        if len({str(v) for _, v in pod_nets}) > 1:
            flag(
                "pod CIDR differs between sources: " + ", ".join(f"{k}={v}" for k, v in pod_nets),
                severity="warning",
            )
        for name, ip in node_ips.items():
            for label, net in sources.items():
                if contains(net, ip):
                    flag(f"node {name} address {ip} lies inside {label} {net}: pod routes will hijack node traffic")
        if service_net is not None:
            for label, net in sources.items():
                if net.version == service_net.version and net.overlaps(service_net):
                    flag(f"{label} {net} overlaps the Service CIDR {service_net}")
        elif service_ip:
            for label, net in sources.items():
                if contains(net, service_ip):
                    flag(
                        f"{label} {net} contains the kubernetes Service IP {service_ip}: pod and Service ranges overlap"
                    )
        for (a, na), (b, nb) in combinations(node_cidrs.items(), 2):
            if na.version == nb.version and na.overlaps(nb):
                flag(f"node {a} podCIDR {na} overlaps node {b} podCIDR {nb}")
        cluster = pod_nets[0][1] if pod_nets else None
        if cluster is not None:
            for name, net in node_cidrs.items():
                if net.version == cluster.version and not net.subnet_of(cluster):
                    flag(f"node {name} podCIDR {net} is outside the cluster pod CIDR {cluster} ({pod_nets[0][0]})")
        if cni.name in ("flannel", "canal") or (not sources and node_cidrs):
            missing = [str(n["metadata"]["name"]) for n in ctx.nodes if str(n["metadata"]["name"]) not in node_cidrs]
            if missing:
                flag(
                    f"{len(missing)} node(s) have no podCIDR ({', '.join(missing[:10])}); "
                    f"{cni.name} cannot start on them "
                    "(kube-controller-manager --allocate-node-cidrs, or the cluster CIDR is used up)"
                )
        data = {
            "pod_cidrs": {k: str(v) for k, v in sources.items()},
            "service_cidr": str(service_net) if service_net else None,
            "kubernetes_service_ip": service_ip,
            "node_pod_cidrs": {k: str(v) for k, v in sorted(node_cidrs.items())[:500]},
            "nodes_without_pod_cidr": len(ctx.nodes) - len(node_cidrs),
        }
        summary = (
            f"pod CIDR {', '.join(f'{k}={v}' for k, v in sources.items()) or 'unknown'}; "
            f"{len(node_cidrs)}/{len(ctx.nodes)} nodes have a podCIDR; {len(findings)} conflict(s)"
        )
        if not findings:
            findings.append(Finding("ok", summary, command=cmd))
        return Outcome(summary, findings, data)
