"""Fixtures: simulated clusters reached through a written kubeconfig and the official kubernetes client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from bot.sim.scenarios import SCENARIOS, build_scenario
from bot.sim.server import SimCluster

# Fixed, so tests never depend on the clock; scenarios default to the current time.
NOW = datetime(2026, 11, 27, 10, 5, tzinfo=UTC)


@dataclass
class Kube:
    """One simulated cluster and the official client's APIs, configured from the kubeconfig it wrote."""

    sim: SimCluster
    api: client.ApiClient
    core: client.CoreV1Api
    apps: client.AppsV1Api
    custom: client.CustomObjectsApi
    version: client.VersionApi

    def raw(self, path: str, **query: Any) -> tuple[int, bytes]:
        """GET through the client without decoding (what probes do), any status returned, not raised."""
        method, url, headers, _, _ = self.api.param_serialize(
            method="GET",
            resource_path=path,
            query_params=list(query.items()),
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        response = self.api.call_api(method, url, header_params=headers)
        response.read()
        return int(response.status), bytes(response.data or b"")

    def json(self, path: str, **query: Any) -> Any:
        status, body = self.raw(path, **query)
        assert status == 200, (path, status, body[:300])
        return json.loads(body)

    def items(self, path: str, **query: Any) -> list[dict[str, Any]]:
        """Every item of a list, following continue tokens, with a small page size to exercise paging."""
        out: list[dict[str, Any]] = []
        query = {"limit": 50, **query}
        while True:
            data = self.json(path, **query)
            out += data["items"]
            token = data["metadata"].get("continue")
            if not token:
                return out
            query["continue"] = token

    def close(self) -> None:
        self.api.close()


def connect(sim: SimCluster, tmp: Path) -> Kube:
    kubeconfig = sim.write_kubeconfig(tmp / f"kubeconfig-{sim.scenario.name}-{id(sim)}")
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    api = client.ApiClient(cfg)
    return Kube(
        sim,
        api,
        client.CoreV1Api(api),
        client.AppsV1Api(api),
        client.CustomObjectsApi(api),
        client.VersionApi(api),
    )


@pytest.fixture(scope="session")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Kube]]:
    """Every named scenario, served read-only for the whole session."""
    tmp = tmp_path_factory.mktemp("kubeconfigs")
    running = {
        name: connect(SimCluster(build_scenario(name, now=NOW), allow_writes=False).start(), tmp) for name in SCENARIOS
    }
    yield running
    for kube in running.values():
        kube.close()
        kube.sim.stop()


@pytest.fixture
def open_cluster(tmp_path: Path) -> Iterator[Any]:
    """A factory for a fresh cluster with options (writes, faults); each is stopped after the test."""
    started: list[Kube] = []

    def start(scenario: str = "healthy", **options: Any) -> Kube:
        kube = connect(SimCluster(build_scenario(scenario, now=NOW), **options).start(), tmp_path)
        started.append(kube)
        return kube

    yield start
    for kube in started:
        kube.close()
        kube.sim.stop()
