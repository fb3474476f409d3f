"""The only code that can write to a cluster. Only the remediation executor imports it (an import-linter
contract), and it uses its own credentials: the kubeconfig context CNIBOT_REMEDIATION_CONTEXT names, or
the bot's in-cluster account impersonating the remediator ServiceAccount, whose RBAC allows the writes
the catalogue needs and which the bot's own (read-only) account lacks."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bot.cluster.connect import api_client
from bot.cluster.errors import from_status, transport_error
from bot.cluster.reader import decode_json
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
        import urllib3

        request = f"{method} {path}" + ("?dryRun=All" if ("dryRun", "All") in query else "")
        connect_timeout, read_timeout = self._settings.connect_timeout, self._settings.read_timeout
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/merge-patch+json" if method == "PATCH" else "application/json"
        if self._impersonate:
            headers["Impersonate-User"] = self._impersonate
        try:
            method_, url, header_params, serialized, _ = self._api.param_serialize(
                method=method,
                resource_path=path,
                query_params=query,
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self._api.call_api(
                method_,
                url,
                header_params=header_params,
                body=serialized,
                _request_timeout=(connect_timeout, read_timeout),
            )
            response.read()
            status, data = int(response.status), bytes(response.data or b"")
            retry_after = (response.getheaders() or {}).get("Retry-After") if status == 429 else None
        except (TimeoutError, urllib3.exceptions.HTTPError, OSError) as exc:
            raise transport_error(
                exc, request=request, server=self.server, connect_timeout=connect_timeout, read_timeout=read_timeout
            ) from exc
        except Exception as exc:  # the client raises ApiException(status=0) for TLS and other local faults
            raise transport_error(
                exc, request=request, server=self.server, connect_timeout=connect_timeout, read_timeout=read_timeout
            ) from exc
        if status >= 400:
            raise from_status(
                status, data, request=request, server=self.server, retry_after=retry_after, role=REMEDIATOR_ROLE
            )
        return data

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
