"""Every probe by id, and running a set of them against one shared context."""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain.errors import UsageError
from bot.domain.probe import ProbeResult
from bot.probes.base import Probe, run_probe
from bot.probes.cni import CniLogsProbe, CniPodsProbe, DetectProbe
from bot.probes.config import MtuProbe, PodCidrProbe
from bot.probes.context import ProbeContext
from bot.probes.ipam import IpamUsageProbe
from bot.probes.nodes import NodesNetworkProbe
from bot.probes.pods import PodIpsProbe, SandboxFailuresProbe

PROBES: dict[str, Probe] = {
    p.id: p
    for p in (
        DetectProbe(),
        CniPodsProbe(),
        NodesNetworkProbe(),
        SandboxFailuresProbe(),
        PodIpsProbe(),
        IpamUsageProbe(),
        MtuProbe(),
        PodCidrProbe(),
        CniLogsProbe(),
    )
}
ALIASES = {"ipam": "ipam.usage", "mtu": "config.mtu", "cidr": "config.pod_cidr", "logs": "cni.logs"}


def resolve(probe_id: str) -> str:
    resolved = ALIASES.get(probe_id, probe_id)
    if resolved not in PROBES:
        raise UsageError(f"no probe {probe_id!r}; `cnibot probe list` shows the ids")
    return resolved


def run_probes(ids: Iterable[str], ctx: ProbeContext) -> list[ProbeResult]:
    """Run each probe once, in order; a failing probe is reported and the others still run."""
    return [run_probe(PROBES[resolve(i)], ctx) for i in dict.fromkeys(ids)]
