"""The simulated cluster: a loopback server speaking the subset of the Kubernetes API cnibot's probes read,
with scenarios of real CNI incidents. Standard library only; it is never a real cluster and says so."""

from __future__ import annotations

from bot.sim.model import Scenario
from bot.sim.scenarios import SCENARIOS, build_scenario
from bot.sim.server import RequestRecord, SimCluster

__all__ = ["SCENARIOS", "RequestRecord", "Scenario", "SimCluster", "build_scenario"]
