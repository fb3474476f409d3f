"""The only code that can write to a cluster. Only the remediation executor imports it (an import-linter
contract), and it uses its own credentials: the kubeconfig context CNIBOT_REMEDIATION_CONTEXT names, or
the bot's in-cluster account impersonating the remediator ServiceAccount, whose RBAC allows the writes
the catalogue needs and which the bot's own (read-only) account lacks."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bot.cluster.connect import api_client
from bot.cluster.reader import decode_json
from bot.cluster.transport import send
from bot.config import ClusterSettings
from bot.domain.errors import NotFoundError, SettingsError
from bot.remediation.plan import ApiRequest

REMEDIATOR_ROLE = "ClusterRole cnibot-remediator"


@dataclass(frozen=True)
class WriterCredentials:
    """Where the writer's identity comes from: a kubeconfig context, or impersonation of a user such as
    system:serviceaccount:cnibot:cnibot-remediator."""

    context: str = ""
    impersonate: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.context or self.impersonate)


class ClusterWriter:
    def __init__(self, api: Any, *, server: str, settings: ClusterSettings, impersonate: str = "") -> None:
        self._api = api
        self.server = server
        self._settings = settings
        self._impersonate = impersonate

    def _call(self, method: str, path: str, *, query: list[tuple[str, str]], body: Any = None) -> bytes:
        return send(
            self._api,
            method,
            path,
            settings=self._settings,
            server=self.server,
            role=REMEDIATOR_ROLE,
            query=query,
            body=body,
            headers={"Impersonate-User": self._impersonate} if self._impersonate else None,
            content_type="application/merge-patch+json" if method == "PATCH" else "application/json",
        )

    def get_optional(self, path: str) -> dict[str, Any] | None:
        """The object at `path` as the writer's identity sees it, or None when it does not exist."""
        try:
            body = self._call("GET", path, query=[])
        except NotFoundError:
            return None
        return decode_json(body, request=f"GET {path}", server=self.server)

    def send(self, request: ApiRequest, *, dry_run: bool) -> dict[str, Any]:
        """Send one planned request; with dry_run the apiserver validates and answers without storing."""
        query = [("dryRun", "All")] if dry_run else []
        body: Any = request.body if request.body or request.method != "DELETE" else None
        data = self._call(request.method, request.path, query=query, body=body)
        return decode_json(data, request=request.describe(), server=self.server)


def open_writer(settings: ClusterSettings, credentials: WriterCredentials) -> ClusterWriter:
    if not credentials.configured:
        raise SettingsError(
            "remediation has no write credentials: set CNIBOT_REMEDIATION_CONTEXT (a kubeconfig context) or, "
            "in the cluster, CNIBOT_REMEDIATION_IMPERSONATE (the remediator ServiceAccount)"
        )
    if credentials.context:
        settings = replace(settings, context=credentials.context)
    api, _ = api_client(settings)
    api.configuration.retries = 0
    return ClusterWriter(
        api, server=str(api.configuration.host), settings=settings, impersonate=credentials.impersonate
    )
