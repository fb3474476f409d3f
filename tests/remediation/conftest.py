"""A simulated cluster with two identities (a read-only token and the remediator's), an App pointed at
it as at a real cluster (the kubeconfig's remediator context is CNIBOT_REMEDIATION_CONTEXT), and a real
SQLite store in a temporary folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import ClusterSettings, RemediationSettings, Settings, StoreSettings
from bot.sim.kubeconfig import REMEDIATOR_CONTEXT
from bot.sim.scenarios import build_scenario
from bot.sim.server import RequestRecord, SimCluster
from bot.wiring import App

APPROVERS = ("alice", "bob", "carol")


@dataclass
class Rig:
    sim: SimCluster
    app: App
    kubeconfig: Path

    def writes(self) -> list[RequestRecord]:
        return [r for r in self.sim.requests if r.method not in ("GET", "HEAD")]


@pytest.fixture
def rig(tmp_path: Path, knowledge_settings) -> Iterator[Callable[..., Rig]]:
    started: list[Rig] = []

    def start(scenario: str = "ipam-exhausted", *, writer_user: str = "", **remediation: object) -> Rig:
        sim = SimCluster(build_scenario(scenario), writer_token="remediator-token", writer_user=writer_user).start()
        kubeconfig = sim.write_kubeconfig(tmp_path / f"kubeconfig-{len(started)}")
        options = {"approvers": APPROVERS, "context": REMEDIATOR_CONTEXT, **remediation}
        settings = Settings(
            knowledge=knowledge_settings,
            cluster=ClusterSettings(kubeconfig=str(kubeconfig), home=tmp_path),
            store=StoreSettings(path=tmp_path / "cnibot.db"),
            remediation=RemediationSettings(**options),  # type: ignore[arg-type]
        )
        r = Rig(sim, App(settings), kubeconfig)
        started.append(r)
        return r

    yield start
    for r in started:
        r.app.close()
        r.sim.stop()
