"""The named scenarios of the simulated cluster (the generated large one for benchmarks is bench.scaled)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.sim.model import LogBook, LogSource, Scenario
from bot.sim.scenarios_calico import calico_bgp_down, healthy, mtu_mismatch
from bot.sim.scenarios_ipam import ipam_exhausted
from bot.sim.scenarios_other import cilium_healthy, cni_not_initialized, flannel_subnet_missing


class ScenarioBuilder(Protocol):
    """Builds a scenario; timestamps are relative to `now` (default: the current time)."""

    def __call__(self, now: datetime | None = None) -> Scenario: ...


SCENARIOS: dict[str, ScenarioBuilder] = {
    "healthy": healthy,
    "ipam-exhausted": ipam_exhausted,
    "mtu-mismatch": mtu_mismatch,
    "cni-not-initialized": cni_not_initialized,
    "calico-bgp-down": calico_bgp_down,
    "flannel-subnet-missing": flannel_subnet_missing,
    "cilium-healthy": cilium_healthy,
}


class UnknownScenarioError(KeyError):
    """A scenario name that is not in SCENARIOS; the message lists the names that are."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown scenario {self.name!r}; choose one of: {', '.join(SCENARIOS)}"


def build_scenario(name: str, *, now: datetime | None = None) -> Scenario:
    try:
        builder = SCENARIOS[name]
    except KeyError:
        raise UnknownScenarioError(name) from None
    return builder(now)


__all__ = [
    "SCENARIOS",
    "LogBook",
    "LogSource",
    "Scenario",
    "UnknownScenarioError",
    "build_scenario",
]
