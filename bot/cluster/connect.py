"""Finding the cluster: kubeconfig from --kubeconfig, $KUBECONFIG, ~/.kube/config or the in-cluster
service account, with connect/read timeouts. Builds the one ApiClient that the reader wraps.

Everything it knows about the environment comes in through ClusterSettings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from bot.config import ClusterSettings
from bot.domain.errors import NoKubeconfigError

IN_CLUSTER_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


def kubeconfig_candidates(settings: ClusterSettings) -> list[Path]:
    if settings.kubeconfig:
        return [Path(p).expanduser() for p in settings.kubeconfig.split(os.pathsep) if p]
    return [settings.home / ".kube" / "config"]


def find_kubeconfig(settings: ClusterSettings) -> Path | None:
    """The first existing kubeconfig file, or None (then in-cluster config is tried)."""
    return next((p for p in kubeconfig_candidates(settings) if p.is_file()), None)


def in_cluster_available(settings: ClusterSettings) -> bool:
    return settings.in_cluster and IN_CLUSTER_TOKEN.is_file()


def cluster_configured(settings: ClusterSettings) -> bool:
    """Is there a kubeconfig or an in-cluster service account to use?"""
    return find_kubeconfig(settings) is not None or in_cluster_available(settings)


def check_kubeconfig_file(path: Path) -> None:
    """A kubeconfig the client would choke on (binary bytes, not YAML, not a mapping) as one sentence."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise NoKubeconfigError(f"cannot read the kubeconfig {path}: {exc.strerror or exc}") from exc
    if b"\x00" in raw:
        raise NoKubeconfigError(f"the kubeconfig {path} holds binary bytes (NUL); it is not a kubeconfig file")
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise NoKubeconfigError(f"the kubeconfig {path} is not valid YAML{at}") from exc
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "empty"
        raise NoKubeconfigError(
            f"the kubeconfig {path} is a YAML {kind}, not a mapping with clusters, users and contexts"
        )
    for key, entry in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
        value = data.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
            raise NoKubeconfigError(
                f"the kubeconfig {path} has a malformed `{key}`: it must be a list of {{name, {entry}}} entries"
            )


def api_client(settings: ClusterSettings) -> tuple[Any, str]:
    """An ApiClient for the configured cluster and a short name for it (for messages)."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    configuration = client.Configuration()
    path = find_kubeconfig(settings)
    try:
        if path is not None:
            check_kubeconfig_file(path)
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=str(path),
                context=settings.context or None,
                client_configuration=configuration,
                persist_config=False,
            )
            where = f"{path}" + (f" context {settings.context}" if settings.context else "")
        elif in_cluster_available(settings):
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            where = "in-cluster service account"
        else:
            tried = ", ".join(str(p) for p in kubeconfig_candidates(settings))
            raise NoKubeconfigError(
                f"no kubeconfig found (tried {tried} and the in-cluster service account); "
                "pass --kubeconfig PATH, set KUBECONFIG, or add --sim SCENARIO for the simulated cluster"
            )
    except ConfigException as exc:
        raise NoKubeconfigError(f"cannot use the kubeconfig {path}: {exc}") from exc
    except (TypeError, AttributeError, KeyError, ValueError) as exc:  # the loader assumes well-formed entries
        raise NoKubeconfigError(f"cannot use the kubeconfig {path}: an entry is malformed ({exc})") from exc
    configuration.retries = 0  # a probe reports a failure at once instead of retrying behind the user's back
    return client.ApiClient(configuration), where
