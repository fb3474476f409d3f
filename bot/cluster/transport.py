"""One request with a body through the official client, its faults as the project's errors. Shared by the
two modules that may send more than GET: the remediation writer and the leader-election Lease."""

from __future__ import annotations

from typing import Any

from bot.cluster.errors import from_status, transport_error
from bot.config import ClusterSettings


def send(
    api: Any,
    method: str,
    path: str,
    *,
    settings: ClusterSettings,
    server: str,
    role: str,
    query: list[tuple[str, str]] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> bytes:
    import urllib3

    query = query or []
    request = f"{method} {path}" + ("?dryRun=All" if ("dryRun", "All") in query else "")
    connect_timeout, read_timeout = settings.connect_timeout, settings.read_timeout
    header_params = {"Accept": "application/json", **(headers or {})}
    if body is not None:
        header_params["Content-Type"] = content_type
    try:
        method_, url, header_params, serialized, _ = api.param_serialize(
            method=method,
            resource_path=path,
            query_params=query,
            header_params=header_params,
            body=body,
            auth_settings=["BearerToken"],
        )
        response = api.call_api(
            method_, url, header_params=header_params, body=serialized, _request_timeout=(connect_timeout, read_timeout)
        )
        response.read()
        status, data = int(response.status), bytes(response.data or b"")
        retry_after = (response.getheaders() or {}).get("Retry-After") if status == 429 else None
    except (TimeoutError, urllib3.exceptions.HTTPError, OSError) as exc:
        raise transport_error(
            exc, request=request, server=server, connect_timeout=connect_timeout, read_timeout=read_timeout
        ) from exc
    except Exception as exc:  # the client raises ApiException(status=0) for TLS and other local faults
        raise transport_error(
            exc, request=request, server=server, connect_timeout=connect_timeout, read_timeout=read_timeout
        ) from exc
    if status >= 400:
        raise from_status(status, data, request=request, server=server, retry_after=retry_after, role=role)
    return data
