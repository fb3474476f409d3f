"""Which CNI a cluster runs, its version and its encapsulation, from DaemonSets, CRDs and ConfigMaps."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# (CNI, DaemonSet name fragment, main container) — order matters: canal before calico and flannel.
KNOWN_DAEMONSETS: tuple[tuple[str, str, str], ...] = (
    ("canal", "canal", "calico-node"),
    ("calico", "calico-node", "calico-node"),
    ("flannel", "flannel", "kube-flannel"),
    ("cilium", "cilium", "cilium-agent"),
    ("weave", "weave-net", "weave"),
    ("aws-vpc-cni", "aws-node", "aws-node"),
    ("antrea", "antrea-agent", "antrea-agent"),
    ("kube-router", "kube-router", "kube-router"),
)
NOT_AGENTS = ("cilium-envoy", "cilium-node-init", "flannel-ds-windows")

# Bytes each encapsulation adds to a packet (the guide's arithmetic; WireGuard over IPv4).
OVERHEAD: dict[str, int] = {"vxlan": 50, "geneve": 50, "ipip": 20, "wireguard": 60, "udp": 28, "none": 0}


@dataclass(frozen=True)
class CniInfo:
    name: str  # calico, flannel, cilium, ... or "none"
    version: str = ""
    namespace: str = ""
    daemonset: str = ""
    container: str = ""
    selector: str = ""
    encapsulation: str = "unknown"  # vxlan, ipip, wireguard, geneve, udp, none, unknown
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def overhead(self) -> int | None:
        return OVERHEAD.get(self.encapsulation)


def image_version(image: str) -> str:
    tail = image.rsplit("/", 1)[-1]
    if "@" in tail:
        tail = tail.split("@", 1)[0]
    return tail.split(":", 1)[1] if ":" in tail else ""


def selector_of(ds: dict[str, Any]) -> str:
    labels = (((ds.get("spec") or {}).get("selector") or {}).get("matchLabels")) or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def find_cni_daemonset(daemonsets: list[dict[str, Any]]) -> tuple[str, dict[str, Any], str] | None:
    for cni, fragment, container in KNOWN_DAEMONSETS:
        for ds in daemonsets:
            name = str((ds.get("metadata") or {}).get("name") or "")
            if fragment in name and not any(x in name for x in NOT_AGENTS):
                return cni, ds, container
    return None


def _containers(ds: dict[str, Any]) -> list[dict[str, Any]]:
    return list(((ds.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or [])


def calico_encapsulation(pools: list[dict[str, Any]], felix: dict[str, Any] | None) -> str:
    if felix and (felix.get("spec") or {}).get("wireguardEnabled"):
        return "wireguard"
    active = [p for p in pools if not (p.get("spec") or {}).get("disabled")]
    modes = [(p.get("spec") or {}) for p in active]
    if any(m.get("vxlanMode") in ("Always", "CrossSubnet") for m in modes):
        return "vxlan"
    if any(m.get("ipipMode") in ("Always", "CrossSubnet") for m in modes):
        return "ipip"
    return "none" if modes else "unknown"


def flannel_net_conf(configmap: dict[str, Any] | None) -> dict[str, Any]:
    raw = ((configmap or {}).get("data") or {}).get("net-conf.json") or ""
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def flannel_encapsulation(net_conf: dict[str, Any]) -> str:
    backend = str((net_conf.get("Backend") or {}).get("Type") or "vxlan").lower()
    return {"host-gw": "none", "vxlan": "vxlan", "wireguard": "wireguard", "udp": "udp", "ipip": "ipip"}.get(
        backend, "unknown"
    )


def cilium_encapsulation(config: dict[str, str]) -> str:
    if config.get("enable-wireguard") == "true":
        return "wireguard"
    if config.get("routing-mode") == "native" or config.get("tunnel") == "disabled":
        return "none"
    return config.get("tunnel-protocol") or config.get("tunnel") or "vxlan"


def detect_cni(ctx: Any) -> CniInfo:
    found = find_cni_daemonset(ctx.daemonsets)
    if found is None:
        return CniInfo("none")
    cni, ds, container = found
    meta = ds.get("metadata") or {}
    namespace = str(meta.get("namespace") or "")
    containers = _containers(ds)
    main = next((c for c in containers if c.get("name") == container), containers[0] if containers else {})
    info: dict[str, Any] = {}
    encapsulation = "unknown"
    if cni in ("calico", "canal"):
        pools = ctx.calico("ippools") or []
        felix = next((f for f in ctx.calico("felixconfigurations") or [] if f["metadata"]["name"] == "default"), None)
        encapsulation = calico_encapsulation(pools, felix)
        cluster_info = next(iter(ctx.calico("clusterinformations") or []), None)
        if cluster_info:
            info["calicoVersion"] = (cluster_info.get("spec") or {}).get("calicoVersion")
    elif cni == "flannel":
        conf = flannel_net_conf(ctx.configmap(namespace, "kube-flannel-cfg"))
        info["net-conf.json"] = conf
        encapsulation = flannel_encapsulation(conf)
    elif cni == "cilium":
        cm = ctx.configmap(namespace, "cilium-config") or {}
        encapsulation = cilium_encapsulation(dict(cm.get("data") or {}))
    return CniInfo(
        name=cni,
        version=image_version(str(main.get("image") or "")),
        namespace=namespace,
        daemonset=str(meta.get("name") or ""),
        container=str(main.get("name") or container),
        selector=selector_of(ds),
        encapsulation=encapsulation,
        details=info,
    )
