"""Every probe by id, and running a set of them against one shared context."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from bot.domain.errors import unknown_id
from bot.domain.probe import ProbeResult
from bot.probes.base import Probe, failed_result, run_probe
from bot.probes.cni import CniLogsProbe, CniPodsProbe, DetectProbe
from bot.probes.context import ProbeContext
from bot.probes.ipam import IpamPoolsProbe, IpamUsageProbe
from bot.probes.netconfig import MtuProbe, PodCidrProbe
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
        IpamPoolsProbe(),
        MtuProbe(),
        PodCidrProbe(),
        CniLogsProbe(),
    )
}
# run on their own only: what they read, a probe in `probe all` reads too
NOT_IN_ALL = frozenset({"ipam.pools"})
ALIASES = {"ipam": "ipam.usage", "mtu": "config.mtu", "cidr": "config.pod_cidr", "logs": "cni.logs"}


def resolve(probe_id: str) -> str:
    resolved = ALIASES.get(probe_id, probe_id)
    if resolved not in PROBES:
        raise unknown_id("probe", probe_id, [*PROBES, *ALIASES], "`cnibot probe list`")
    return resolved


WORKERS = 4  # probes in flight at once: most time is spent waiting for the apiserver


def run_probes(ids: Iterable[str], ctx: ProbeContext, *, seconds: float | None = None) -> list[ProbeResult]:
    """Run each probe once, several at a time, results in the order asked; a failing probe is reported and
    the others still run. With `seconds`, the run ends by then: a probe still waiting is reported as
    timed out (the reader's own deadline makes its requests give up too, so no thread lingers long)."""
    order = [resolve(i) for i in dict.fromkeys(ids)]
    results: dict[str, ProbeResult] = {}
    queue = list(order)
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if not queue:
                    return
                probe_id = queue.pop(0)
            result = run_probe(PROBES[probe_id], ctx)
            with lock:
                results[probe_id] = result

    # daemon threads: a probe stuck on a silent apiserver must not keep the process alive
    threads = [threading.Thread(target=work, daemon=True, name="cnibot-probe") for _ in range(min(WORKERS, len(order)))]
    deadline = None if seconds is None else time.monotonic() + seconds
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
    with lock:
        return [results.get(i) or _out_of_time(i, seconds or 0.0) for i in order]


def _out_of_time(probe_id: str, seconds: float) -> ProbeResult:
    return failed_result(
        PROBES[probe_id],
        f"did not finish within the {seconds:g} s deadline of this probe run (the apiserver is slow or not "
        "answering; CNIBOT_PROBE_DEADLINE sets the deadline)",
        seconds=seconds,
    )
