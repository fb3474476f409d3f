from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cluster.reader import ClusterReader, connect
from bot.config import ClusterSettings
from bot.services.probing import runbook_namer
from bot.sim.scenarios import SCENARIOS, build_scenario
from bot.sim.server import SimCluster


def reader_for(sim: SimCluster, tmp: Path, **overrides: float) -> ClusterReader:
    kubeconfig = sim.write_kubeconfig(tmp / f"kubeconfig-{id(sim)}")
    return connect(ClusterSettings(kubeconfig=str(kubeconfig), **overrides))  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def namer(matcher):
    return runbook_namer(matcher.match_many)


@pytest.fixture(scope="module")
def clusters(tmp_path_factory) -> Iterator[dict[str, tuple[SimCluster, ClusterReader]]]:
    """One running simulated cluster per scenario, each with a reader through a written kubeconfig."""
    tmp = tmp_path_factory.mktemp("kube")
    started: dict[str, tuple[SimCluster, ClusterReader]] = {}
    names = list(SCENARIOS)
    for name in names:
        sim = SimCluster(build_scenario(name)).start()
        started[name] = (sim, reader_for(sim, tmp))
    yield started
    for sim, _ in started.values():
        sim.stop()
