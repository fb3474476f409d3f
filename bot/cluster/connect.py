"""Finding the cluster: kubeconfig from --kubeconfig, $KUBECONFIG, ~/.kube/config or the in-cluster
service account, with connect/read timeouts. Builds the one ApiClient that the reader wraps."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bot.cluster.errors import NoKubeconfigError
from bot.config import ClusterSettings

IN_CLUSTER_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


def kubeconfig_candidates(settings: ClusterSettings, env: dict[str, str] | None = None) -> list[Path]:
    env = dict(os.environ) if env is None else env
    if settings.kubeconfig:
        return [Path(p).expanduser() for p in settings.kubeconfig.split(os.pathsep) if p]
    if env.get("KUBECONFIG"):
        return [Path(p).expanduser() for p in env["KUBECONFIG"].split(os.pathsep) if p]
    return [Path(env.get("HOME", "~")).expanduser() / ".kube" / "config"]


def find_kubeconfig(settings: ClusterSettings, env: dict[str, str] | None = None) -> Path | None:
    """The first existing kubeconfig file, or None (then in-cluster config is tried)."""
    return next((p for p in kubeconfig_candidates(settings, env) if p.is_file()), None)


def in_cluster_available(env: dict[str, str] | None = None) -> bool:
    env = dict(os.environ) if env is None else env
    return bool(env.get("KUBERNETES_SERVICE_HOST")) and IN_CLUSTER_TOKEN.is_file()


def api_client(settings: ClusterSettings) -> tuple[Any, str]:
    """An ApiClient for the configured cluster and a short name for it (for messages)."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    configuration = client.Configuration()
    path = find_kubeconfig(settings)
    try:
        if path is not None:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=str(path),
                context=settings.context or None,
                client_configuration=configuration,
                persist_config=False,
            )
            where = f"{path}" + (f" context {settings.context}" if settings.context else "")
        elif in_cluster_available():
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            where = "in-cluster service account"
        else:
            tried = ", ".join(str(p) for p in kubeconfig_candidates(settings))
            raise NoKubeconfigError(
                f"no kubeconfig found (tried {tried} and the in-cluster service account); "
                "pass --kubeconfig PATH, set KUBECONFIG, or try `cnibot sim serve` for a simulated cluster"
            )
    except ConfigException as exc:
        raise NoKubeconfigError(f"cannot use the kubeconfig {path}: {exc}") from exc
    configuration.retries = 0  # a probe reports a failure at once instead of retrying behind the user's back
    return client.ApiClient(configuration), where
