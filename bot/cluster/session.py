"""Which cluster a command talks to: the configured one, or the embedded simulated cluster.

The simulated cluster runs in-process on loopback and is reached through a kubeconfig and the real
client, exactly like a real one; every message about it says plainly that it is simulated."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.cluster.connect import find_kubeconfig, in_cluster_available
from bot.cluster.reader import ClusterReader, connect
from bot.config import ClusterSettings


@dataclass
class ClusterSession:
    reader: ClusterReader
    description: str
    simulated: bool = False
    scenario: str = ""
    _sim: Any = field(default=None, repr=False)
    _scratch: Any = field(default=None, repr=False)

    def close(self) -> None:
        if self._sim is not None:
            self._sim.stop()
            self._sim = None
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    def to_json(self) -> dict[str, Any]:
        return {
            "server": self.reader.server,
            "source": self.description,
            "simulated": self.simulated,
            "scenario": self.scenario or None,
        }


def start_simulated(scenario: str, settings: ClusterSettings) -> ClusterSession:
    from bot.sim.scenarios import build_scenario
    from bot.sim.server import SimCluster

    # the probe path is read-only: even scenarios that allow writes (for remediation demos) refuse them here
    sim = SimCluster(build_scenario(scenario), allow_writes=False).start()
    scratch = tempfile.TemporaryDirectory(prefix="cnibot-sim-")
    kubeconfig = sim.write_kubeconfig(Path(scratch.name) / "kubeconfig")
    sim_settings = ClusterSettings(
        kubeconfig=str(kubeconfig),
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        page_size=settings.page_size,
    )
    reader = connect(sim_settings)
    description = f"SIMULATED cluster, scenario '{scenario}' (not a real cluster) at {sim.url}"
    return ClusterSession(reader, description, simulated=True, scenario=scenario, _sim=sim, _scratch=scratch)


def open_cluster(settings: ClusterSettings, *, sim_scenario: str = "", fallback_scenario: str = "") -> ClusterSession:
    """The simulated cluster when asked for; else the configured cluster; else, when a fallback scenario
    is given (make run), the simulated cluster; else NoKubeconfigError from `connect`."""
    if sim_scenario:
        return start_simulated(sim_scenario, settings)
    configured = find_kubeconfig(settings) is not None or in_cluster_available()
    if not configured and fallback_scenario:
        return start_simulated(fallback_scenario, settings)
    reader = connect(settings)
    return ClusterSession(reader, reader.where)
